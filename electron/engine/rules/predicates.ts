/**
 * Small pure predicates over inspection facts, used by the rule table (table.ts). Each returns
 * the evidence that makes it true (empty when false) and, where the fix depends on the facts,
 * the parameters of that fix.
 */
import type { DiskReport, Evidence, OsRoot, TargetProfile, VirtioDriver } from '../../../shared/protocol';
import { UNSTABLE_NAMINGS, isRemovableName, lvmFilterAccepts, targetDeviceName } from '../guest/config';

/** The virtio drivers a guest kernel needs to find its disks on the target bus. */
export function diskDriversFor(bus: TargetProfile['disk_bus']): VirtioDriver[] {
  if (bus === 'virtio-blk') return ['virtio_blk', 'virtio_pci'];
  if (bus === 'virtio-scsi') return ['virtio_scsi', 'virtio_pci'];
  return [];
}

const fileEv = (file: string, line: number, text: string): Evidence => ({ kind: 'file', file, line, text });
const factEv = (text: string): Evidence => ({ kind: 'fact', text });

/** fstab entries that name disks by kernel name, by-path or by-id (not removable, not noauto). */
export function fstabUnstable(root: OsRoot): Evidence[] {
  return (root.fstab ?? [])
    .filter((e) => UNSTABLE_NAMINGS.has(e.naming) && !isRemovableName(e.spec) && !e.options.split(',').includes('noauto'))
    .map((e) => fileEv('/etc/fstab', e.line, e.text));
}

/** crypttab entries whose device is a kernel name, by-path or by-id. */
export function crypttabUnstable(root: OsRoot): Evidence[] {
  return (root.crypttab ?? []).filter((e) => UNSTABLE_NAMINGS.has(e.naming)).map((e) => fileEv('/etc/crypttab', e.line, e.text));
}

/** Kernel command lines naming devices by kernel name/by-path/by-id, and the boot_repair fixes they need. */
export function bootUnstable(root: OsRoot): { evidence: Evidence[]; fixes: Array<'grub_root_by_uuid' | 'kernel_cmdline_by_uuid'> } {
  const evidence: Evidence[] = [];
  const fixes = new Set<'grub_root_by_uuid' | 'kernel_cmdline_by_uuid'>();
  for (const c of root.bootloader.cmdlines) {
    if (!c.device_refs.some((r) => UNSTABLE_NAMINGS.has(r.naming))) continue;
    evidence.push(fileEv(c.file, c.line, c.text));
    fixes.add(c.source === 'grub_cfg' || c.source === 'grub_legacy' ? 'grub_root_by_uuid' : 'kernel_cmdline_by_uuid');
  }
  return { evidence, fixes: (['grub_root_by_uuid', 'kernel_cmdline_by_uuid'] as const).filter((f) => fixes.has(f)) };
}

/**
 * Kernels whose initramfs lacks a virtio driver the target needs to boot (neither in the
 * initramfs nor built in), when the kernel itself has the module (so regenerating helps).
 * `drivers` = the missing disk drivers, plus virtio_net when it is missing too.
 */
export function initramfsMissing(root: OsRoot, target: TargetProfile): { evidence: Evidence[]; drivers: VirtioDriver[]; kernels: string[] } {
  const need = diskDriversFor(target.disk_bus);
  const evidence: Evidence[] = [];
  const drivers = new Set<VirtioDriver>();
  const kernels: string[] = [];
  if (need.length === 0) return { evidence, drivers: [], kernels };
  for (const k of root.kernels) {
    const i = k.initramfs;
    if (!i) continue;
    const missing = need.filter((d) => i.drivers[d] === 'absent');
    if (missing.length === 0) continue;
    // Only what the kernel can provide: a module in /lib/modules (or unknown modules tree).
    const providable = missing.filter((d) => k.modules === null || k.modules[d] !== 'absent');
    if (providable.length === 0) continue;
    kernels.push(k.version);
    for (const d of providable) drivers.add(d);
    if (i.drivers.virtio_net === 'absent' && (k.modules === null || k.modules.virtio_net !== 'absent')) drivers.add('virtio_net');
    evidence.push(factEv(`${i.path} (kernel ${k.version}, ${i.segments.join('+') || 'empty'}, ${i.entries} files) has no ${providable.join(', ')}`));
  }
  const order: VirtioDriver[] = ['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci'];
  return { evidence, drivers: order.filter((d) => drivers.has(d)), kernels };
}

