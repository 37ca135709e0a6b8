/**
 * The host-wide cache of the slow capability probes (tool versions, qemu-img formats, the
 * appliance probe). One JSON file per user, not per data folder:
 * `$H2K_CACHE_DIR/capabilities-v1.json`, else `$XDG_CACHE_HOME/hyper2kvm-workbench/...`, else
 * `~/.cache/hyper2kvm-workbench/...`. Each entry carries the key it was probed under; an entry
 * whose key no longer matches is probed again. Written atomically (temp file + rename).
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ApplianceStatus } from '../../shared/protocol/capabilities';
import { ensureDir } from '../paths';

export const CACHE_FILE_NAME = 'capabilities-v1.json';
export const CACHE_SUBDIR = 'hyper2kvm-workbench';

/** Identity of a binary: absolute path, size (bytes) and mtime (ms since the epoch), from stat(2). */
export const FileStamp = z.object({ path: z.string(), size: z.number(), mtime_ms: z.number() });
export type FileStamp = z.infer<typeof FileStamp>;

/** What an appliance probe depends on; a change in any of it re-probes. */
export const ApplianceKey = z.object({
  kernel: z.string().describe('uname -r of the running kernel'),
  boot_kernels: z.array(z.string()).describe('vmlinuz-* in /boot, which supermin builds the appliance from'),
  kvm_present: z.boolean(),
  kvm_accessible: z.boolean(),
  backend: z.string().describe('LIBGUESTFS_BACKEND of the probe'),
  guestfish: FileStamp,
  qemu: FileStamp.nullable().describe('qemu-system-<arch> (or LIBGUESTFS_HV) that libguestfs runs'),
});
export type ApplianceKey = z.infer<typeof ApplianceKey>;

export const CacheFile = z.object({
  version: z.literal(1),
  tools: z.record(z.string(), z.object({ key: FileStamp, version: z.string().nullable(), probed_at: z.iso.datetime() })),
  qemu_img_formats: z.object({ key: FileStamp, formats: z.array(z.string()), probed_at: z.iso.datetime() }).nullable(),
  appliance: z.object({ key: ApplianceKey, status: ApplianceStatus, probed_at: z.iso.datetime() }).nullable(),
});
export type CacheFile = z.infer<typeof CacheFile>;

export function emptyCache(): CacheFile {
  return { version: 1, tools: {}, qemu_img_formats: null, appliance: null };
}

/**
 * The cache folder: `explicit` (the cacheDir option), else $H2K_CACHE_DIR, else
 * $XDG_CACHE_HOME/hyper2kvm-workbench, else $HOME/.cache/hyper2kvm-workbench (os.homedir()).
 */
export function resolveCacheDir(env: Record<string, string | undefined>, explicit?: string): string {
  if (explicit) return explicit;
  if (env.H2K_CACHE_DIR) return env.H2K_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, CACHE_SUBDIR);
  return join(env.HOME || homedir(), '.cache', CACHE_SUBDIR);
}

/** stat(2) of a binary as a FileStamp, or null when it is gone. */
export function stamp(path: string | null): FileStamp | null {
  if (!path) return null;
  try {
    const s = statSync(path);
    return { path, size: s.size, mtime_ms: s.mtimeMs };
  } catch {
    return null;
  }
}

/** JSON with object keys sorted, so that equal keys compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Deep equality of two cache keys. */
export function sameKey(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The cache file's content, or an empty cache when it is missing, unreadable or of another shape. Never throws. */
export async function readCache(file: string): Promise<CacheFile> {
  try {
    const parsed = CacheFile.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : emptyCache();
  } catch {
    return emptyCache();
  }
}

/**
 * Write the cache atomically: a temp file in the same folder, then rename over the old one, so a
 * reader never sees half a file. Creates the folder (mode 0700). Throws on I/O errors.
 */
export async function writeCache(file: string, dir: string, data: CacheFile): Promise<void> {
  ensureDir(dir);
  const tmp = join(dir, `.${CACHE_FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(CacheFile.parse(data), null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
