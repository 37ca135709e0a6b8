/**
 * Network configuration files that tie an interface to the old hypervisor: to the VM's MAC
 * address (which changes unless the target keeps it) or to a VMware NIC name (ens192 and
 * friends, which a virtio-net NIC on KVM never gets). Pure: the text of one file in, the
 * interfaces it configures and the pinning lines out.
 *
 * Formats: ifupdown interfaces(5); NetworkManager keyfiles (nm-settings-keyfile(5)); ifcfg
 * (RHEL/SUSE network-scripts); systemd.network(5) and systemd.link(5); netplan YAML; udev
 * persistent-net rules.
 */
import type { NetworkConfig } from '../../../shared/protocol';
import { meaningfulLines } from './config';

export type NetworkKind = NetworkConfig['kind'];

const MAC = /\b([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\b/;

/**
 * NIC names VMware's virtual hardware gets from systemd's predictable naming: PCIe slots of
 * vmxnet3/e1000e (ens160, ens161, ens192, ens193, ens224, ens225, ens256, ens257), the e1000
 * of VMware Workstation (ens32 to ens35) and the firmware-index names of older releases
 * (eno16777728 and up, eno33554984 and up).
 */
export const VMWARE_NIC = /\b(ens(?:3[2-5]|16[01]|19[23]|22[45]|25[67])|eno(?:167777\d{2}|167800\d{2}|335549\d{2}))\b/;

/** Which parser a guest path needs; null for files that are not network configuration. */
export function networkKindOf(path: string): NetworkKind | null {
  if (path === '/etc/network/interfaces' || path.startsWith('/etc/network/interfaces.d/')) return 'ifupdown';
  if (path.startsWith('/etc/NetworkManager/system-connections/')) return 'nm_keyfile';
  if (/^\/etc\/sysconfig\/(network-scripts|network)\/ifcfg-/.test(path)) return 'ifcfg';
  if (/^\/etc\/systemd\/network\/.+\.network$/.test(path)) return 'networkd_network';
  if (/^\/etc\/systemd\/network\/.+\.link$/.test(path)) return 'networkd_link';
  if (/^\/etc\/netplan\/.+\.ya?ml$/.test(path)) return 'netplan';
  if (/^\/etc\/udev\/rules\.d\/.*persistent-net.*\.rules$/.test(path)) return 'udev_rules';
  return null;
}

/** Parse one network configuration file. */
export function parseNetworkConfig(file: string, kind: NetworkKind, text: string): NetworkConfig {
  const interfaces = new Set<string>();
  const mac_pins: NetworkConfig['mac_pins'] = [];
  const vmware_names: NetworkConfig['vmware_names'] = [];
  let section = '';
  for (const l of meaningfulLines(text, kind === 'nm_keyfile' || kind.startsWith('networkd') ? /^\s*([#;]|$)/ : /^\s*(#|$)/)) {
    const t = l.text.trim();
    const sec = /^\[([^\]]+)\]$/.exec(t);
    if (sec) {
      section = sec[1]!.toLowerCase();
      continue;
    }
    const vm = VMWARE_NIC.exec(t);
    if (vm) vmware_names.push({ line: l.line, text: l.text, name: vm[1]! });
    let mac: string | null = null;
    switch (kind) {
      case 'ifupdown': {
        const m = /^(?:iface|auto|allow-hotplug|allow-auto)\s+(.*)$/.exec(t);
        if (m) for (const n of m[1]!.split(/\s+/).slice(0, t.startsWith('iface') ? 1 : undefined)) if (n !== 'lo') interfaces.add(n);
        if (/^hwaddress\s/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
      case 'nm_keyfile': {
        const m = /^interface-name\s*=\s*(\S+)/.exec(t);
        if (m) interfaces.add(m[1]!);
        if (/^(cloned-)?mac-address\s*=/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
      case 'ifcfg': {
        const m = /^DEVICE\s*=\s*"?([^"\s]+)"?/.exec(t);
        if (m) interfaces.add(m[1]!);
        if (/^(HWADDR|MACADDR)\s*=/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
      case 'networkd_network':
      case 'networkd_link': {
        const m = /^(Name|OriginalName)\s*=\s*(.+)$/.exec(t);
        if (m && (section === 'match' || section === 'link')) for (const n of m[2]!.trim().split(/\s+/)) interfaces.add(n);
        if (/^(MACAddress|PermanentMACAddress)\s*=/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
      case 'netplan': {
        const m = /^([A-Za-z0-9_.:-]+):\s*$/.exec(t);
        if (m && /^(en[a-z]*\d|eth\d|em\d|wl[a-z]*\d)/.test(m[1]!)) interfaces.add(m[1]!);
        const set = /^set-name:\s*"?([^"\s]+)"?/.exec(t);
        if (set) interfaces.add(set[1]!);
        if (/^macaddress:/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
      case 'udev_rules': {
        const name = /NAME\s*=\s*"([^"]+)"/.exec(t);
        if (name) interfaces.add(name[1]!);
        if (/ATTR\{address\}\s*==/.test(t)) mac = MAC.exec(t)?.[1] ?? null;
        break;
      }
    }
    if (mac) mac_pins.push({ line: l.line, text: l.text, mac: mac.toLowerCase() });
  }
  return { file, kind, interfaces: [...interfaces], mac_pins, vmware_names };
}
