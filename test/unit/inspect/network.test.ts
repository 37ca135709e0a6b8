/** Network configuration parsers: the fixtures' files and one of each other format. */
import { describe, expect, it } from 'vitest';
import { VMWARE_NIC, networkKindOf, parseNetworkConfig } from '../../../electron/engine/guest/network';

const MAC = '00:50:56:8a:12:34';

describe('networkKindOf', () => {
  it.each([
    ['/etc/network/interfaces', 'ifupdown'],
    ['/etc/network/interfaces.d/eth0', 'ifupdown'],
    ['/etc/NetworkManager/system-connections/ens192.nmconnection', 'nm_keyfile'],
    ['/etc/sysconfig/network-scripts/ifcfg-ens192', 'ifcfg'],
    ['/etc/sysconfig/network/ifcfg-eth0', 'ifcfg'],
    ['/etc/systemd/network/10-ens192.link', 'networkd_link'],
    ['/etc/systemd/network/20-wired.network', 'networkd_network'],
    ['/etc/netplan/50-cloud-init.yaml', 'netplan'],
    ['/etc/udev/rules.d/70-persistent-net.rules', 'udev_rules'],
    ['/etc/udev/rules.d/99-other.rules', null],
    ['/etc/sysconfig/network-scripts/route-ens192', null],
  ])('%s → %s', (p, k) => expect(networkKindOf(p)).toBe(k));
});

describe('VMware NIC names', () => {
  it.each(['ens160', 'ens192', 'ens224', 'ens256', 'ens33', 'eno16777736'])('%s is VMware', (n) => expect(VMWARE_NIC.test(n)).toBe(true));
  it.each(['ens3', 'enp1s0', 'eth0', 'ens1920', 'ens19'])('%s is not', (n) => expect(VMWARE_NIC.test(n)).toBe(false));
});

describe('parseNetworkConfig', () => {
  it('ifupdown of the Debian fixture', () => {
    const text = `# This file describes the network interfaces available on your system\n# and how to activate them. For more information, see interfaces(5).\n\nsource /etc/network/interfaces.d/*\n\n# The loopback network interface\nauto lo\niface lo inet loopback\n\n# The primary network interface\nallow-hotplug ens192\niface ens192 inet dhcp\n\thwaddress ether ${MAC}\n`;
    expect(parseNetworkConfig('/etc/network/interfaces', 'ifupdown', text)).toEqual({
      file: '/etc/network/interfaces',
      kind: 'ifupdown',
      interfaces: ['ens192'],
      mac_pins: [{ line: 13, text: `\thwaddress ether ${MAC}`, mac: MAC }],
      vmware_names: [
        { line: 11, text: 'allow-hotplug ens192', name: 'ens192' },
        { line: 12, text: 'iface ens192 inet dhcp', name: 'ens192' },
      ],
    });
  });

  it('systemd .link of the Debian fixture', () => {
    const r = parseNetworkConfig('/etc/systemd/network/10-ens192.link', 'networkd_link', `[Match]\nMACAddress=${MAC}\n\n[Link]\nName=ens192\n`);
    expect(r.interfaces).toEqual(['ens192']);
    expect(r.mac_pins).toEqual([{ line: 2, text: `MACAddress=${MAC}`, mac: MAC }]);
    expect(r.vmware_names).toEqual([{ line: 5, text: 'Name=ens192', name: 'ens192' }]);
  });

  it('NetworkManager keyfile of the RHEL fixture (upper-case MAC normalised)', () => {
    const text = '[connection]\nid=ens192\nuuid=3c1d5e7f-9a2b-4c6d-8e0f-1a3b5c7d9e2f\ntype=ethernet\ninterface-name=ens192\n\n[ethernet]\nmac-address=00:50:56:A1:9E:04\n\n[ipv4]\nmethod=auto\n';
    const r = parseNetworkConfig('/etc/NetworkManager/system-connections/ens192.nmconnection', 'nm_keyfile', text);
    expect(r.interfaces).toEqual(['ens192']);
    expect(r.mac_pins).toEqual([{ line: 8, text: 'mac-address=00:50:56:A1:9E:04', mac: '00:50:56:a1:9e:04' }]);
    expect(r.vmware_names.map((v) => v.line)).toEqual([2, 5]);
  });

  it('ifcfg, netplan and udev rules', () => {
    const ifcfg = parseNetworkConfig('/etc/sysconfig/network-scripts/ifcfg-ens160', 'ifcfg', 'TYPE=Ethernet\nDEVICE=ens160\nHWADDR="00:0c:29:aa:bb:cc"\nONBOOT=yes\n');
    expect([ifcfg.interfaces, ifcfg.mac_pins.map((m) => m.mac), ifcfg.vmware_names.map((v) => v.line)]).toEqual([['ens160'], ['00:0c:29:aa:bb:cc'], [2]]);
    const np = parseNetworkConfig('/etc/netplan/01.yaml', 'netplan', 'network:\n  ethernets:\n    nic0:\n      match:\n        macaddress: "00:15:5d:01:02:03"\n      set-name: eth0\n      dhcp4: true\n');
    expect([np.interfaces, np.mac_pins]).toEqual([['eth0'], [{ line: 5, text: '        macaddress: "00:15:5d:01:02:03"', mac: '00:15:5d:01:02:03' }]]);
    const udev = parseNetworkConfig('/etc/udev/rules.d/70-persistent-net.rules', 'udev_rules', '# PCI device 0x15ad:0x07b0 (vmxnet3)\nSUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:50:56:b2:3c:4d", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"\n');
    expect([udev.interfaces, udev.mac_pins.map((m) => [m.line, m.mac])]).toEqual([['eth0'], [[2, '00:50:56:b2:3c:4d']]]);
  });

  it('a config with neither MAC nor VMware name pins nothing', () => {
    const r = parseNetworkConfig('/etc/systemd/network/20-wired.network', 'networkd_network', '[Match]\nName=en*\n\n[Network]\nDHCP=yes\n');
    expect([r.mac_pins, r.vmware_names, r.interfaces]).toEqual([[], [], ['en*']]);
  });
});
