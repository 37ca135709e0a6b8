/**
 * The facts of one Linux root, read through the session while its filesystems are mounted
 * read-only at their guest mountpoints: bootloader and kernel command lines, kernels and what
 * each initramfs holds, fstab and crypttab, LVM's device filters and devices file, SELinux,
 * network configuration, hypervisor guest tools and cloud-init. Every file is copied out with
 * `download` (exact bytes) and parsed on the host by the pure parsers of config.ts/network.ts.
 */
import { rm, stat } from 'node:fs/promises';
import type { OsRoot, VirtioDriver } from '../../../shared/protocol';
import {
  blsCmdlines,
  defaultGrubCmdlines,
  deviceRefsOf,
  grubCfgCmdlines,
  grubLegacyCmdlines,
  kernelCmdlineFile,
  parseCrypttab,
  parseDevicesFile,
  parseFstab,
  parseLvmConf,
  parseSelinuxConfig,
  type CmdlineLine,
} from './config';
import { parseBool } from './gf-output';
import { driverPresence, driversIn, listInitramfs, modulesIn } from './initramfs';
import { networkKindOf, parseNetworkConfig } from './network';
import { linesOf, type GuestfishSession, type SessionRun } from './session';

export type LinuxFacts = Pick<
  OsRoot,
  'bootloader' | 'kernels' | 'fstab' | 'crypttab' | 'lvm' | 'selinux' | 'network' | 'guest_tools' | 'cloud_init' | 'notes'
> & { efi: { vendors: string[]; efiFiles: string[] }; biosGrub: boolean };

export interface LinuxContext {
  s: GuestfishSession;
  run: SessionRun;
  /** Application (package) names of this root, lower-cased; null when they could not be listed. */
  packages: ReadonlySet<string> | null;
  /** Told before each initramfs is read (it is the slow part). */
  onInitramfs?: (path: string, index: number, count: number) => void;
}

/** Read a guest text file (UTF-8, invalid bytes replaced); null when it cannot be read. */
export async function readText(s: GuestfishSession, path: string): Promise<string | null> {
  const r = await s.readGuestFile(path);
  return r.data ? r.data.toString('utf8') : null;
}

/** Names in a guest directory; empty when it does not exist or is not a directory. */
export async function listDir(s: GuestfishSession, dir: string): Promise<string[]> {
  const r = await s.call('ls', [dir]);
  return r.ok ? linesOf(r.out) : [];
}

/** Whether a guest path exists; false when it cannot be asked. */
export async function exists(s: GuestfishSession, path: string): Promise<boolean> {
  const r = await s.call('exists', [path]);
  return r.ok && parseBool(r.out);
}

/** Guest tools by vendor: package names and files that show them installed. */
export const GUEST_TOOLS = {
  vmware: {
    packages: [/^open-vm-tools(-.*)?$/, /^vmware-tools(-.*)?$/, /^vmware tools$/],
    files: ['/etc/vmware-tools', '/usr/bin/vmtoolsd', '/usr/sbin/vmtoolsd', '/usr/lib/vmware-tools', '/etc/init.d/vmware-tools'],
  },
  hyperv: {
    packages: [/^hyperv-daemons(-.*)?$/, /^hyperv-tools$/, /^hypervkvpd$/, /^hypervvssd$/, /^hypervfcopyd$/, /^linux-cloud-tools-.*$/],
    files: ['/usr/sbin/hv_kvp_daemon', '/usr/sbin/hypervkvpd', '/usr/libexec/hypervkvpd', '/usr/sbin/hv_vss_daemon', '/usr/libexec/hypervvssd'],
  },
  virtualbox: {
    packages: [/^virtualbox-guest-.*$/, /^virtualbox-guest-additions.*$/, /^oracle vm virtualbox guest additions.*$/],
    files: ['/usr/sbin/VBoxService', '/usr/bin/VBoxClient', '/etc/init.d/vboxadd', '/usr/lib/VBoxGuestAdditions'],
  },
} as const;

