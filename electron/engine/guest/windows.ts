/**
 * The facts of one Windows root, through the same session (no virt-win-reg, no second
 * appliance): hiberfil.sys and its header, Fast Startup (HiberbootEnabled) and the virtio
 * services from the SYSTEM hive read with libguestfs' hivex-* commands, and the virtio driver
 * files in System32\drivers and the DriverStore. Paths are resolved case-insensitively with
 * `case-sensitive-path` (NTFS through ntfs-3g is case-sensitive for libguestfs).
 *
 * Not exercised against a real Windows guest on this project's machines (none can be built
 * here): the parsing helpers are unit-tested, the rules over hand-written facts.
 */
import { readFile, rm } from 'node:fs/promises';
import type { WindowsFacts } from '../../../shared/protocol';
import { parseString } from './gf-output';
import { exists, listDir } from './linux';
import type { GuestfishSession } from './session';

/** The value of a REG_DWORD as hivex-value-value prints it (4 raw little-endian bytes). */
export function dwordFromRaw(out: string): number | null {
  if (out.length !== 4) return null;
  const bytes: number[] = [];
  for (const ch of out) {
    const c = ch.charCodeAt(0);
    if (c > 0xff) return null;
    bytes.push(c);
  }
  return Buffer.from(bytes).readUInt32LE(0);
}

/** hiberfil.sys' first four bytes: `hibr`/`HIBR` (and `RSTR`, resuming) mean a hibernation image. */
export function hibernatedBySignature(sig: string | null): boolean | null {
  if (sig === null) return null;
  if (/^(hibr|rstr)$/i.test(sig)) return true;
  if (/^wake$/i.test(sig) || sig === '\0\0\0\0') return false;
  return null;
}

const REG_DWORD = 4;

async function resolveCi(s: GuestfishSession, path: string): Promise<string | null> {
  const r = await s.call('case-sensitive-path', [path]);
  if (!r.ok) return null;
  const p = parseString(r.out);
  if (!p) return null;
  return (await exists(s, p)) ? p : null;
}

/** Follow named children from `node`; null when one is missing (hivex returns 0 then). */
async function child(s: GuestfishSession, node: number, names: readonly string[]): Promise<number | null> {
  let cur = node;
  for (const n of names) {
    const r = await s.call('hivex-node-get-child', [cur, n]);
    const v = r.ok ? Number(r.out.trim()) : 0;
    if (!v) return null;
    cur = v;
  }
  return cur;
}

/** Windows facts of the root mounted at / now. `mountRefused` is ntfs-3g's refusal, if any. */
export async function collectWindows(s: GuestfishSession, root: string, mountRefused: string | null): Promise<WindowsFacts> {
  const [sysroot = null, ccs = null, hive = null] = await Promise.all(
    ['inspect-get-windows-systemroot', 'inspect-get-windows-current-control-set', 'inspect-get-windows-system-hive'].map(async (c) => {
      const r = await s.call(c, [root]);
      return r.ok ? parseString(r.out) : null;
    }),
  );

  // hiberfil.sys at the root of the system volume, and its signature.
  const hiberPath = await resolveCi(s, '/hiberfil.sys');
  let signature: string | null = null;
  if (hiberPath) {
    const local = s.scratchPath('.hdr');
    const r = await s.call('download-offset', [hiberPath, local, 0, 4]);
    if (r.ok) signature = (await readFile(local).catch(() => Buffer.alloc(0))).toString('latin1') || null;
    await rm(local, { force: true });
  }

  // Drivers: files and the services in the SYSTEM hive.
  const names = ['viostor', 'vioscsi', 'netkvm'] as const;
  const sr = sysroot ?? '/Windows';
  const driverFiles = await Promise.all(names.map((n) => resolveCi(s, `${sr}/System32/drivers/${n}.sys`)));
  const repo = await resolveCi(s, `${sr}/System32/DriverStore/FileRepository`);
  const repoNames = repo ? await listDir(s, repo) : [];

  let hiberboot: boolean | null = null;
  const services: Record<string, boolean | null> = { viostor: null, vioscsi: null, netkvm: null };
  if (hive && ccs) {
    const open = await s.call('hivex-open', [hive]);
    if (open.ok) {
      try {
        const rootNode = Number((await s.ok('hivex-root')).trim());
        const power = await child(s, rootNode, [ccs, 'Control', 'Session Manager', 'Power']);
        if (power) {
          const v = await s.call('hivex-node-get-value', [power, 'HiberbootEnabled']);
          const vh = v.ok ? Number(v.out.trim()) : 0;
          if (vh) {
            const type = await s.call('hivex-value-type', [vh]);
            const raw = await s.call('hivex-value-value', [vh]);
            const dw = type.ok && Number(type.out.trim()) === REG_DWORD && raw.ok ? dwordFromRaw(raw.out) : null;
            hiberboot = dw === null ? null : dw !== 0;
          } else hiberboot = false;
        }
        const servicesNode = await child(s, rootNode, [ccs, 'Services']);
        for (const n of names) services[n] = servicesNode ? (await child(s, servicesNode, [n])) !== null : null;
      } finally {
        await s.call('hivex-close');
      }
    }
  }

  return {
    systemroot: sysroot,
    current_control_set: ccs,
    hiberfil: { present: hiberPath !== null, signature, hibernated: hiberPath ? hibernatedBySignature(signature) : false },
    mount_refused: mountRefused,
    hiberboot_enabled: hiberboot,
    virtio_drivers: names.map((n, i) => ({
      name: n,
      files: [...(driverFiles[i] ? [driverFiles[i]!] : []), ...repoNames.filter((f) => f.toLowerCase().startsWith(`${n}.inf_`)).map((f) => `${repo}/${f}`)],
      service: services[n] ?? null,
    })),
  };
}
