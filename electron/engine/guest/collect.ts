/**
 * The guest part of an inspection, over one launched session with every disk of the VM
 * attached (so LVM volume groups spanning disks and mounts from a second disk resolve). Under
 * TCG every process started inside the appliance costs (hundreds of ms), so the order and the
 * commands are chosen to start as few as possible:
 *
 * 1. disks and partitions: list-devices, list-partitions (sysfs), then one `blkid` per disk
 *    (partition table type) and per partition (partition entry and content);
 * 2. LVM, only when a PV was seen: pvs-full and pvs (API names; pvuuid per PV when several),
 *    vgs-full, lvs-full, lvs, blkid of each LV;
 * 3. ext* dirty state with tune2fs-l, before anything is mounted (a mount replays the journal);
 * 4. inspect-os; for each root its inspect-get-* facts, its filesystems mounted read-only at
 *    their guest mountpoints (statvfs gives size, use, free space), the Linux (linux.ts) or
 *    Windows (windows.ts) facts;
 * 5. filesystems no root mounts, mounted alone for statvfs; then the appliance's kernel log
 *    (dmesg) for journal recovery (XFS, ext*) at any of the mounts above.
 *
 * All drives are read-only (libguestfs puts a throw-away overlay over them), so journal
 * recovery at mount never reaches the source disk.
 */
import type { BlockDevice, Filesystem, GuestFacts, LvmFacts, OsRoot } from '../../../shared/protocol';
import { num, parsePairs, parseRecord, parseStructList, parseString } from './gf-output';
import { collectLinux } from './linux';
import { linesOf, type GuestfishSession, type SessionRun } from './session';
import { collectWindows } from './windows';
import { osDisplayName } from '../../../shared/os-name';

export interface CollectOptions {
  s: GuestfishSession;
  run: SessionRun;
  /** disk_id of each drive, in the order the drives were added. */
  diskIds: readonly string[];
  /** Virtual size of each drive (bytes), in the same order; what the guest sees. */
  diskSizes?: readonly (number | null)[];
  /** Progress of the scan: `fraction` 0..1 of the guest part after the appliance started. */
  progress(stage: string, fraction: number, message?: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

const MiB = 1024 * 1024;

/** Free space conversion and repairs need per mountpoint (bytes): / 100 MiB, /boot 50 MiB, others 10 MiB. */
export function requiredFree(mountpoint: string): number {
  if (mountpoint === '/') return 100 * MiB;
  if (mountpoint === '/boot') return 50 * MiB;
  return 10 * MiB;
}

/** Filesystem types the mount pass tries (swap, PVs and encrypted containers are not mounted). */
const MOUNTABLE = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat', 'msdos', 'ntfs', 'exfat', 'f2fs', 'reiserfs', 'jfs', 'hfsplus', 'ufs', 'iso9660', 'udf']);

/** ESP and BIOS boot partition type GUIDs (UEFI spec; GRUB's "BIOS boot"). */
export const ESP_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
export const BIOS_BOOT_GUID = '21686148-6449-6E6F-744E-656564454649';

/**
 * Kernel log lines saying a filesystem had to be recovered at mount: XFS "Starting recovery",
 * ext* "recovery complete" / "orphan cleanup". Returns kernel device names (sda1, dm-0). Pure.
 */
export function recoveredDevices(dmesg: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of dmesg.split('\n')) {
    const m = /(XFS|EXT[234]-fs) \(([^)]+)\): (Starting recovery.*|recovery complete.*|orphan cleanup.*|.*needs recovery.*)$/.exec(line);
    if (m) out.set(m[2]!, `${m[1]} (${m[2]}): ${m[3]}`.trim());
  }
  return out;
}