/** Which guest tools the package names and found files show. Pure. */
export function guestToolsOf(packages: ReadonlySet<string> | null, foundFiles: ReadonlySet<string>): OsRoot['guest_tools'] {
  const out: OsRoot['guest_tools'] = [];
  for (const [vendor, spec] of Object.entries(GUEST_TOOLS) as Array<[keyof typeof GUEST_TOOLS, (typeof GUEST_TOOLS)[keyof typeof GUEST_TOOLS]]>) {
    const pk = packages ? [...packages].filter((p) => spec.packages.some((re) => re.test(p))).sort() : [];
    const files = [...foundFiles].filter((f) => (spec.files as readonly string[]).includes(f) || (vendor === 'virtualbox' && f.startsWith('/opt/VBoxGuestAdditions'))).sort();
    if (pk.length || files.length) out.push({ vendor, packages: pk, files });
  }
  return out;
}

/** Kernel versions installed in /boot and their initramfs files, from a listing of /boot. */
export function kernelsInBoot(names: readonly string[]): Array<{ version: string; vmlinuz: string; initramfs: string | null }> {
  const set = new Set(names);
  const out: Array<{ version: string; vmlinuz: string; initramfs: string | null }> = [];
  for (const n of names) {
    const m = /^(?:vmlinuz|vmlinux|kernel)-(.+)$/.exec(n);
    if (!m || /\.(hmac|sig|old)$/.test(n)) continue;
    const v = m[1]!;
    if (v.includes('rescue')) continue;
    const initrd = [`initrd.img-${v}`, `initramfs-${v}.img`, `initrd-${v}`, `initrd-${v}.img`, `initramfs-${v}`].find((c) => set.has(c)) ?? null;
    out.push({ version: v, vmlinuz: `/boot/${n}`, initramfs: initrd ? `/boot/${initrd}` : null });
  }
  return out.sort((a, b) => a.version.localeCompare(b.version, 'en', { numeric: true }));
}

function cmdlineFacts(file: string, source: OsRoot['bootloader']['cmdlines'][number]['source'], lines: CmdlineLine[]): OsRoot['bootloader']['cmdlines'] {
  return lines.map((l) => ({ file, line: l.line, text: l.text, source, device_refs: deviceRefsOf(l.params) }));
}

