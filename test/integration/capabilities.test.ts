// Capability detection on this machine, against the real facts: the real qemu-img, /dev/kvm,
// /proc/meminfo, the real cache file. No appliance is started here (probeAppliance: false); the
// appliance probe is tested in test/appliance/capabilities-appliance.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCapabilities, type DetectOptions } from '../../electron/capabilities/detect';
import { capabilityProvider } from '../../electron/worker/capability-provider';
import { supports } from '../../electron/capabilities/supports';
import { CacheFile } from '../../electron/capabilities/cache';
import { findExecutable, searchDirs } from '../../electron/capabilities/tools';
import { runTool } from '../../electron/tools/spawn';
import { WorkerCapabilities } from '../../shared/protocol/capabilities';
import { JobSpec } from '../../shared/protocol/job-spec';

let root: string;
let qemuImg: string;
let realVersionOutput: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'h2k-caps-it-'));
  const found = findExecutable('qemu-img', searchDirs(process.env.PATH, true));
  if (!found) throw new Error('qemu-img is not installed on this machine (apt-get install qemu-utils)');
  qemuImg = found;
  realVersionOutput = (await runTool({ command: qemuImg, args: ['--version'] })).stdout;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Options for a detection with its own cache folder and no appliance start. */
function opts(name: string, extra: Partial<DetectOptions> = {}): DetectOptions {
  return {
    dataDir: join(root, name, 'data-not-created'),
    scratchDir: join(root, name, 'scratch-not-created', 'deeper'),
    cacheDir: join(root, name, 'cache'),
    probeAppliance: false,
    ...extra,
  };
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

describe('capability detection on this machine', () => {
  it('finds qemu-img with its real version and formats', async () => {
    const caps = await detectCapabilities(opts('facts'));
    expect(() => WorkerCapabilities.parse(caps)).not.toThrow();
    const tool = caps.tools.find((t) => t.name === 'qemu-img');
    expect(tool).toMatchObject({ available: true, path: qemuImg, hint: null });
    expect(tool?.version).toMatch(/^\d+\.\d+(\.\d+)?$/);
    // `qemu-img version 7.2.22 (Debian ...)`: the clean version is exactly the one printed.
    expect(realVersionOutput).toContain(`qemu-img version ${tool?.version ?? '?'}`);
    for (const f of ['vmdk', 'vpc', 'vhdx', 'vdi', 'qcow2', 'raw']) expect(caps.qemu_img_formats).toContain(f);
    expect(caps.capabilities.find((c) => c.key === 'qemu_img')?.available).toBe(true);
  });

  it('reports the live facts of this machine', async () => {
    const caps = await detectCapabilities(opts('live'));
    expect(caps.kvm.device_present).toBe(existsSync('/dev/kvm'));
    if (!caps.kvm.device_accessible) expect(caps.kvm.hint).toBeTruthy();
    expect(caps.privileges.uid).toBe(process.getuid?.());
    expect(caps.privileges.root).toBe(process.getuid?.() === 0);
    expect(caps.resources.cpus).toBe(availableParallelism());
    const memTotalKb = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    expect(caps.resources.memory_total_bytes).toBe(memTotalKb * 1024);
    expect(caps.resources.memory_available_bytes).toBeGreaterThan(0);
    expect(caps.resources.memory_available_bytes).toBeLessThanOrEqual(caps.resources.memory_total_bytes);
    // Neither folder exists: both are measured at the nearest existing parent, and not created.
    expect(caps.resources.data_dir.path).toBe(root);
    expect(caps.resources.scratch_dir.path).toBe(root);
    expect(existsSync(join(root, 'live'))).toBe(true); // the cache folder's parent, made for the cache
    expect(existsSync(join(root, 'live', 'data-not-created'))).toBe(false);
    expect(caps.resources.data_dir.free_bytes).toBeGreaterThan(0);
    expect(caps.resources.data_dir.total_bytes).toBeGreaterThanOrEqual(caps.resources.data_dir.free_bytes ?? 0);
    const inContainer = existsSync('/.dockerenv') || existsSync('/run/.containerenv');
    if (inContainer) expect(caps.execution_mode.mode).not.toBe('host');
    expect(caps.execution_mode.evidence.length).toBeGreaterThan(0);
    expect(caps.nbd.module_loaded).toBe(existsSync('/sys/module/nbd'));
    if (!caps.nbd.module_loaded) expect(caps.nbd.hint).toContain('nbd');
    const enforce = existsSync('/sys/fs/selinux/enforce') ? readFileSync('/sys/fs/selinux/enforce', 'utf8').trim() : null;
    if (enforce !== null) expect(caps.selinux.state).toBe(enforce === '1' ? 'enforcing' : 'permissive');
    else if (!existsSync('/sys/fs/selinux') && !findExecutable('getenforce', searchDirs(process.env.PATH, true))) expect(caps.selinux.state).toBe('absent');
    // Without probeAppliance and without a cached probe, no appliance was started.
    expect(caps.appliance).toMatchObject({ probed: false, usable: false, attempts: [] });
    expect(caps.appliance.hint).toMatch(/not probed yet/);
    expect(caps.operations.find((o) => o.operation === 'convert')).toMatchObject({ implemented: true, runnable: true, reasons: [] });
  });

  it('caches the slow probes host-wide: a hit on the second call, much faster; refresh probes again', async () => {
    const o = opts('cache');
    const [first, t1] = await timed(() => detectCapabilities(o));
    expect(first.cache.hit).toBe(false);
    expect(first.cache.path).toBe(join(o.cacheDir ?? '', 'capabilities-v1.json'));
    const file = CacheFile.parse(JSON.parse(await readFile(first.cache.path, 'utf8')));
    expect(file.tools['qemu-img']?.key.path).toBe(qemuImg);

    const [second, t2] = await timed(() => detectCapabilities(o));
    expect(second.cache.hit).toBe(true);
    expect(second.cache.probed_at).toBe(first.cache.probed_at);
    expect(second.tools).toEqual(first.tools);
    expect(second.qemu_img_formats).toEqual(first.qemu_img_formats);
    expect(t2).toBeLessThan(t1 / 2);

    const third = await detectCapabilities({ ...o, refresh: true });
    expect(third.cache.hit).toBe(false);
    expect(third.cache.probed_at > first.cache.probed_at).toBe(true);
    expect(third.tools).toEqual(first.tools);
  });

  it('probes again when a keyed binary changes (a copy of qemu-img with another mtime)', async () => {
    const o = opts('key');
    await detectCapabilities(o); // fill the cache with the real qemu-img
    const bin = join(root, 'key', 'bin');
    await rm(bin, { recursive: true, force: true });
    await mkdir(bin, { recursive: true });
    const copy = join(bin, 'qemu-img');
    await copyFile(qemuImg, copy);
    await utimes(copy, new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };

    const a = await detectCapabilities({ ...o, env });
    expect(a.cache.hit).toBe(false);
    const tool = a.tools.find((t) => t.name === 'qemu-img');
    expect(tool?.path).toBe(copy);
    expect(realVersionOutput).toContain(`qemu-img version ${tool?.version ?? '?'}`);
    const key1 = CacheFile.parse(JSON.parse(await readFile(a.cache.path, 'utf8'))).tools['qemu-img']?.key;
    expect(key1).toMatchObject({ path: copy, mtime_ms: Date.parse('2001-02-03T04:05:06Z') });

    expect((await detectCapabilities({ ...o, env })).cache.hit).toBe(true);

    await utimes(copy, new Date('2002-02-03T04:05:06Z'), new Date('2002-02-03T04:05:06Z'));
    const c = await detectCapabilities({ ...o, env });
    expect(c.cache.hit).toBe(false);
    const key2 = CacheFile.parse(JSON.parse(await readFile(c.cache.path, 'utf8'))).tools['qemu-img']?.key;
    expect(key2?.mtime_ms).toBe(Date.parse('2002-02-03T04:05:06Z'));
    expect(key2).not.toEqual(key1);
  });

  it('reports every tool missing, with its package, when none is on PATH; convert is refused with the hint', async () => {
    const empty = await mkdtemp(join(root, 'empty-path-'));
    const caps = await detectCapabilities(opts('none', { env: { ...process.env, PATH: empty }, searchSbin: false }));
    for (const t of caps.tools) {
      expect(t, t.name).toMatchObject({ available: false, path: null, version: null });
      expect(t.hint, t.name).toMatch(/^install the \S+ package.*: apt-get install \S+$/);
    }
    const hint = (n: string) => caps.tools.find((t) => t.name === n)?.hint;
    expect(hint('qemu-img')).toBe('install the qemu-utils package: apt-get install qemu-utils');
    expect(hint('lvm')).toBe('install the lvm2 package: apt-get install lvm2');
    expect(hint('e2fsck')).toBe('install the e2fsprogs package: apt-get install e2fsprogs');
    expect(hint('xfs_repair')).toBe('install the xfsprogs package: apt-get install xfsprogs');
    expect(hint('ntfsfix')).toBe('install the ntfs-3g package: apt-get install ntfs-3g');
    expect(hint('setfiles')).toBe('install the policycoreutils package: apt-get install policycoreutils');
    expect(hint('guestfish')).toMatch(/apt-get install libguestfs-tools$/);
    expect(caps.qemu_img_formats).toEqual([]);
    expect(caps.appliance).toMatchObject({ probed: false, usable: false, attempts: [] });
    expect(caps.appliance.hint).toMatch(/guestfish not found.*libguestfs-tools/);
    expect(caps.cache.hit).toBe(false);

    const convert = JobSpec.parse({ operation: 'convert', params: { disks: [{ source: '/srv/a.vmdk', output: '/srv/a.qcow2' }] } });
    const v = supports(convert, caps);
    expect(v).toMatchObject({ runnable: false, implemented: true, code: 'capability_missing' });
    expect(v.reasons.join('\n')).toContain('apt-get install qemu-utils');
    expect(caps.operations.find((o) => o.operation === 'inspect')).toMatchObject({ runnable: false });
  });
});

describe('capabilityProvider', () => {
  it('reuses its last report within maxAgeS, detects again past it or without it', async () => {
    const o = opts('provider');
    const p = capabilityProvider({ dataDir: o.dataDir, scratchDir: o.scratchDir, cacheDir: o.cacheDir!, implemented: new Set(['inspect', 'convert']) });
    const first = await p.get();
    expect(await p.get({ maxAgeS: 60 })).toBe(first);
    await new Promise((r) => setTimeout(r, 20));
    const past = await p.get({ maxAgeS: 0.01 });
    expect(past).not.toBe(first);
    expect(Date.parse(past.detected_at)).toBeGreaterThan(Date.parse(first.detected_at));
    const plain = await p.get();
    expect(plain).not.toBe(past);
    expect(await p.get({ maxAgeS: 60, refresh: true })).not.toBe(plain);
  });
});