/**
 * The PVs of `pvs-full` (records with pv_name, pv_uuid, pv_size) named as the libguestfs API
 * names them: `pvs-full` carries the appliance kernel's device name, untranslated, which differs
 * from the API's /dev/sdX of the Nth added drive when the appliance kernel enumerates its disks
 * in another order (seen once in CI: the only disk's PV reported as /dev/sdb2). `api` pairs the
 * API names from `pvs` with their UUIDs from `pvuuid`; a PV without a pair keeps its kernel name.
 * UUIDs are compared without dashes. Pure.
 */
export function pvsWithApiNames(full: readonly Record<string, string>[], api: readonly { device: string; uuid: string }[]): LvmFacts['pvs'] {
  const bare = (u: string) => u.replace(/-/g, '');
  const byUuid = new Map(api.filter((a) => a.uuid !== '').map((a) => [bare(a.uuid), a.device]));
  return full.map((p) => ({ device: byUuid.get(bare(p.pv_uuid ?? '')) ?? p.pv_name ?? '', uuid: p.pv_uuid ?? '', size_bytes: num(p, 'pv_size') ?? 0 }));
}

/** The kernel name of a device as dmesg prints it: /dev/sda1 → sda1, an LV → dm-N. */
function kernelNameOf(device: string, lvMinor: ReadonlyMap<string, number>): string {
  const minor = lvMinor.get(device);
  if (minor !== undefined) return `dm-${minor}`;
  return device.replace(/^\/dev\//, '');
}

/** Dirty state of an ext* filesystem from `tune2fs -l`. */
export function extDirty(tune2fs: Record<string, string>): { dirty: boolean | null; evidence: string | null } {
  const state = tune2fs['Filesystem state']?.trim();
  const features = tune2fs['Filesystem features'] ?? '';
  if (features.split(/\s+/).includes('needs_recovery')) return { dirty: true, evidence: 'tune2fs: journal needs_recovery' };
  if (state === undefined) return { dirty: null, evidence: null };
  if (state === 'clean') return { dirty: false, evidence: null };
  return { dirty: true, evidence: `tune2fs: Filesystem state: ${state}` };
}

/** MBR partition type as `0x83` (blkid prints `0x83`, `0x5`, `0xef`). */
function mbrId(v: string | undefined): string | null {
  if (!v) return null;
  const n = Number(v);
  return Number.isInteger(n) ? `0x${n.toString(16).padStart(2, '0')}` : v;
}

/**
 * A partition from `blkid -p` of the partition (PART_ENTRY_* values: sectors of 512 bytes).
 * Pure.
 */
export function partitionFromBlkid(device: string, b: Record<string, string>): BlockDevice['partitions'][number] | null {
  const n = Number(b.PART_ENTRY_NUMBER);
  if (!Number.isInteger(n) || n < 1) return null;
  const start = Number(b.PART_ENTRY_OFFSET ?? 0) * 512;
  const size = Number(b.PART_ENTRY_SIZE ?? 0) * 512;
  const scheme = b.PART_ENTRY_SCHEME;
  return {
    device,
    number: n,
    start_bytes: start,
    end_bytes: Math.max(start, start + size - 1),
    size_bytes: size,
    mbr_id: scheme === 'dos' ? mbrId(b.PART_ENTRY_TYPE) : null,
    gpt_type: scheme === 'gpt' ? (b.PART_ENTRY_TYPE?.toUpperCase() ?? null) : null,
    bootable: scheme === 'dos' ? (Number(b.PART_ENTRY_FLAGS ?? 0) & 0x80) !== 0 : null,
  };
}

interface Probed {
  devices: BlockDevice[];
  /** blkid of every partition, unpartitioned disk and LV, by device. */
  blkid: Map<string, Record<string, string>>;
}

/**
 * Disks, partitions and what each holds, with as few processes in the appliance as possible
 * (under TCG every exec costs): list-devices and list-partitions read sysfs; one `blkid -p` per
 * disk (partition table type) and per partition (partition entry and content).
 */
async function probeDevices(s: GuestfishSession, diskIds: readonly string[], diskSizes: readonly (number | null)[]): Promise<Probed> {
  const [devs, parts] = await Promise.all([s.ok('list-devices'), s.ok('list-partitions')]);
  const devices = linesOf(devs);
  const partitions = linesOf(parts);
  const all = [...devices, ...partitions];
  const replies = await Promise.all(all.map((d) => s.call('blkid', [d])));
  const blkid = new Map<string, Record<string, string>>();
  all.forEach((d, i) => blkid.set(d, replies[i]!.ok ? parseRecord(replies[i]!.out) : {}));
  const out: BlockDevice[] = devices.map((d, i) => {
    const pt = blkid.get(d)?.PTTYPE;
    const mine = partitions.filter((p) => p.startsWith(d) && /^p?\d+$/.test(p.slice(d.length)));
    return {
      device: d,
      disk_id: diskIds[i] ?? null,
      size_bytes: diskSizes[i] ?? null,
      partition_table: pt === 'dos' ? 'msdos' : pt === 'gpt' ? 'gpt' : null,
      partitions: mine.map((p) => partitionFromBlkid(p, blkid.get(p) ?? {})).filter((p): p is NonNullable<typeof p> => p !== null),
    };
  });
  return { devices: out, blkid };
}

async function lvmFacts(s: GuestfishSession, blkid: Map<string, Record<string, string>>): Promise<{ lvm: LvmFacts; lvMinor: Map<string, number> }> {
  const [pvs, pvNames, vgs, lvs, names] = await Promise.all([s.call('pvs-full'), s.call('pvs'), s.call('vgs-full'), s.call('lvs-full'), s.call('lvs')]);
  // pvs-full's pv_name is the appliance kernel's name, which libguestfs does not translate; `pvs`
  // gives the API names (/dev/sda2 for the first added drive). Paired by UUID (pvuuid, one
  // appliance process per PV), except a single PV, which needs no pairing.
  const full = pvs.ok ? parseStructList(pvs.out) : [];
  const apiNames = pvNames.ok ? linesOf(pvNames.out) : [];
  const single = full.length === 1 && apiNames.length === 1;
  const uuids = single ? [] : await Promise.all(apiNames.map((d) => s.call('pvuuid', [d])));
  const apiPvs = apiNames.map((device, i) => ({ device, uuid: single ? (full[0]!.pv_uuid ?? '') : uuids[i]!.ok ? uuids[i]!.out.trim() : '' }));
  const lvMinor = new Map<string, number>();
  const lvm: LvmFacts = {
    pvs: pvsWithApiNames(full, apiPvs),
    vgs: (vgs.ok ? parseStructList(vgs.out) : []).map((v) => ({ name: v.vg_name ?? '', uuid: v.vg_uuid ?? '', size_bytes: num(v, 'vg_size') ?? 0, free_bytes: num(v, 'vg_free') ?? 0, pv_count: num(v, 'pv_count') ?? 0, lv_count: num(v, 'lv_count') ?? 0 })),
    lvs: [],
  };
  // lvs-full does not name the VG and lists LVs in its own order; `lvs` gives /dev/VG/LV. They
  // are paired by LV name, and by UUID (lvuuid) when two VGs have an LV of the same name.
  const paths = names.ok ? linesOf(names.out) : [];
  const lvFull = lvs.ok ? parseStructList(lvs.out) : [];
  for (const path of paths) {
    const m = /^\/dev\/([^/]+)\/([^/]+)$/.exec(path);
    const same = lvFull.filter((l) => l.lv_name === m?.[2]);
    let l = same[0];
    if (same.length > 1) {
      const u = await s.call('lvuuid', [path]);
      const uuid = u.ok ? u.out.trim().replace(/-/g, '') : null;
      l = same.find((x) => x.lv_uuid?.replace(/-/g, '') === uuid) ?? same[0];
    }
    lvm.lvs.push({ device: path, name: m?.[2] ?? l?.lv_name ?? '', vg: m?.[1] ?? '', size_bytes: num(l, 'lv_size') ?? 0 });
    const minor = num(l, 'lv_kernel_minor');
    if (minor !== null && minor >= 0) lvMinor.set(path, minor);
  }
  const lvBlkid = await Promise.all(paths.map((p) => s.call('blkid', [p])));
  paths.forEach((p, i) => blkid.set(p, lvBlkid[i]!.ok ? parseRecord(lvBlkid[i]!.out) : {}));
  return { lvm, lvMinor };
}

/** Filesystems (and swap, encrypted containers) from the blkid values; ext* dirty state from tune2fs. */
async function filesystemsOf(s: GuestfishSession, devices: BlockDevice[], blkid: Map<string, Record<string, string>>, lvs: readonly string[]): Promise<Filesystem[]> {
  const candidates = [...devices.filter((d) => d.partition_table === null).map((d) => d.device), ...devices.flatMap((d) => d.partitions.map((p) => p.device)), ...lvs];
  const withType = candidates.filter((d) => {
    const t = blkid.get(d)?.TYPE;
    return t !== undefined && t !== '' && t !== 'LVM2_member';
  });
  const tunes = await Promise.all(withType.map((d) => (/^ext[234]$/.test(blkid.get(d)!.TYPE!) ? s.call('tune2fs-l', [d]) : Promise.resolve(null))));
  return withType.map((d, i) => {
    const b = blkid.get(d)!;
    const type = b.TYPE!;
    const ext = tunes[i]?.ok ? extDirty(parseRecord(tunes[i]!.out)) : { dirty: null, evidence: null };
    return {
      device: d,
      type,
      uuid: b.UUID || null,
      label: b.LABEL || null,
      size_bytes: null,
      used_bytes: null,
      free_bytes: null,
      encryption: type === 'crypto_LUKS' ? 'luks' : type === 'BitLocker' ? 'bitlocker' : null,
      dirty: ext.dirty,
      dirty_evidence: ext.evidence,
    };
  });
}

/** Size, use and free space of the filesystem mounted at `mountpoint`, from statvfs. */
async function statvfsOf(s: GuestfishSession, mountpoint: string): Promise<{ size: number; used: number; free: number } | null> {
  const st = await s.call('statvfs', [mountpoint]);
  if (!st.ok) return null;
  const r = parseRecord(st.out);
  const fr = num(r, 'frsize') ?? num(r, 'bsize') ?? 0;
  const blocks = num(r, 'blocks') ?? 0;
  return { size: blocks * fr, used: (blocks - (num(r, 'bfree') ?? 0)) * fr, free: (num(r, 'bavail') ?? 0) * fr };
}

async function rootBasics(s: GuestfishSession, root: string): Promise<Omit<OsRoot, 'mountpoints' | 'firmware' | 'bootloader' | 'kernels' | 'fstab' | 'crypttab' | 'lvm' | 'selinux' | 'network' | 'guest_tools' | 'cloud_init' | 'windows' | 'free_space' | 'applications' | 'notes'>> {
  const cmds = [
    'inspect-get-type',
    'inspect-get-distro',
    'inspect-get-product-name',
    'inspect-get-product-variant',
    'inspect-get-major-version',
    'inspect-get-minor-version',
    'inspect-get-arch',
    'inspect-get-hostname',
    'inspect-get-package-format',
    'inspect-get-package-management',
    'inspect-get-osinfo',
  ];
  const r = await Promise.all(cmds.map((c) => s.call(c, [root])));
  const str = (i: number) => {
    const v = r[i]!.ok ? parseString(r[i]!.out) : null;
    return v === 'unknown' ? null : v;
  };
  const int = (i: number) => {
    const v = str(i);
    return v !== null && /^\d+$/.test(v) ? Number(v) : null;
  };
  return {
    root,
    type: str(0) ?? 'unknown',
    distro: str(1),
    product_name: str(2),
    product_variant: str(3),
    major_version: int(4),
    minor_version: int(5),
    arch: str(6),
    hostname: str(7),
    package_format: str(8),
    package_management: str(9),
    osinfo: str(10),
  };
}

/** Application names of a mounted root (inspect-list-applications2), lower-cased. */
async function applications(s: GuestfishSession, root: string): Promise<{ names: Set<string> | null; count: number | null; error: string | null }> {
  const r = await s.call('inspect-list-applications2', [root]);
  if (!r.ok) return { names: null, count: null, error: r.error };
  const apps = parseStructList(r.out, APP2_FIELDS);
  const names = new Set<string>();
  for (const a of apps) {
    if (a.app2_name) names.add(a.app2_name.toLowerCase());
    if (a.app2_display_name) names.add(a.app2_display_name.toLowerCase());
  }
  return { names, count: apps.length, error: null };
}

const APP2_FIELDS = [
  'app2_name',
  'app2_display_name',
  'app2_epoch',
  'app2_version',
  'app2_release',
  'app2_arch',
  'app2_install_path',
  'app2_trans_path',
  'app2_publisher',
  'app2_url',
  'app2_source_package',
  'app2_summary',
  'app2_description',
  'app2_spare1',
  'app2_spare2',
  'app2_spare3',
  'app2_spare4',
];

/**
 * Firmware the guest boots with, from the partition tables, the ESP and the bootloader files.
 * `uefi`: an ESP with EFI binaries and no BIOS boot path; `bios`: an MBR (or BIOS boot
 * partition) boot path and no EFI binaries; `hybrid`-looking guests (both) count as bios, with
 * both facts in the evidence. Pure.
 */
export function firmwareOf(input: {
  devices: readonly BlockDevice[];
  bootDevice: string | null;
  espMountpoint: { device: string; mountpoint: string | null } | null;
  efiFiles: readonly string[];
  biosGrub: boolean;
  windows: boolean;
}): OsRoot['firmware'] {
  const evidence: string[] = [];
  const disk = input.devices.find((d) => input.bootDevice && (input.bootDevice === d.device || d.partitions.some((p) => p.device === input.bootDevice)));
  const allParts = input.devices.flatMap((d) => d.partitions.map((p) => ({ disk: d, p })));
  const espPart = allParts.find(({ p }) => p.gpt_type === ESP_GUID || p.mbr_id?.toLowerCase() === '0xef');
  const biosBoot = allParts.find(({ p }) => p.gpt_type === BIOS_BOOT_GUID);
  const esp = input.espMountpoint ?? (espPart ? { device: espPart.p.device, mountpoint: null } : null);
  if (espPart) evidence.push(`EFI system partition ${espPart.p.device}`);
  if (input.efiFiles.length) evidence.push(`EFI boot files: ${input.efiFiles.slice(0, 4).join(', ')}`);
  let bios = false;
  if (biosBoot) {
    evidence.push(`BIOS boot partition ${biosBoot.p.device}`);
    bios = true;
  }
  if (disk?.partition_table === 'msdos') {
    evidence.push(`${disk.device} has an MBR partition table`);
    bios = true;
  }
  if (input.biosGrub) {
    evidence.push('GRUB i386-pc modules in /boot');
    bios = true;
  }
  const efi = input.efiFiles.length > 0 || (input.windows && espPart !== undefined);
  if (efi && !bios) return { kind: 'uefi', evidence, esp };
  if (bios) return { kind: 'bios', evidence, esp };
  if (disk?.partition_table === 'gpt' && espPart) return { kind: 'uefi', evidence, esp };
  return { kind: 'unknown', evidence, esp };
}

/** Collect the guest facts. Throws GuestfishExitedError when the appliance dies. */
export async function collectGuest(o: CollectOptions): Promise<Pick<GuestFacts, 'devices' | 'filesystems' | 'lvm' | 'roots' | 'multiboot' | 'notes'>> {
  const { s } = o;
  const notes: string[] = [];
  o.progress('guest-devices', 0.02, 'partitions and volumes');
  const { devices, blkid } = await probeDevices(s, o.diskIds, o.diskSizes ?? []);
  const hasPv = [...blkid.values()].some((b) => b.TYPE === 'LVM2_member');
  const { lvm, lvMinor } = hasPv ? await lvmFacts(s, blkid) : { lvm: { pvs: [], vgs: [], lvs: [] } as LvmFacts, lvMinor: new Map<string, number>() };
  o.progress('guest-filesystems', 0.08, 'filesystems');
  // tune2fs runs before anything is mounted: a mount would replay the journal (into the overlay).
  const filesystems = await filesystemsOf(s, devices, blkid, lvm.lvs.map((l) => l.device));
  const fsByDevice = new Map(filesystems.map((f) => [f.device, f]));
  const setStats = (device: string, st: { size: number; used: number; free: number } | null) => {
    const f = fsByDevice.get(device);
    if (f && st && f.size_bytes === null) Object.assign(f, { size_bytes: st.size, used_bytes: st.used, free_bytes: st.free });
  };

  o.progress('guest-inspect', 0.12, 'operating systems (libguestfs inspection)');
  const rootDevs = linesOf(await s.ok('inspect-os'));
  const roots: OsRoot[] = [];
  const mountErrors = new Map<string, string>();
  for (let ri = 0; ri < rootDevs.length; ri++) {
    const root = rootDevs[ri]!;
    const base = 0.45 + (0.5 * ri) / rootDevs.length;
    const span = 0.5 / rootDevs.length;
    const basics = await rootBasics(s, root);
    // "Debian GNU/Linux 12", not libguestfs' product name "12.5"; the device too when there are several roots.
    const osLabel = `${osDisplayName(basics)}${rootDevs.length > 1 ? ` on ${root}` : ''}`;
    const mpReply = await s.call('inspect-get-mountpoints', [root]);
    const mps = (mpReply.ok ? parsePairs(mpReply.out) : [['/', root] as [string, string]]).sort((a, b) => a[0].split('/').length - b[0].split('/').length || a[0].length - b[0].length);
    await s.call('umount-all');
    const mountpoints: OsRoot['mountpoints'] = [];
    o.progress('guest-mount', base, `mounting ${osLabel}`);
    for (const [mp, dev] of mps) {
      const m = await s.call('mount-ro', [dev, mp]);
      mountpoints.push({ mountpoint: mp, device: dev, mounted: m.ok, error: m.ok ? null : m.error });
      if (!m.ok) mountErrors.set(dev, m.error ?? 'mount failed');
    }
    const rootNotes: string[] = [];
    for (const m of mountpoints) if (!m.mounted) rootNotes.push(`${m.device} could not be mounted at ${m.mountpoint}: ${m.error}`);

    const apps = await applications(s, root);
    const free_space: OsRoot['free_space'] = [];
    for (const m of mountpoints.filter((x) => x.mounted)) {
      const st = await statvfsOf(s, m.mountpoint);
      if (!st) continue;
      setStats(m.device, st);
      free_space.push({ mountpoint: m.mountpoint, device: m.device, free_bytes: st.free, size_bytes: st.size, required_bytes: requiredFree(m.mountpoint) });
    }

    const espMount = mountpoints.find((m) => m.mountpoint === '/boot/efi' || m.mountpoint === '/efi') ?? null;
    const bootMount = mountpoints.find((m) => m.mountpoint === '/boot') ?? mountpoints.find((m) => m.mountpoint === '/') ?? null;
    const rootOs: OsRoot = {
      ...basics,
      mountpoints,
      firmware: { kind: 'unknown', evidence: [], esp: null },
      bootloader: { kind: 'unknown', config_files: [], cmdlines: [] },
      kernels: [],
      fstab: null,
      crypttab: null,
      lvm: { use_devicesfile: null, filter: null, global_filter: null, devices_file: null },
      selinux: { mode: null, policy: null, evidence: null },
      network: [],
      guest_tools: [],
      cloud_init: { installed: false, evidence: [] },
      windows: null,
      free_space,
      applications: { count: apps.count, error: apps.error },
      notes: rootNotes,
    };
    if (basics.type === 'linux') {
      o.progress('guest-read', base + span * 0.1, `reading ${osLabel}`);
      const lx = await collectLinux({
        s,
        run: o.run,
        packages: apps.names,
        onInitramfs: (p, i, n) => o.progress('guest-initramfs', base + span * (0.4 + (0.5 * i) / Math.max(1, n)), `listing ${p}`),
      });
      Object.assign(rootOs, {
        bootloader: lx.bootloader,
        kernels: lx.kernels,
        fstab: lx.fstab,
        crypttab: lx.crypttab,
        lvm: lx.lvm,
        selinux: lx.selinux,
        network: lx.network,
        guest_tools: lx.guest_tools,
        cloud_init: lx.cloud_init,
      });
      rootOs.notes.push(...lx.notes);
      rootOs.firmware = firmwareOf({
        devices,
        bootDevice: bootMount?.device ?? root,
        espMountpoint: espMount ? { device: espMount.device, mountpoint: espMount.mountpoint } : null,
        efiFiles: lx.efi.efiFiles,
        biosGrub: lx.biosGrub,
        windows: false,
      });
    } else if (basics.type === 'windows') {
      o.progress('guest-read', base + span * 0.1, `reading ${osLabel}`);
      rootOs.windows = await collectWindows(s, root, mountErrors.get(root) ?? null);
      rootOs.bootloader.kind = 'windows_bootmgr';
      const names = apps.names ? [...apps.names] : [];
      rootOs.guest_tools = (
        [
          ['vmware', /^vmware tools$/],
          ['hyperv', /^hyper-v integration services|^microsoft hyper-v guest/],
          ['virtualbox', /^oracle vm virtualbox guest additions/],
        ] as const
      )
        .map(([vendor, re]) => ({ vendor, packages: names.filter((n) => re.test(n)), files: [] as string[] }))
        .filter((t) => t.packages.length > 0);
      rootOs.firmware = firmwareOf({ devices, bootDevice: root, espMountpoint: null, efiFiles: [], biosGrub: false, windows: true });
    } else {
      rootOs.notes.push(`${basics.type} guests get the generic facts only`);
    }
    await s.call('umount-all');
    roots.push(rootOs);
  }
  if (rootDevs.length === 0) notes.push('no operating system found on these disks (a data disk, or a blank one)');

  // Filesystems no root mounts (data disks, unreferenced volumes): mounted alone for statvfs.
  const orphans = filesystems.filter((f) => f.size_bytes === null && MOUNTABLE.has(f.type) && !mountErrors.has(f.device));
  for (let i = 0; i < orphans.length; i++) {
    const f = orphans[i]!;
    o.progress('guest-filesystems', 0.95 + (0.04 * i) / orphans.length, `measuring ${f.device}`);
    const m = await s.call('mount-ro', [f.device, '/']);
    if (!m.ok) {
      mountErrors.set(f.device, m.error ?? 'mount failed');
      continue;
    }
    setStats(f.device, await statvfsOf(s, '/'));
    await s.call('umount-all');
  }
  // Journal recovery at any of the mounts above (inspection's included) shows in the kernel log.
  const dmesg = await s.call('dmesg');
  if (dmesg.ok) {
    const recovered = recoveredDevices(dmesg.out);
    for (const f of filesystems) {
      const hit = recovered.get(kernelNameOf(f.device, lvMinor));
      if (hit && f.dirty !== true) Object.assign(f, { dirty: true, dirty_evidence: `kernel: ${hit}` });
      else if (f.dirty === null && f.type === 'xfs' && f.size_bytes !== null) f.dirty = false;
    }
  }
  for (const [dev, err] of mountErrors) if (!roots.some((r) => r.mountpoints.some((m) => m.device === dev))) notes.push(`${dev} could not be mounted: ${err}`);
  o.progress('guest-done', 1, 'guest scanned');
  return { devices, filesystems, lvm, roots, multiboot: roots.length > 1, notes };
}
