/**
 * The external tools the worker uses: where to find them (PATH, then the sbin folders), how to
 * ask each for its version, and which Debian package brings it. Package names were checked with
 * `dpkg -S` / `apt-cache show` on Debian 12 (bookworm).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { ToolInfo, ToolName } from '../../shared/protocol/capabilities';
import { runTool } from '../tools/spawn';

/** Folders searched after PATH (root tools such as lvm and e2fsck live here on Debian). */
export const SBIN_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export interface ToolSpec {
  name: ToolName;
  /** Arguments that make the tool print its version; null when it has no version flag. */
  versionArgs: readonly string[] | null;
  /** Pulls the clean version out of stdout+stderr; the first capture group is the version. */
  versionPattern: RegExp;
  /** Debian package that ships the executable. */
  debianPackage: string;
  /** Extra words for the install hint (what else the package brings, say). */
  note?: string;
}

/** One entry per ToolName, in the order they are reported. */
export const TOOL_SPECS: readonly ToolSpec[] = [
  { name: 'qemu-img', versionArgs: ['--version'], versionPattern: /qemu-img version (\d+(?:\.\d+)+)/, debianPackage: 'qemu-utils' },
  { name: 'qemu-nbd', versionArgs: ['--version'], versionPattern: /qemu-nbd(?: version)? (\d+(?:\.\d+)+)/, debianPackage: 'qemu-utils' },
  { name: 'guestfish', versionArgs: ['--version'], versionPattern: /guestfish (\d+(?:\.\d+)+)/, debianPackage: 'libguestfs-tools', note: 'it brings guestfish and the libguestfs appliance' },
  { name: 'virt-inspector', versionArgs: ['--version'], versionPattern: /virt-inspector (\d+(?:\.\d+)+)/, debianPackage: 'libguestfs-tools', note: 'virt-inspector is in guestfs-tools, which it pulls in' },
  { name: 'virt-customize', versionArgs: ['--version'], versionPattern: /virt-customize (\d+(?:\.\d+)+)/, debianPackage: 'libguestfs-tools', note: 'virt-customize is in guestfs-tools, which it pulls in' },
  { name: 'virt-v2v', versionArgs: ['--version'], versionPattern: /virt-v2v (\d+(?:\.\d+)+)/, debianPackage: 'virt-v2v' },
  { name: 'lvm', versionArgs: ['version'], versionPattern: /LVM version:\s*(\d+(?:\.\d+)+)/, debianPackage: 'lvm2' },
  { name: 'mount', versionArgs: ['--version'], versionPattern: /util-linux (\d+(?:\.\d+)+)/, debianPackage: 'mount' },
  // setfiles (policycoreutils) has no version flag: its version stays null.
  { name: 'setfiles', versionArgs: null, versionPattern: /(\d+(?:\.\d+)+)/, debianPackage: 'policycoreutils' },
  { name: 'e2fsck', versionArgs: ['-V'], versionPattern: /e2fsck (\d+(?:\.\d+)+)/, debianPackage: 'e2fsprogs' },
  { name: 'xfs_repair', versionArgs: ['-V'], versionPattern: /xfs_repair version (\d+(?:\.\d+)+)/, debianPackage: 'xfsprogs' },
  { name: 'ntfsfix', versionArgs: ['--version'], versionPattern: /ntfsfix v?(\d+(?:\.\d+)+)/, debianPackage: 'ntfs-3g' },
];

/** The install hint of a missing tool, e.g. `install qemu-utils: apt-get install qemu-utils`. */
export function toolHint(spec: ToolSpec): string {
  const note = spec.note ? ` (${spec.note})` : '';
  return `install the ${spec.debianPackage} package${note}: apt-get install ${spec.debianPackage}`;
}

/** The folders searched for executables, in order: PATH, then SBIN_DIRS unless `sbin` is false. */
export function searchDirs(pathVar: string | undefined, sbin: boolean): string[] {
  const dirs = (pathVar ?? '').split(delimiter).filter((d) => d !== '' && isAbsolute(d));
  if (sbin) for (const d of SBIN_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs;
}

/** Absolute path of the first executable regular file called `name` in `dirs`, or null. */
export function findExecutable(name: string, dirs: readonly string[]): string | null {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * Run the tool with its version flag (10 s timeout, LC_ALL=C) and return the clean version, e.g.
 * `7.2.22` out of `qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)`. Null when the tool
 * has no version flag, cannot run, or prints nothing recognisable. Never throws.
 */
export async function probeToolVersion(spec: ToolSpec, path: string, env: Record<string, string | undefined>): Promise<string | null> {
  if (!spec.versionArgs) return null;
  try {
    const r = await runTool({ command: path, args: spec.versionArgs, env: { ...env, LC_ALL: 'C' }, timeoutMs: 10_000, graceMs: 1000 });
    return parseVersion(spec, r.stdout + '\n' + r.stderr);
  } catch {
    return null;
  }
}

/** The version out of a tool's version output (see probeToolVersion), or null. Pure. */
export function parseVersion(spec: ToolSpec, output: string): string | null {
  const m = spec.versionPattern.exec(output);
  return m?.[1] ?? null;
}

/**
 * The image formats qemu-img supports, from the `Supported formats:` line of `qemu-img --help`
 * (a space-separated list, e.g. `blkdebug ... qcow2 raw vdi vhdx vmdk vpc`). Empty when the line
 * is absent. Pure.
 */
export function parseQemuImgFormats(help: string): string[] {
  const m = /^Supported formats:(.*)$/m.exec(help);
  if (!m?.[1]) return [];
  return [...new Set(m[1].trim().split(/\s+/).filter(Boolean))];
}

/** Run `qemu-img --help` (10 s timeout) and parse its formats; empty on any failure. Never throws. */
export async function probeQemuImgFormats(path: string, env: Record<string, string | undefined>): Promise<string[]> {
  try {
    const r = await runTool({ command: path, args: ['--help'], env: { ...env, LC_ALL: 'C' }, timeoutMs: 10_000, graceMs: 1000 });
    return parseQemuImgFormats(r.stdout);
  } catch {
    return [];
  }
}

/** A found tool's info (path and version) or a missing tool's (with its hint). */
export function toolInfo(spec: ToolSpec, path: string | null, version: string | null): ToolInfo {
  return path
    ? { name: spec.name, available: true, path, version, hint: null }
    : { name: spec.name, available: false, path: null, version: null, hint: toolHint(spec) };
}
