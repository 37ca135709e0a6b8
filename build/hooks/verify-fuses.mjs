// electron-builder afterAllArtifactBuild hook: read the fuse wire of every unpacked app this
// build produced and fail the build when a hardening fuse is not as build/electron-builder.yml
// sets it, so an app without them never ships unnoticed.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** FuseV1Options index → expected state (FuseState 48 disabled, 49 enabled). */
const EXPECTED = [
  { index: 0, name: 'RunAsNode', enabled: false },
  { index: 3, name: 'EnableNodeCliInspectArguments', enabled: false },
  { index: 2, name: 'EnableNodeOptionsEnvironmentVariable', enabled: false },
  { index: 5, name: 'OnlyLoadAppFromAsar', enabled: true },
  { index: 4, name: 'EnableEmbeddedAsarIntegrityValidation', enabled: true },
];
const ENABLE = 49;
const DISABLE = 48;

/**
 * Problems with a fuse wire (as @electron/fuses getCurrentFuseWire returns it); empty when all is well.
 * @param {Record<number, number>} wire
 * @returns {string[]}
 */
export function fuseProblems(wire) {
  const problems = [];
  for (const want of EXPECTED) {
    const state = wire[want.index];
    if (state === (want.enabled ? ENABLE : DISABLE)) continue;
    const now = state === ENABLE ? 'on' : state === DISABLE ? 'off' : `in state ${state}`;
    problems.push(`${want.name} is ${now}, expected ${want.enabled ? 'on' : 'off'}`);
  }
  return problems;
}

/**
 * The Electron executables of the unpacked apps in an output folder.
 * @param {string} outDir
 * @param {string} executableName
 * @param {string} productName
 */
export function unpackedExecutables(outDir, executableName, productName) {
  const found = [];
  if (!existsSync(outDir)) return found;
  for (const entry of readdirSync(outDir)) {
    const dir = join(outDir, entry);
    if (!/(-unpacked|^mac.*)$/.test(entry) || !statSync(dir).isDirectory()) continue;
    for (const candidate of [join(dir, executableName), join(dir, `${productName}.exe`), join(dir, `${productName}.app`)]) {
      if (existsSync(candidate)) found.push(candidate);
    }
  }
  return found;
}

/** @param {{ outDir: string, configuration?: { executableName?: string, productName?: string } }} result */
export default async function verifyFuses(result) {
  const { getCurrentFuseWire } = await import('@electron/fuses');
  const cfg = result.configuration ?? {};
  for (const exe of unpackedExecutables(result.outDir, cfg.executableName ?? 'hyper2kvm-workbench', cfg.productName ?? 'hyper2kvm Workbench')) {
    const problems = fuseProblems(await getCurrentFuseWire(exe));
    if (problems.length) throw new Error(`fuses of ${exe}: ${problems.join('; ')}`);
    console.log(`  • fuses verified  ${exe}`);
  }
  return [];
}
