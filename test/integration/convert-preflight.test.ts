/**
 * Pre-flight of the convert operation with real images: broken sources (truncated, a missing
 * extent, a missing backing file) and refused outputs (existing, the input itself, a file of its
 * backing chain or one of its extents, an impossible setting, a missing folder) fail with their
 * own error codes before any output exists; the sources stay byte-identical.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerError } from '../../shared/errors';
import { nameMaxOf, temporaryName } from '../../electron/engine/ops/convert/preflight';
import { compareImages, convertSpec, hashFolder, MiB, qemuImg, randomRegions, runConvert, writeRegions } from './convert-helpers';

let dir: string;
let src: string;
let srcHashes: Record<string, string>;
const SIZE = 8 * MiB;

async function failsWith(params: Parameters<typeof convertSpec>[0], code: string): Promise<WorkerError> {
  const err = await runConvert(convertSpec(params)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(WorkerError);
  expect((err as WorkerError).code, (err as WorkerError).message).toBe(code);
  return err as WorkerError;
}

/** Make `name` in `dir` a copy of a fresh image in `fmt` built from the base raw disk. */
async function image(name: string, fmt: string, opts: string[] = []): Promise<string> {
  const p = join(dir, name);
  const r = await qemuImg('convert', '-f', 'raw', '-O', fmt, ...(opts.length ? ['-o', opts.join(',')] : []), src, p);
  expect(r.exitCode, r.stderr).toBe(0);
  return p;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-preflight-'));
  src = join(dir, 'base.raw');
  writeRegions(src, SIZE, randomRegions(SIZE, 5));
  srcHashes = hashFolder(dir);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The output folder holds nothing: no output, no temporary file. */
function empty(out: string): void {
  expect(readdirSync(out)).toEqual([]);
}

describe('broken sources fail before any output is created', () => {
  it.each([
    ['qcow2', 'qcow2', [] as string[]],
    ['vdi (qemu-img check does not see it)', 'vdi', []],
    ['vhdx', 'vhdx', []],
    ['vmdk monolithicSparse', 'vmdk', ['subformat=monolithicSparse']],
    ['vmdk streamOptimized', 'vmdk', ['subformat=streamOptimized']],
  ])('truncated %s: image_truncated', async (_label, fmt, opts) => {
    const p = await image(`trunc-${fmt}-${opts.join('')}.img`.replace(/=/g, '-'), fmt, opts);
    truncateSync(p, Math.floor(statSync(p).size / 2));
    const out = mkdtempSync(join(dir, 'out-'));
    const e = await failsWith({ disks: [{ source: p, output: join(out, 'x.qcow2') }] }, 'image_truncated');
    expect(e.info.detail).toContain(p);
    empty(out);
  });

  it('a flat vmdk whose extent was cut short: image_truncated', async () => {
    const p = await image('flat.vmdk', 'vmdk', ['subformat=monolithicFlat']);
    truncateSync(join(dir, 'flat-flat.vmdk'), 3 * MiB);
    const out = mkdtempSync(join(dir, 'out-'));
    const e = await failsWith({ disks: [{ source: p, output: join(out, 'x.qcow2') }] }, 'image_truncated');
    expect(e.info.detail).toContain('flat-flat.vmdk');
    empty(out);
  });

  it('a split vmdk without its extent: extent_missing, naming it', async () => {
    const p = await image('split.vmdk', 'vmdk', ['subformat=twoGbMaxExtentSparse']);
    rmSync(join(dir, 'split-s001.vmdk'));
    const out = mkdtempSync(join(dir, 'out-'));
    const e = await failsWith({ disks: [{ source: p, output: join(out, 'x.qcow2') }] }, 'extent_missing');
    expect(e.info.detail).toContain('split-s001.vmdk');
    empty(out);
  });

  it('a snapshot without its backing file: backing_missing, naming it', async () => {
    await image('gone-base.qcow2', 'qcow2');
    const top = join(dir, 'orphan.qcow2');
    expect((await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'gone-base.qcow2', '-F', 'qcow2', top)).exitCode).toBe(0);
    rmSync(join(dir, 'gone-base.qcow2'));
    const out = mkdtempSync(join(dir, 'out-'));
    const e = await failsWith({ disks: [{ source: top, output: join(out, 'x.qcow2') }] }, 'backing_missing');
    expect(e.info.detail).toContain('gone-base.qcow2');
    empty(out);
  });

  it('a qcow2 that qemu-img check finds corrupt: image_corrupt, with what check said', async () => {
    const p = await image('corrupt.qcow2', 'qcow2');
    // Zero the refcounts of the first clusters (header, refcount table, ...): check exit 2.
    const fd = openSync(p, 'r+');
    const head = Buffer.alloc(104);
    readSync(fd, head, 0, 104, 0);
    const table = Number(head.readBigUInt64BE(48));
    const entry = Buffer.alloc(8);
    readSync(fd, entry, 0, 8, table);
    writeSync(fd, Buffer.alloc(8), 0, 8, Number(entry.readBigUInt64BE(0)));
    closeSync(fd);
    const out = mkdtempSync(join(dir, 'out-'));
    const e = await failsWith({ disks: [{ source: p, output: join(out, 'x.qcow2') }] }, 'image_corrupt');
    expect(e.info.detail).toMatch(/4 corruption\(s\).*ERROR cluster 0 refcount=0 reference=1/s);
    empty(out);
  });

  it('a source that does not exist: source_missing', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    await failsWith({ disks: [{ source: join(dir, 'nope.vmdk'), output: join(out, 'x.qcow2') }] }, 'source_missing');
    empty(out);
  });
});

