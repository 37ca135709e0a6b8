/**
 * Pure parsers of guest configuration files: fstab(5), crypttab(5), kernel command lines in
 * GRUB configs, BLS entries and /etc/kernel/cmdline, SELinux's config, lvm.conf(5) filters and
 * the LVM devices file (lvmdevices(8)). Each keeps the 1-based line number and the line as
 * written, which become a finding's evidence.
 */
import type { DeviceNaming } from '../../../shared/protocol';

/** One non-comment line of a file: number (1-based), text as written, fields split on blanks. */
export interface ConfigLine {
  line: number;
  text: string;
}

/** Lines of a text file with their numbers; comments and blank lines are kept out. */
export function meaningfulLines(text: string, comment = /^\s*(#|$)/): ConfigLine[] {
  const out: ConfigLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.replace(/\r$/, '');
    if (!comment.test(t)) out.push({ line: i + 1, text: t });
  });
  return out;
}

const KERNEL_DISK = /^\/dev\/(sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+|sr\d+|fd\d+|cciss\/c\d+d\d+)(p?\d+)?$/;

/**
 * How a device reference names its device (fstab's first field, root= of a kernel command
 * line, a crypttab device). Kernel names (/dev/sda1), by-path and by-id names change when the
 * disk moves to another bus or hypervisor; UUID=, LABEL=, by-uuid, /dev/mapper and LVM names
 * do not.
 */
export function deviceNaming(spec: string): DeviceNaming {
  const s = spec.trim();
  const upper = s.toUpperCase();
  if (upper.startsWith('UUID=')) return 'uuid';
  if (upper.startsWith('LABEL=')) return 'label';
  if (upper.startsWith('PARTUUID=')) return 'partuuid';
  if (upper.startsWith('PARTLABEL=')) return 'partlabel';
  const byDir = /^\/dev\/disk\/by-(uuid|label|partuuid|partlabel|path|id)\//.exec(s);
  if (byDir) return (`by_${byDir[1]}` as DeviceNaming);
  if (s.startsWith('/dev/mapper/')) return 'mapper';
  if (/^\/dev\/md(\d+|\/.+)$/.test(s)) return 'md';
  if (KERNEL_DISK.test(s)) return 'kernel_name';
  if (/^\/dev\/[^/]+\/[^/]+$/.test(s) && !s.startsWith('/dev/disk/')) return 'lvm';
  return 'other';
}

/** Namings that break when the disks are seen through another bus or on another hypervisor. */
export const UNSTABLE_NAMINGS: ReadonlySet<DeviceNaming> = new Set(['kernel_name', 'by_path', 'by_id']);

/** True for a kernel name of a removable or floppy device (/dev/sr0, /dev/fd0, /dev/cdrom). */
export function isRemovableName(spec: string): boolean {
  return /^\/dev\/(sr\d+|fd\d+|cdrom\d*|dvd\d*|scd\d+)$/.test(spec.trim());
}

export interface FstabLine extends ConfigLine {
  spec: string;
  mountpoint: string;
  fstype: string;
  options: string;
  naming: DeviceNaming;
}

/** fstab(5): fields are separated by blanks; lines with fewer than 3 fields are skipped. */
export function parseFstab(text: string): FstabLine[] {
  const out: FstabLine[] = [];
  for (const l of meaningfulLines(text)) {
    const f = l.text.trim().split(/\s+/);
    if (f.length < 3) continue;
    out.push({ ...l, spec: f[0]!, mountpoint: f[1]!, fstype: f[2]!, options: f[3] ?? 'defaults', naming: deviceNaming(f[0]!) });
  }
  return out;
}

export interface CrypttabLine extends ConfigLine {
  name: string;
  device: string;
  naming: DeviceNaming;
}

/** crypttab(5): `name device [keyfile [options]]`. */
export function parseCrypttab(text: string): CrypttabLine[] {
  const out: CrypttabLine[] = [];
  for (const l of meaningfulLines(text)) {
    const f = l.text.trim().split(/\s+/);
    if (f.length < 2) continue;
    out.push({ ...l, name: f[0]!, device: f[1]!, naming: deviceNaming(f[1]!) });
  }
  return out;
}

/** Kernel parameters that name a block device. */
export const DEVICE_PARAMS: ReadonlySet<string> = new Set(['root', 'resume', 'rd.lvm.pv', 'cryptdevice', 'rd.md.uuid', 'swap', 'real_root', 'boot']);