/** Collect the Linux facts of the root whose filesystems are mounted now. */
export async function collectLinux(c: LinuxContext): Promise<LinuxFacts> {
  const { s } = c;
  const notes: string[] = [];

  // --- bootloader --------------------------------------------------------------------------
  const configFiles: string[] = [];
  const cmdlines: OsRoot['bootloader']['cmdlines'] = [];
  const bootNames = await listDir(s, '/boot');
  const efiVendors = await listDir(s, '/boot/efi/EFI');
  const grubCfgs = ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg', ...efiVendors.map((v) => `/boot/efi/EFI/${v}/grub.cfg`)];
  const [cfgTexts, legacy, defGrub, kcmd, blsNames, i386a, i386b] = await Promise.all([
    Promise.all(grubCfgs.map((p) => readText(s, p))),
    Promise.all(['/boot/grub/menu.lst', '/boot/grub/grub.conf'].map((p) => readText(s, p))),
    readText(s, '/etc/default/grub'),
    readText(s, '/etc/kernel/cmdline'),
    listDir(s, '/boot/loader/entries'),
    exists(s, '/boot/grub/i386-pc'),
    exists(s, '/boot/grub2/i386-pc'),
  ]);
  let kind: OsRoot['bootloader']['kind'] = 'unknown';
  grubCfgs.forEach((p, i) => {
    const t = cfgTexts[i];
    if (t == null) return;
    configFiles.push(p);
    kind = 'grub2';
    // An EFI stub config that only chains to /boot/grub2/grub.cfg has no linux lines.
    cmdlines.push(...cmdlineFacts(p, 'grub_cfg', grubCfgCmdlines(t)));
  });
  ['/boot/grub/menu.lst', '/boot/grub/grub.conf'].forEach((p, i) => {
    const t = legacy[i];
    if (t == null) return;
    configFiles.push(p);
    if (kind === 'unknown') kind = 'grub_legacy';
    cmdlines.push(...cmdlineFacts(p, 'grub_legacy', grubLegacyCmdlines(t)));
  });
  if (defGrub != null) {
    configFiles.push('/etc/default/grub');
    cmdlines.push(...cmdlineFacts('/etc/default/grub', 'default_grub', defaultGrubCmdlines(defGrub)));
  }
  if (kcmd != null) {
    configFiles.push('/etc/kernel/cmdline');
    cmdlines.push(...cmdlineFacts('/etc/kernel/cmdline', 'kernel_cmdline', kernelCmdlineFile(kcmd)));
  }
  const blsFiles = blsNames.filter((n) => n.endsWith('.conf')).sort();
  const blsTexts = await Promise.all(blsFiles.map((n) => readText(s, `/boot/loader/entries/${n}`)));
  blsFiles.forEach((n, i) => {
    const t = blsTexts[i];
    if (t == null) return;
    const p = `/boot/loader/entries/${n}`;
    configFiles.push(p);
    cmdlines.push(...cmdlineFacts(p, 'bls_entry', blsCmdlines(t)));
  });
  if (kind === 'unknown' && (await exists(s, '/boot/loader/loader.conf'))) kind = 'systemd_boot';

  // --- EFI files on the ESP -----------------------------------------------------------------
  const efiFiles: string[] = [];
  const vendorListings = await Promise.all(efiVendors.map((v) => listDir(s, `/boot/efi/EFI/${v}`)));
  efiVendors.forEach((v, i) => {
    for (const f of vendorListings[i]!) if (/\.efi$/i.test(f)) efiFiles.push(`/boot/efi/EFI/${v}/${f}`);
  });

  // --- kernels and initramfs -----------------------------------------------------------------
  const kernels: OsRoot['kernels'] = [];
  const boot = kernelsInBoot(bootNames);
  const modulesDirs = new Set(await listDir(s, '/lib/modules'));
  // modules.dep (every module of the kernel) and modules.builtin, read whole and searched here:
  // a download costs no process in the appliance, a grep there does.
  const moduleFiles = await Promise.all(
    boot.map((k) =>
      modulesDirs.has(k.version)
        ? Promise.all([readText(s, `/lib/modules/${k.version}/modules.dep`), readText(s, `/lib/modules/${k.version}/modules.builtin`)])
        : Promise.resolve(null),
    ),
  );
  for (let i = 0; i < boot.length; i++) {
    const k = boot[i]!;
    const files = moduleFiles[i];
    const dep = files?.[0] ?? null;
    const builtin = files?.[1] != null ? driversIn(files[1].split('\n')) : new Set<VirtioDriver>();
    const modules = files ? driverPresence(driversIn(dep !== null ? dep.split('\n').map((l) => l.split(':')[0]!) : []), builtin, dep !== null) : null;
    if (files && dep === null) notes.push(`kernel ${k.version}: /lib/modules/${k.version}/modules.dep could not be read`);
    let initramfs: OsRoot['kernels'][number]['initramfs'] = null;
    if (k.initramfs) {
      c.onInitramfs?.(k.initramfs, i, boot.length);
      const dl = await s.downloadTo(k.initramfs);
      if (!dl.local) {
        initramfs = { path: k.initramfs, size_bytes: 0, segments: [], entries: 0, modules: [], drivers: driverPresence(new Set(), new Set(), false), error: dl.error };
      } else {
        try {
          const size = (await stat(dl.local)).size;
          const listing = await listInitramfs(dl.local, c.run, (suffix) => s.scratchPath(suffix));
          const inInitrd = driversIn(listing.names);
          initramfs = {
            path: k.initramfs,
            size_bytes: size,
            segments: listing.segments,
            entries: listing.names.length,
            modules: modulesIn(listing.names),
            // A driver built into the kernel needs no module in the initramfs.
            drivers: driverPresence(inInitrd, builtin, listing.error === null || inInitrd.size > 0),
            error: listing.error,
          };
        } finally {
          await rm(dl.local, { force: true });
        }
      }
    }
    kernels.push({ version: k.version, vmlinuz: k.vmlinuz, initramfs, modules });
  }

  // --- fstab, crypttab, LVM, SELinux -----------------------------------------------------------
  const [fstabText, crypttabText, lvmConfText, devicesText, selinuxText] = await Promise.all([
    readText(s, '/etc/fstab'),
    readText(s, '/etc/crypttab'),
    readText(s, '/etc/lvm/lvm.conf'),
    readText(s, '/etc/lvm/devices/system.devices'),
    readText(s, '/etc/selinux/config'),
  ]);
  const fstab = fstabText == null ? null : parseFstab(fstabText);
  const crypttab = crypttabText == null ? null : parseCrypttab(crypttabText);
  const lvmConf = lvmConfText == null ? null : parseLvmConf(lvmConfText);
  const lvm: OsRoot['lvm'] = {
    use_devicesfile: lvmConf?.useDevicesFile ?? null,
    filter: lvmConf?.filter ? { file: '/etc/lvm/lvm.conf', line: lvmConf.filter.line, text: lvmConf.filter.text, patterns: lvmConf.filter.patterns } : null,
    global_filter: lvmConf?.globalFilter ? { file: '/etc/lvm/lvm.conf', line: lvmConf.globalFilter.line, text: lvmConf.globalFilter.text, patterns: lvmConf.globalFilter.patterns } : null,
    devices_file: devicesText == null ? null : { file: '/etc/lvm/devices/system.devices', entries: parseDevicesFile(devicesText) },
  };
  const se = selinuxText == null ? null : parseSelinuxConfig(selinuxText);
  const selinux: OsRoot['selinux'] = {
    mode: se?.mode ?? null,
    policy: se?.policy ?? null,
    evidence: se?.modeLine ? { file: '/etc/selinux/config', line: se.modeLine.line, text: se.modeLine.text } : null,
  };

  // --- network ---------------------------------------------------------------------------------
  const dirs = ['/etc/network/interfaces.d', '/etc/NetworkManager/system-connections', '/etc/sysconfig/network-scripts', '/etc/sysconfig/network', '/etc/systemd/network', '/etc/netplan', '/etc/udev/rules.d'];
  const listings = await Promise.all(dirs.map((d) => listDir(s, d)));
  const candidates = ['/etc/network/interfaces'];
  dirs.forEach((d, i) => {
    for (const n of listings[i]!.sort()) candidates.push(`${d}/${n}`);
  });
  const netFiles = candidates.filter((p) => networkKindOf(p) !== null);
  const netTexts = await Promise.all(netFiles.map((p) => readText(s, p)));
  const network: OsRoot['network'] = [];
  netFiles.forEach((p, i) => {
    const t = netTexts[i];
    if (t != null) network.push(parseNetworkConfig(p, networkKindOf(p)!, t));
  });

  // --- guest tools and cloud-init ----------------------------------------------------------------
  const toolFiles = Object.values(GUEST_TOOLS).flatMap((v) => [...v.files]);
  const cloudFiles = ['/etc/cloud/cloud.cfg', '/usr/bin/cloud-init', '/etc/cloud/cloud-init.disabled'];
  const [found, opt] = await Promise.all([Promise.all([...toolFiles, ...cloudFiles].map((f) => exists(s, f))), listDir(s, '/opt')]);
  const foundSet = new Set<string>();
  [...toolFiles, ...cloudFiles].forEach((f, i) => found[i] && foundSet.add(f));
  for (const o of opt) if (o.startsWith('VBoxGuestAdditions')) foundSet.add(`/opt/${o}`);
  const guest_tools = guestToolsOf(c.packages, foundSet);
  const cloudEvidence: string[] = [];
  if (c.packages?.has('cloud-init')) cloudEvidence.push('package cloud-init');
  for (const f of cloudFiles) if (foundSet.has(f)) cloudEvidence.push(f);
  const cloudInstalled = cloudEvidence.some((e) => e !== '/etc/cloud/cloud-init.disabled');

  return {
    bootloader: { kind, config_files: configFiles, cmdlines },
    kernels,
    fstab,
    crypttab,
    lvm,
    selinux,
    network,
    guest_tools,
    cloud_init: { installed: cloudInstalled, evidence: cloudEvidence },
    notes,
    efi: { vendors: efiVendors, efiFiles },
    biosGrub: i386a || i386b,
  };
}