describe('refused outputs', () => {
  it('an existing output is kept unless overwrite is asked, then replaced', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const target = join(out, 'disk.qcow2');
    writeFileSync(target, 'precious');
    await failsWith({ disks: [{ source: src, output: target }] }, 'output_exists');
    expect(readdirSync(out)).toEqual(['disk.qcow2']);
    const { output } = await runConvert(convertSpec({ disks: [{ source: src, output: target }], overwrite: true }));
    expect(output.artifacts[0]!.path).toBe(target);
    expect((await qemuImg('compare', '-f', 'raw', '-F', 'qcow2', src, target)).exitCode).toBe(0);
    expect(readdirSync(out)).toEqual(['disk.qcow2']);
  });

  it('existing extents of a split vmdk output count as an existing output', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    writeFileSync(join(out, 'disk-s001.vmdk'), 'old extent');
    await failsWith({ disks: [{ source: src, output: join(out, 'disk.vmdk') }], format: 'vmdk', vmdk_subformat: 'twoGbMaxExtentSparse' }, 'output_exists');
    expect(readdirSync(out)).toEqual(['disk-s001.vmdk']);
  });

  it('the output cannot be the source, even through a symlink or with overwrite', async () => {
    const raw = join(dir, 'self.img');
    copyFileSync(src, raw);
    await failsWith({ disks: [{ source: raw, output: raw }], format: 'raw', overwrite: true }, 'output_is_input');
    const link = join(mkdtempSync(join(dir, 'out-')), 'link.img');
    symlinkSync(raw, link);
    await failsWith({ disks: [{ source: raw, output: link }], format: 'raw', overwrite: true }, 'output_is_input');
  });

  it('nor a file of its backing chain, nor one of its extents', async () => {
    await image('chain-base.qcow2', 'qcow2');
    const top = join(dir, 'chain-top.qcow2');
    expect((await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'chain-base.qcow2', '-F', 'qcow2', top)).exitCode).toBe(0);
    await failsWith({ disks: [{ source: top, output: join(dir, 'chain-base.qcow2') }], overwrite: true }, 'output_is_input');
    const flat = await image('ext.vmdk', 'vmdk', ['subformat=monolithicFlat']);
    await failsWith({ disks: [{ source: flat, output: join(dir, 'ext-flat.vmdk') }], format: 'raw', overwrite: true }, 'output_is_input');
    // A vmdk output whose extent name would land on the source's extent.
    await failsWith({ disks: [{ source: flat, output: join(dir, 'ext.vmdk') }], format: 'vmdk', vmdk_subformat: 'monolithicFlat', overwrite: true }, 'output_is_input');
    expect(existsSync(join(dir, 'ext-flat.vmdk'))).toBe(true);
  });

  it('two disks of one job cannot share an output', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    // The same name twice is refused by the spec itself, before any job exists.
    expect(() => convertSpec({ disks: [{ source: src, output: join(out, 'a.qcow2') }, { source: src, output: join(out, 'a.qcow2') }] })).toThrow('disks 1 and 2 would both write');
    // Two spellings of one file only the file system can tell apart: the pre-flight refuses them.
    mkdirSync(join(out, 'sub'));
    const e = await failsWith({ disks: [{ source: src, output: join(out, 'a.qcow2') }, { source: src, output: `${out}/sub/../a.qcow2` }] }, 'validation_failed');
    expect(e.info.fields?.[0]).toEqual({ path: 'params.disks.1.output', message: `disks 1 and 2 would both write ${join(out, 'a.qcow2')}` });
    rmSync(join(out, 'sub'), { recursive: true });
    empty(out);
  });

  it('settings qemu-img refuses are named by their field', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    // The spec refuses them at submit ...
    expect(() => convertSpec({ disks: [{ source: src, output: join(out, 'a.qcow2') }], qcow2: { compat: '0.10', compression: 'zstd' } })).toThrow('zstd compression needs compat 1.1');
    // ... and the engine checks again, for a spec that reached it some other way.
    const spec = convertSpec({ disks: [{ source: src, output: join(out, 'a.qcow2') }] });
    spec.params.qcow2 = { ...spec.params.qcow2, compat: '0.10', compression: 'zstd' };
    const e = await runConvert(spec).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(WorkerError);
    expect((e as WorkerError).info).toMatchObject({ code: 'validation_failed', fields: [{ path: 'params.qcow2.compression', message: 'zstd compression needs compat 1.1' }] });
    empty(out);
  });

  it('a destination folder that does not exist: dest_not_writable', async () => {
    const missing = join(dir, 'no-such-folder');
    const e = await failsWith({ disks: [{ source: src, output: join(missing, 'a.qcow2') }] }, 'dest_not_writable');
    // Said in words, with what to do; no errno text (ENOENT, realpath).
    expect(e.info.message).toBe(`The destination folder ${missing} does not exist.`);
    expect(e.info.hint).toBe(`Create it first (mkdir -p ${missing}), then run the command again; a destination ending with / names a folder, it does not create one.`);
    expect(e.info.detail ?? null).toBeNull();
    expect(existsSync(missing)).toBe(false);
    // A file where the folder should be, and a path through a file, are said as such.
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const f1 = await failsWith({ disks: [{ source: src, output: join(file, 'a.qcow2') }] }, 'dest_not_writable');
    expect(f1.info.message).toBe(`The destination ${file} is a file, not a folder.`);
    const f2 = await failsWith({ disks: [{ source: src, output: join(file, 'sub', 'a.qcow2') }] }, 'dest_not_writable');
    expect(f2.info.message).toBe(`The destination ${join(file, 'sub')} is not a folder: part of its path is a file.`);
    rmSync(file);
  });
});