/** Split a kernel command line into parameters (double quotes group, as the kernel does). */
export function splitCmdline(text: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s"]+|"[^"]*")+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) out.push(m[0].replace(/"/g, ''));
  return out;
}

/** root=, resume= ... parameters of a command line with their naming. */
export function deviceRefsOf(cmdline: string): Array<{ param: string; value: string; naming: DeviceNaming }> {
  const refs: Array<{ param: string; value: string; naming: DeviceNaming }> = [];
  for (const p of splitCmdline(cmdline)) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const param = p.slice(0, eq);
    let value = p.slice(eq + 1);
    if (!DEVICE_PARAMS.has(param)) continue;
    if (param === 'cryptdevice') value = value.split(':')[0]!;
    if (value === '' || value.startsWith('$')) continue;
    refs.push({ param, value, naming: deviceNaming(value) });
  }
  return refs;
}

export interface CmdlineLine extends ConfigLine {
  /** The parameters part of the line. */
  params: string;
}

/** `linux`/`linux16`/`linuxefi` lines of a GRUB 2 grub.cfg: the parameters after the image. */
export function grubCfgCmdlines(text: string): CmdlineLine[] {
  const out: CmdlineLine[] = [];
  for (const l of meaningfulLines(text)) {
    const m = /^\s*(linux|linux16|linuxefi)\s+(\S+)\s*(.*)$/.exec(l.text);
    if (m) out.push({ ...l, params: m[3]! });
  }
  return out;
}

/** `kernel` lines of a GRUB legacy menu.lst / grub.conf. */
export function grubLegacyCmdlines(text: string): CmdlineLine[] {
  const out: CmdlineLine[] = [];
  for (const l of meaningfulLines(text)) {
    const m = /^\s*kernel\s+(\S+)\s*(.*)$/.exec(l.text);
    if (m) out.push({ ...l, params: m[2]! });
  }
  return out;
}

/** GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub (shell syntax). */
export function defaultGrubCmdlines(text: string): CmdlineLine[] {
  const out: CmdlineLine[] = [];
  for (const l of meaningfulLines(text)) {
    const m = /^\s*(?:export\s+)?GRUB_CMDLINE_LINUX(?:_DEFAULT)?=(.*)$/.exec(l.text);
    if (!m) continue;
    let v = m[1]!.trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out.push({ ...l, params: v });
  }
  return out;
}

/** The `options` line of a Boot Loader Specification entry (/boot/loader/entries/*.conf). */
export function blsCmdlines(text: string): CmdlineLine[] {
  const out: CmdlineLine[] = [];
  for (const l of meaningfulLines(text)) {
    const m = /^\s*options\s+(.*)$/.exec(l.text);
    if (m) out.push({ ...l, params: m[1]! });
  }
  return out;
}

/** /etc/kernel/cmdline: the whole (first meaningful) line. */
export function kernelCmdlineFile(text: string): CmdlineLine[] {
  return meaningfulLines(text).slice(0, 1).map((l) => ({ ...l, params: l.text.trim() }));
}

/** SELINUX= and SELINUXTYPE= of /etc/selinux/config. */
export function parseSelinuxConfig(text: string): { mode: 'enforcing' | 'permissive' | 'disabled' | null; policy: string | null; modeLine: ConfigLine | null } {
  let mode: 'enforcing' | 'permissive' | 'disabled' | null = null;
  let policy: string | null = null;
  let modeLine: ConfigLine | null = null;
  for (const l of meaningfulLines(text)) {
    const m = /^\s*SELINUX=\s*"?([A-Za-z]+)"?\s*$/.exec(l.text);
    if (m) {
      const v = m[1]!.toLowerCase();
      if (v === 'enforcing' || v === 'permissive' || v === 'disabled') {
        mode = v;
        modeLine = l;
      }
    }
    const t = /^\s*SELINUXTYPE=\s*"?([A-Za-z0-9_-]+)"?\s*$/.exec(l.text);
    if (t) policy = t[1]!;
  }
  return { mode, policy, modeLine };
}

export interface LvmFilterSetting extends ConfigLine {
  patterns: string[];
}

export interface LvmConf {
  useDevicesFile: boolean | null;
  useDevicesFileLine: ConfigLine | null;
  filter: LvmFilterSetting | null;
  globalFilter: LvmFilterSetting | null;
}