/** Kernels that do not have the target's disk drivers at all (no module, not built in). */
export function kernelLacksDrivers(root: OsRoot, target: TargetProfile): Evidence[] {
  const need = diskDriversFor(target.disk_bus);
  return root.kernels
    .filter((k) => k.modules !== null && need.some((d) => k.modules![d] === 'absent'))
    .map((k) => factEv(`kernel ${k.version} has no ${need.filter((d) => k.modules![d] === 'absent').join(', ')} module and does not build it in`));
}

/** Initramfs files that could not be listed completely. */
export function initramfsUnreadable(root: OsRoot): Evidence[] {
  return root.kernels.filter((k) => k.initramfs?.error).map((k) => factEv(`${k.initramfs!.path}: ${k.initramfs!.error}`));
}

/** Guest tools of one vendor. */
export function toolsOf(root: OsRoot, vendor: 'vmware' | 'hyperv' | 'virtualbox'): Evidence[] {
  const t = root.guest_tools.find((g) => g.vendor === vendor);
  if (!t) return [];
  return [...t.packages.map((p) => factEv(`package ${p} is installed`)), ...t.files.map((f) => factEv(`${f} exists`))];
}

/** Network configuration lines matching or setting a MAC address. */
export function macPins(root: OsRoot): Evidence[] {
  return root.network.flatMap((n) => n.mac_pins.map((m) => fileEv(n.file, m.line, m.text)));
}

/** Network configuration lines naming VMware NICs. */
export function vmwareNicNames(root: OsRoot): Evidence[] {
  return root.network.flatMap((n) => n.vmware_names.map((m) => fileEv(n.file, m.line, m.text)));
}

/** An LVM devices file with entries that LVM will still use (use_devicesfile not 0). */
export function devicesFilePinned(root: OsRoot, guestUsesLvm: boolean): Evidence[] {
  const f = root.lvm.devices_file;
  if (!guestUsesLvm || !f || root.lvm.use_devicesfile === false || f.entries.length === 0) return [];
  return f.entries.map((e) => fileEv(f.file, e.line, e.text));
}

/**
 * lvm.conf filters that reject the PVs under their names on the target (sda2 becomes vda2 on
 * virtio-blk). `pvDevices` are the PVs as the appliance saw them.
 */
export function filterRejects(root: OsRoot, pvDevices: readonly string[], target: TargetProfile): Evidence[] {
  const out: Evidence[] = [];
  for (const setting of [root.lvm.filter, root.lvm.global_filter]) {
    if (!setting) continue;
    const rejected = pvDevices.map((d) => targetDeviceName(d, target.disk_bus)).filter((d) => !lvmFilterAccepts(setting.patterns, d));
    if (rejected.length) out.push(fileEv(setting.file, setting.line, setting.text), factEv(`on ${target.disk_bus} the PVs are ${rejected.join(', ')}, which this filter rejects`));
  }
  return out;
}

/** Mountpoints with less free space than conversion and repairs need. */
export function lowSpace(root: OsRoot): { evidence: Evidence[]; critical: boolean } {
  const low = root.free_space.filter((f) => f.free_bytes < f.required_bytes);
  const MiB = 1024 * 1024;
  return {
    evidence: low.map((f) => factEv(`${f.mountpoint} (${f.device}) has ${(f.free_bytes / MiB).toFixed(1)} MiB free; ${f.required_bytes / MiB} MiB are needed`)),
    critical: low.some((f) => f.mountpoint === '/' || f.mountpoint === '/boot'),
  };
}

/** The disk-level error of a disk, when it has this code (or one of these codes). */
export function diskError(d: DiskReport, codes: readonly string[]): Evidence[] {
  if (!d.error || !codes.includes(d.error.code)) return [];
  return [{ kind: 'fact', file: d.source.kind === 'file' ? d.source.path : d.source.package, text: `${d.error.message}${d.error.detail ? ` ${d.error.detail}` : ''}` }];
}