describe('the sources', () => {
  it('are byte-identical after all of the above', () => {
    const now = hashFolder(dir);
    for (const [name, hash] of Object.entries(srcHashes)) expect(now[name], name).toBe(hash);
    mkdirSync(join(dir, 'done'), { recursive: true });
  });
});

describe('output names longer than the file system takes', () => {
  it('a 306-byte file name: validation_failed in pre-flight with both numbers, nothing created', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const final = join(out, `${'a'.repeat(300)}.qcow2`);
    const e = await failsWith({ disks: [{ source: src, output: final }] }, 'validation_failed');
    expect(e.info.message).toBe('The output name is too long for its file system.');
    expect(e.info.fields).toEqual([{ path: 'params.disks.0.output', message: `${final}: the file name is 306 bytes; at most 255 on this filesystem` }]);
    empty(out);
  });

  it('a name that fits but whose vmdk extent names would not: refused counting the extent suffix', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    // A 252-byte name fits; qemu-img's extent `NAME-s001.vmdk` is 5 bytes longer: 257.
    const final = join(out, `${'b'.repeat(247)}.vmdk`);
    const e = await failsWith({ disks: [{ source: src, output: final }], format: 'vmdk', vmdk_subformat: 'twoGbMaxExtentSparse' }, 'validation_failed');
    expect(e.info.fields).toEqual([
      {
        path: 'params.disks.0.output',
        message: `${final}: the file name is 252 bytes; at most 250 on this filesystem, counting the extent suffix qemu-img adds (${'b'.repeat(247)}-s001.vmdk, 257 bytes, at most 255)`,
      },
    ]);
    empty(out);
  });

  it('a 255-byte name converts: the temporary name falls back to a short one that fits', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    const final = join(out, `${'c'.repeat(249)}.qcow2`);
    const spec = convertSpec({ disks: [{ source: src, output: final }] });
    const declared: string[] = [];
    await runConvert(spec, {
      onProgress: (p) => {
        if (p.stage === 'copy' && !declared.length) declared.push(...readdirSync(out));
      },
    });
    // The full `.NAME.h2k-partial-JOBID` would be 279 bytes: written as `.h2k-partial-JOBID-HASH`.
    expect(declared).toHaveLength(1);
    expect(declared[0]).toMatch(new RegExp(`^\\.h2k-partial-${spec.id}-[0-9a-f]{12}$`));
    expect(temporaryName(basename(final), spec.id!)).toBe(declared[0]);
    expect(readdirSync(out)).toEqual([basename(final)]);
    expect((await compareImages(src, 'raw', final, 'qcow2')).exitCode).toBe(0);
  });

  it('the longest name a folder takes is found without creating anything', async () => {
    const out = mkdtempSync(join(dir, 'out-'));
    expect(await nameMaxOf(out)).toBe(255);
    empty(out);
  });
});