/**
 * The settings of lvm.conf(5)'s `devices { }` section that decide which disks LVM looks at:
 * filter, global_filter (string arrays, possibly over several lines) and use_devicesfile.
 * Comments (`#` to the end of the line, outside strings) are ignored.
 */
export function parseLvmConf(text: string): LvmConf {
  const lines = text.split('\n');
  // Strip comments outside double-quoted strings, keeping line structure.
  const clean = lines.map((l) => {
    let inStr = false;
    for (let i = 0; i < l.length; i++) {
      const c = l[i];
      if (c === '"' && l[i - 1] !== '\\') inStr = !inStr;
      else if (c === '#' && !inStr) return l.slice(0, i);
    }
    return l;
  });
  const res: LvmConf = { useDevicesFile: null, useDevicesFileLine: null, filter: null, globalFilter: null };
  let section: string | null = null;
  let depth = 0;
  for (let i = 0; i < clean.length; i++) {
    const l = clean[i]!;
    const open = /^\s*([A-Za-z_]+)\s*\{/.exec(l);
    if (open && depth === 0) {
      section = open[1]!;
      depth = 1;
      if (l.includes('}')) {
        depth = 0;
        section = null;
      }
      continue;
    }
    if (depth > 0) {
      depth += (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
      if (depth <= 0) {
        depth = 0;
        section = null;
        continue;
      }
    }
    if (section !== 'devices') continue;
    const u = /^\s*use_devicesfile\s*=\s*(\d+)/.exec(l);
    if (u) {
      res.useDevicesFile = u[1] !== '0';
      res.useDevicesFileLine = { line: i + 1, text: lines[i]! };
    }
    const f = /^\s*(filter|global_filter)\s*=\s*(.*)$/.exec(l);
    if (f) {
      // Gather the array up to its closing bracket.
      let value = f[2]!;
      let j = i;
      while (!value.includes(']') && j + 1 < clean.length) value += ' ' + clean[++j]!;
      const patterns = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      const setting: LvmFilterSetting = { line: i + 1, text: lines[i]!, patterns };
      if (f[1] === 'filter') res.filter = setting;
      else res.globalFilter = setting;
    }
  }
  return res;
}

/**
 * Whether an LVM filter accepts a device path (lvm.conf(5): the first pattern that matches
 * decides, `a` accepts and `r` rejects; a device no pattern matches is accepted). A pattern is
 * `a` or `r`, a delimiter, a regular expression, the same delimiter. Patterns that are not valid
 * JavaScript regular expressions are skipped.
 */
export function lvmFilterAccepts(patterns: readonly string[], device: string): boolean {
  for (const p of patterns) {
    const kind = p[0];
    const delim = p[1];
    if ((kind !== 'a' && kind !== 'r') || !delim) continue;
    const end = p.lastIndexOf(delim);
    if (end <= 1) continue;
    let re: RegExp;
    try {
      re = new RegExp(p.slice(2, end));
    } catch {
      continue;
    }
    if (re.test(device)) return kind === 'a';
  }
  return true;
}

export interface DevicesFileEntry extends ConfigLine {
  idtype: string | null;
  idname: string | null;
  devname: string | null;
  pvid: string | null;
}

/** /etc/lvm/devices/system.devices: one `KEY=VALUE ...` line per device (lvmdevices(8)). */
export function parseDevicesFile(text: string): DevicesFileEntry[] {
  const out: DevicesFileEntry[] = [];
  for (const l of meaningfulLines(text)) {
    const kv: Record<string, string> = {};
    for (const m of l.text.matchAll(/([A-Z_]+)=(\S*)/g)) kv[m[1]!] = m[2]!;
    if (!('IDTYPE' in kv) && !('PVID' in kv)) continue;
    out.push({ ...l, idtype: kv.IDTYPE ?? null, idname: kv.IDNAME ?? null, devname: kv.DEVNAME ?? null, pvid: kv.PVID ?? null });
  }
  return out;
}

/** The name a guest kernel will give a disk partition on the target bus: sda2 → vda2 on virtio-blk. */
export function targetDeviceName(device: string, bus: 'virtio-blk' | 'virtio-scsi' | 'sata'): string {
  const m = /^\/dev\/(?:sd|hd|vd|xvd)([a-z]+)(\d*)$/.exec(device);
  if (!m) return device;
  return `/dev/${bus === 'virtio-blk' ? 'vd' : 'sd'}${m[1]}${m[2]}`;
}
