/**
 * Image-level inspection (`guest: false`, no appliance) of every fixture format through the real
 * worker: store, runner, the inspect operation, real qemu-img. Each test asserts the exact facts
 * (format, subformat, virtual size in bytes, backing chain, extents), the finding ids raised and
 * not raised, and for bad inputs a clear error code with nothing left behind. The guest part is
 * covered by test/appliance/inspect-*.test.ts (one appliance per guest).
 */
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectionReport, type ErrorInfo, type JobSpecInput } from '../../shared/protocol';
import { dispatch } from '../../electron/worker/local-client';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { REPO, tempDir, waitFor } from '../support/helpers';
import { FACTS, fixtures, fixturesDir, type FixtureName, type ImageFact } from '../support/fixtures';

let data: ReturnType<typeof tempDir>;
let cache: ReturnType<typeof tempDir>;
let worker: Worker;
let before: Map<string, string>;

/** Every file under the fixtures folder with its size and mtime: inspection must change none. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.startsWith('.')) {
        const s = statSync(p);
        out.set(p, `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

const nbdLeftovers = () => readdirSync(tmpdir()).filter((n) => n.startsWith('h2k-nbd-'));

beforeAll(() => {
  data = tempDir('h2k-inspect-data-');
  cache = tempDir('h2k-inspect-cache-');
  worker = openWorker({ dataDir: data.path, cacheDir: cache.path, runner: { pollMs: 25 } });
  worker.startRunner();
  before = snapshot(fixturesDir());
});

afterAll(async () => {
  await worker.close();
  // Nothing of any job is left in the worker's scratch folder, and no fixture changed.
  expect(readdirSync(worker.scratchDir)).toEqual([]);
  expect(snapshot(fixturesDir())).toEqual(before);
  data.cleanup();
  cache.cleanup();
});

interface Outcome {
  state: string;
  report: InspectionReport | null;
  error: ErrorInfo | null;
  progress: string[];
  logs: string[];
}

async function inspect(disks: string[], params: Partial<Extract<JobSpecInput, { operation: 'inspect' }>['params']> = {}): Promise<Outcome> {
  const job = await dispatch(worker.service, 'jobs.submit', { spec: { operation: 'inspect', params: { guest: false, ...params, disks } } });
  await waitFor(() => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(worker.store.stateOf(job.id)), `inspect job ${job.id} to end`, 120_000);
  const d = await dispatch(worker.service, 'jobs.get', { id: job.id });
  const events = (await dispatch(worker.service, 'jobs.events', { id: job.id, after_seq: 0, limit: 5000 })).events;
  return {
    state: d.summary.state,
    report: d.result?.outcome === 'completed' ? InspectionReport.parse(d.result.payload) : null,
    error: d.result?.error ?? d.summary.error,
    progress: events.flatMap((e) => (e.type === 'progress' ? [e.stage] : [])),
    logs: events.flatMap((e) => (e.type === 'log' ? [e.message] : [])),
  };
}

const images = Object.entries(FACTS.images) as Array<[FixtureName, (typeof FACTS.images)[keyof typeof FACTS.images]]>;

describe('every image format, image level only', () => {
  it.each(images)('%s', async (name, fact) => {
    const t0 = performance.now();
    const o = await inspect([fixtures[name]]);
    const ms = performance.now() - t0;
    expect(o.state).toBe('COMPLETED');
    const r = o.report!;
    expect(r.disks).toHaveLength(1);
    const d = r.disks[0]!;
    expect(d.error).toBeNull();
    expect(d.source).toEqual({ kind: 'file', path: fixtures[name] });
    const img = d.image!;
    expect(img.format).toBe(fact.format);
    expect(img.virtual_size).toBe(fact.virtualSize);
    const f = fact as ImageFact;
    if (f.createType) {
      expect(img.subformat).toBe(f.createType);
      expect(img.extents.map((e) => e.path.split('/').at(-1))).toEqual((f.extents ?? []).map((e) => e.filename));
    }
    if (f.vhdType) expect(img.subformat).toBe(f.vhdType);
    if (f.backing) expect(img.backing_chain.map((b) => [b.named_as, b.format, b.exists])).toEqual([[f.backing.filename, f.backing.format, true]]);
    else expect(img.backing_chain).toEqual([]);
    expect(img.dirty).toBe(false);
    expect(img.measure?.qcow2.required_bytes).toBeGreaterThan(0);
    // No guest part asked for: no appliance, no findings for these clean images.
    expect(r.guest).toMatchObject({ status: 'skipped', reason: 'not asked for (guest: false)', appliance: null, roots: [] });
    expect(r.findings).toEqual([]);
    expect(r.summary).toEqual({ blockers: 0, warnings: 0, infos: 0 });
    expect(r.timings.guest_s).toBeNull();
    // Image facts arrive first, as events.
    expect(o.progress[0]).toBe('image');
    expect(o.logs.some((l) => l.startsWith(`disk-1 ${fixtures[name]}: ${fact.format}`))).toBe(true);
    console.info(`[inspect image-level] ${name}: ${ms.toFixed(0)} ms job, ${(r.timings.image_s * 1000).toFixed(0)} ms image facts`);
  });

  it('several disks of one VM in one job, numbered in order', async () => {
    const o = await inspect([fixtures['twodisk-sda'], fixtures['twodisk-sdb']]);
    expect(o.report!.disks.map((d) => [d.disk_id, d.image!.virtual_size])).toEqual([
      ['disk-1', FACTS.twodisk.sdaSize],
      ['disk-2', FACTS.twodisk.sdbSize],
    ]);
  });

  it('paths with spaces, and starting with a dash', async () => {
    for (const name of ['bad-space-path', 'bad-dash-path'] as const) {
      const o = await inspect([fixtures[name]]);
      expect(o.state).toBe('COMPLETED');
      expect(o.report!.disks[0]!.image).toMatchObject({ path: fixtures[name], format: 'vmdk' });
    }
  });

  it('a blank disk', async () => {
    const o = await inspect([fixtures['bad-blank-qcow2']]);
    expect(o.report!.disks[0]!.image).toMatchObject({ format: 'qcow2', virtual_size: FACTS.bad.blankSize });
    expect(o.report!.findings).toEqual([]);
  });
});

describe('OVA and OVF packages', () => {
  it.each(Object.entries(FACTS.ovf.dialects))('%s, as .ova and as a folder with its .ovf', async (dialect, f) => {
    for (const kind of ['ova', 'ovf'] as const) {
      const path = kind === 'ova' ? fixtures[`ovf-${dialect}-ova` as FixtureName] : fixtures[`ovf-${dialect}` as FixtureName];
      const o = await inspect([path]);
      expect(o.state).toBe('COMPLETED');
      const r = o.report!;
      expect(r.packages).toHaveLength(1);
      const p = r.packages[0]!;
      expect(p.kind).toBe(kind);
      expect(p.manifest).toMatchObject({ present: true, checked: true, ok: true });
      expect(p.hardware.name).toBe(FACTS.ovf.vmName);
      expect(p.hardware.firmware === 'uefi' ? 'efi' : 'bios').toBe(f.firmware);
      expect(p.disks.map((d) => [d.file, d.capacity_bytes])).toEqual(f.disks.map((d) => [d.href, d.capacity]));
      expect(r.disks.map((d) => [d.source.kind, d.image?.format, d.image?.virtual_size, d.error])).toEqual(f.disks.map((d) => ['package', 'vmdk', d.capacity, null]));
      if (kind === 'ova') expect(r.disks[0]!.source).toMatchObject({ kind: 'package', package: path, location: { kind: 'tar', tar_path: path } });
      expect(r.findings).toEqual([]);
    }
  });

  it('the Debian OVA: VMware hardware (CPUs, memory, NIC, controllers, OS type)', async () => {
    const o = await inspect([fixtures['debian-ova']]);
    const p = o.report!.packages[0]!;
    expect(p).toMatchObject({ kind: 'ova', dialect: 'ovftool', manifest: { present: true, checked: true, ok: true } });
    expect(p.hardware).toMatchObject({ cpus: 2, memory_bytes: 2147483648, os_type: 'debian12_64Guest', nics: [{ type: 'vmxnet3' }] });
    expect(p.hardware.controllers[0]).toEqual({ type: 'scsi', subtype: 'pvscsi' });
    expect(o.report!.disks[0]!.image).toMatchObject({ format: 'vmdk', subformat: 'streamOptimized', virtual_size: FACTS.debian.virtualSize });
  });
});

describe('damaged images: the job completes, the disk carries the error code, a blocker says what to do', () => {
  it.each([
    ['bad-truncated-vmdk', 'image_truncated', 'image-truncated'],
    ['bad-missing-extent-vmdk', 'extent_missing', 'extent-missing'],
    ['bad-missing-backing-qcow2', 'backing_missing', 'backing-missing'],
    ['bad-json-backing-qcow2', 'backing_refused', 'backing-refused'],
    ['bad-l1-qcow2', 'image_corrupt', 'image-corrupt'],
  ] as const)('%s → %s', async (name, code, id) => {
    const o = await inspect([fixtures[name]], { guest: true });
    expect(o.state).toBe('COMPLETED');
    const r = o.report!;
    expect(r.disks[0]).toMatchObject({ image: null, error: { code } });
    expect(r.findings.map((f) => [f.id, f.severity, f.disk, f.remediation.kind])).toEqual([[id, 'blocker', 'disk-1', 'manual']]);
    // The guest needs every disk: it is skipped, no appliance was started.
    expect(r.guest).toMatchObject({ status: 'skipped', appliance: null });
    expect(r.guest.reason).toBe(`disk-1 (${code}) cannot be read, and the guest needs every disk of the VM`);
  });

  it('the missing names are in the error detail', async () => {
    const ext = await inspect([fixtures['bad-missing-extent-vmdk']]);
    expect(ext.report!.disks[0]!.error!.detail).toContain(FACTS.bad.missingExtent);
    const back = await inspect([fixtures['bad-missing-backing-qcow2']]);
    expect(back.report!.disks[0]!.error!.detail).toContain(FACTS.bad.missingBacking);
  });
});

describe('bad input: the job fails with a clear code', () => {
  it.each([
    ['bad-not-an-image', 'not_an_image'],
    ['bad-magic-qcow2', 'not_an_image'],
    ['bad-evil-ova', 'unsafe_package'],
    ['bad-evil-absolute-ova', 'unsafe_package'],
    ['bad-evil-symlink-ova', 'unsafe_package'],
    ['bad-xxe-ovf', 'xml_entity_refused'],
    ['bad-entity-expansion-ovf', 'xml_entity_refused'],
  ] as const)('%s → %s', async (name, code) => {
    const o = await inspect([fixtures[name]]);
    expect(o.state).toBe('FAILED');
    expect(o.error?.code).toBe(code);
    expect(o.report).toBeNull();
  });

  it('a missing file, and a destination that is not a folder', async () => {
    expect((await inspect(['/nonexistent/vm/disk.vmdk'])).error?.code).toBe('source_missing');
    expect((await inspect([fixtures['pattern-qcow2']], { dest: '/nonexistent/dest' })).error?.code).toBe('dest_not_writable');
  });

  it('leaves nothing behind: no NBD sockets, an empty scratch folder', () => {
    expect(nbdLeftovers()).toEqual([]);
    expect(readdirSync(worker.scratchDir)).toEqual([]);
  });
});

describe('destination space', () => {
  it('compares measure\'s qcow2 required bytes with the free space at --dest', async () => {
    const dest = tempDir('h2k-dest-');
    try {
      const o = await inspect([fixtures['debian-qcow2'], fixtures['pattern-qcow2']], { dest: dest.path });
      const r = o.report!;
      const required = r.disks.reduce((n, d) => n + d.image!.measure!.qcow2.required_bytes, 0);
      expect(r.destination).toMatchObject({ path: dest.path, required_bytes: required, enough: true });
      expect(r.destination!.free_bytes).toBeGreaterThan(required);
      expect(r.findings.map((f) => f.id)).not.toContain('dest-no-space');
    } finally {
      dest.cleanup();
    }
  });
});

describe('h2k-worker inspect --no-guest --json', () => {
  it('prints one InspectionReport that validates against docs/protocol/InspectionReport.json', async () => {
    const schema = JSON.parse((await import('node:fs')).readFileSync(join(REPO, 'docs/protocol/InspectionReport.json'), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const d = tempDir('h2k-inspect-cli-');
    try {
      const r = await execa(process.execPath, ['--import', 'tsx', join(REPO, 'electron/cli/entry.ts'), 'inspect', '--no-guest', '--json', '--', fixtures['bad-dash-path'], fixtures['debian-vmdk-twoGbMaxExtentSparse']], {
        reject: false,
        cwd: REPO,
        env: { H2K_DATA_DIR: d.path, H2K_CACHE_DIR: cache.path },
      });
      expect(r.exitCode).toBe(0);
      const report = JSON.parse(r.stdout) as unknown;
      expect(validate(report), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
      expect((report as InspectionReport).disks.map((x) => x.image?.subformat)).toEqual(['monolithicSparse', 'twoGbMaxExtentSparse']);
      const bad = await execa(process.execPath, ['--import', 'tsx', join(REPO, 'electron/cli/entry.ts'), 'inspect', '--no-guest', '--json', fixtures['bad-evil-ova']], {
        reject: false,
        cwd: REPO,
        env: { H2K_DATA_DIR: d.path, H2K_CACHE_DIR: cache.path },
      });
      expect(bad.exitCode).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'unsafe_package', kind: 'user' } });
    } finally {
      d.cleanup();
    }
  });
});
