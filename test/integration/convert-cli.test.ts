/**
 * `h2k-worker convert` as a technician types it (a real process, a real data folder, the real
 * qemu-img, the fixture disks): the format follows the destination's extension, contradictions
 * and impossible requests are refused with a clear message and exit 2 before any job exists,
 * a package without --member is converted disk by disk into a folder, and the summary shows the
 * source untouched with its size and ISO 8601 mtime.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerError } from '../../shared/errors';
import { REPO } from '../support/helpers';
import { fixtures } from '../support/fixtures';
import { compareImages, convertSpec, qemuImg, runConvert, sha256Of } from './convert-helpers';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// `--import tsx` would resolve tsx from the working folder: give the loader's own path.
const tsx = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
function cli(args: string[], cwd: string) {
  return execa(process.execPath, ['--import', tsx, join(REPO, 'electron/cli/entry.ts'), '--data-dir', join(cwd, 'cli-data'), ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });
}

/** A fresh working folder. */
function work(): string {
  return mkdtempSync(join(dir, 'w-'));
}

/** The jobs the data folder holds (a refusal before any job leaves none). */
async function jobCount(cwd: string): Promise<number> {
  const r = await cli(['list', '--json'], cwd);
  return (JSON.parse(String(r.stdout)) as { total: number }).total;
}

async function formatOf(path: string): Promise<string> {
  const r = await qemuImg('info', '-U', '--output=json', '--', path);
  return (JSON.parse(r.stdout) as { format: string }).format;
}

describe('the output format', () => {
  it('comes from the destination extension when --format is not given', async () => {
    const cwd = work();
    const source = fixtures['pattern-qcow2'];
    for (const [name, format] of [
      ['out.vhd', 'vpc'],
      ['out.img', 'raw'],
      ['out.vdi', 'vdi'],
    ] as const) {
      const r = await cli(['convert', source, name], cwd);
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(await formatOf(join(cwd, name))).toBe(format);
      expect(String(r.stdout)).toContain(`→ ${join(cwd, name)}  (${format}`);
      expect((await compareImages(source, 'qcow2', join(cwd, name), format)).exitCode).toBe(0);
    }
  });

  it('an explicit --format that contradicts the extension is refused, naming both: exit 2, no job, no file', async () => {
    const cwd = work();
    const r = await cli(['convert', fixtures['pattern-qcow2'], 'out.qcow2', '--format', 'raw'], cwd);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain("error: --format raw contradicts the destination's extension: out.qcow2 names a qcow2 file. [validation_failed]");
    expect(String(r.stderr)).toContain('hint: Drop --format (the extension .qcow2 chooses qcow2), or name the output .raw or .img for raw.');
    expect(existsSync(join(cwd, 'out.qcow2'))).toBe(false);
    expect(await jobCount(cwd)).toBe(0);
  });
});

describe('refusals before any job', () => {
  it('--subformat banana lists the valid subformats; no stack trace, no qemu-img message', async () => {
    const cwd = work();
    const r = await cli(['convert', fixtures['pattern-qcow2'], 'out.vmdk', '--subformat', 'banana'], cwd);
    expect(r.exitCode).toBe(2);
    const err = String(r.stderr);
    expect(err).toContain('error: --subformat banana is not a subformat of vmdk; valid: monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized. [validation_failed]');
    expect(err).not.toMatch(/\n\s+at |qemu-img|ZodError|Invalid option/);
    const vhdx = await cli(['convert', fixtures['pattern-qcow2'], 'out.vhdx', '--subformat', 'streamOptimized', '--json'], cwd);
    expect(vhdx.exitCode).toBe(2);
    expect(JSON.parse(String(vhdx.stdout))).toMatchObject({
      error: { code: 'validation_failed', message: '--subformat streamOptimized is not a subformat of vhdx; valid: dynamic, fixed.', fields: [{ path: '--subformat' }] },
    });
    expect(readdirSync(cwd).filter((n) => n.startsWith('out'))).toEqual([]);
    expect(await jobCount(cwd)).toBe(0);
  });

  it('a package of several disks to one file: "this is a package, its disks: …"', async () => {
    const cwd = work();
    const r = await cli(['convert', fixtures['ovf-vbox20-ova'], 'vm.qcow2'], cwd);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain('error: this is a package, its disks: sample-vm-disk001.vmdk, sample-vm-disk002.vmdk; give --member or a destination folder. [validation_failed]');
    expect(await jobCount(cwd)).toBe(0);
  });

  it('--member on a plain disk says what the disk is', async () => {
    const cwd = work();
    const source = fixtures['pattern-vmdk-streamOptimized'];
    const r = await cli(['convert', source, 'out.qcow2', '--member', 'disk1.vmdk'], cwd);
    expect(r.exitCode).toBe(2);
    expect(String(r.stderr)).toContain(`error: --member names a disk inside a package (.ova/.ovf), but ${source} is a vmdk disk image. [validation_failed]`);
    expect(await jobCount(cwd)).toBe(0);
  });

  it('several disks and a destination file: "several disks need a destination folder"', async () => {
    const cwd = work();
    writeFileSync(join(cwd, 'existing.qcow2'), 'not a disk');
    for (const dst of ['existing.qcow2', 'new.qcow2']) {
      const r = await cli(['convert', fixtures['pattern-qcow2'], fixtures['pattern-vdi'], dst], cwd);
      expect(r.exitCode).toBe(2);
      expect(String(r.stderr)).toContain(`error: several disks need a destination folder: ${join(cwd, dst)} is ${dst === 'existing.qcow2' ? 'a file' : 'a file name'}. [validation_failed]`);
    }
    expect(statSync(join(cwd, 'existing.qcow2')).size).toBe(10);
    expect(await jobCount(cwd)).toBe(0);
  });

  it('two outputs with one name are numbered from 1', async () => {
    const cwd = work();
    mkdirSync(join(cwd, 'out'));
    const r = await cli(['convert', fixtures['pattern-qcow2'], fixtures['pattern-raw'], fixtures['pattern-vdi'], 'out'], cwd);
    expect(r.exitCode).toBe(2);
    const err = String(r.stderr);
    expect(err).toContain(`error: disks 1, 2 and 3 would all be written to ${join(cwd, 'out', 'pattern.qcow2')}. [validation_failed]`);
    expect(err).toContain(`disk 1: ${fixtures['pattern-qcow2']}\n  disk 2: ${fixtures['pattern-raw']}\n  disk 3: ${fixtures['pattern-vdi']}`);
    expect(readdirSync(join(cwd, 'out'))).toEqual([]);
  });
});

describe('a package without --member', () => {
  it('converts every disk into the destination folder, each named after its member', async () => {
    const cwd = work();
    const ova = fixtures['ovf-vbox20-ova'];
    const before = sha256Of(ova);
    const r = await cli(['convert', ova, 'vm/', '--verify', 'compare'], cwd);
    // The folder must exist: the job says so (dest_not_writable) and fails with exit 1.
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout)).toContain(`The destination folder ${join(cwd, 'vm')} does not exist. [dest_not_writable]`);
    expect(String(r.stdout)).toContain(`hint: Create it first (mkdir -p ${join(cwd, 'vm')}), then run the command again; a destination ending with / names a folder, it does not create one.`);
    expect(String(r.stdout)).not.toMatch(/ENOENT|realpath/);
    expect(existsSync(join(cwd, 'vm'))).toBe(false);
    mkdirSync(join(cwd, 'vm'));
    const ok = await cli(['convert', ova, 'vm/', '--verify', 'compare'], cwd);
    expect(ok.exitCode, String(ok.stderr)).toBe(0);
    expect(readdirSync(join(cwd, 'vm')).sort()).toEqual(['sample-vm-disk001.qcow2', 'sample-vm-disk002.qcow2']);
    const folder = join(fixtures['ovf-vbox20'], '..');
    for (const n of ['sample-vm-disk001', 'sample-vm-disk002']) {
      expect((await compareImages(join(folder, `${n}.vmdk`), 'vmdk', join(cwd, 'vm', `${n}.qcow2`), 'qcow2')).exitCode).toBe(0);
      expect(String(ok.stdout)).toContain(`${ova} [${n}.vmdk]`);
    }
    expect(String(ok.stdout).match(/verified by compare: identical/g)).toHaveLength(2);
    expect(sha256Of(ova)).toBe(before);
  });
});

describe('the summary', () => {
  it('shows the source untouched with its size and ISO 8601 mtime', async () => {
    const cwd = work();
    const source = fixtures['pattern-vhd-dynamic'];
    const st = statSync(source, { bigint: true });
    const iso = `${new Date(Number(st.mtimeNs / 1_000_000n)).toISOString().slice(0, 19)}.${(st.mtimeNs % 1_000_000_000n).toString().padStart(9, '0')}Z`;
    const r = await cli(['convert', source, 'out.qcow2'], cwd);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain(`    source untouched: size ${st.size} bytes, mtime ${iso} (before = after)`);
    expect(String(r.stderr)).toContain(`disk 1: source untouched: size ${st.size} bytes, mtime ${iso} (before = after)`);
  });
});

describe('the same refusals for a spec (submit, REST, the app)', () => {
  it('a package without member lists its disks', async () => {
    const err = await runConvert(convertSpec({ disks: [{ source: fixtures['ovf-vbox20-ova'], output: join(dir, 'x.qcow2') }] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).info).toMatchObject({
      code: 'validation_failed',
      fields: [{ path: 'params.disks.0.member', message: 'this is a package, its disks: sample-vm-disk001.vmdk, sample-vm-disk002.vmdk; give member' }],
    });
  });

  it('a member on a plain disk says what the disk is', async () => {
    const source = fixtures['pattern-qcow2'];
    const err = await runConvert(convertSpec({ disks: [{ source, member: 'x.vmdk', output: join(dir, 'x.qcow2') }] })).catch((e: unknown) => e);
    expect((err as WorkerError).info).toMatchObject({ code: 'validation_failed', fields: [{ path: 'params.disks.0.member', message: `${source} is a qcow2 disk image, not a package (.ova/.ovf)` }] });
  });

  it('two disks onto one output: numbered from 1 in the message and the detail', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const output = join(out, 'same.qcow2');
    // The same spelling twice is refused by the spec itself; two spellings of one file reach the pre-flight.
    expect(() => convertSpec({ disks: [{ source: fixtures['pattern-qcow2'], output }, { source: fixtures['pattern-vdi'], output }] })).toThrow(`disks 1 and 2 would both write ${output}`);
    mkdirSync(join(out, 'sub'));
    const err = await runConvert(
      convertSpec({
        disks: [
          { source: fixtures['pattern-qcow2'], output },
          { source: fixtures['pattern-vdi'], output: `${out}/sub/../same.qcow2` },
        ],
      }),
    ).catch((e: unknown) => e);
    rmSync(join(out, 'sub'), { recursive: true });
    expect((err as WorkerError).info).toMatchObject({
      code: 'validation_failed',
      fields: [{ path: 'params.disks.1.output', message: `disks 1 and 2 would both write ${output}` }],
      detail: `disk 1: ${fixtures['pattern-qcow2']}\ndisk 2: ${fixtures['pattern-vdi']}\nboth write ${output}`,
    });
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('two convert commands at once on one data folder', () => {
  it('the second follows the first command\'s runner, takes over when that command leaves, and both finish', async () => {
    const cwd = work();
    // 18 MiB of data at 2 MiB/s: the first job runs for about 9 s.
    const first = cli(['convert', fixtures['pattern-qcow2'], join(cwd, 'a.qcow2'), '--rate-limit', String(2 * 1024 * 1024)], cwd);
    // The first command is the runner once its job runs (read in its store, read-only).
    const deadline = Date.now() + 60_000;
    const progressing = () => {
      const db = join(cwd, 'cli-data', 'h2k.sqlite');
      if (!existsSync(db)) return 0;
      const conn = new Database(db, { readonly: true, fileMustExist: true });
      try {
        return (conn.prepare("SELECT count(*) AS n FROM jobs WHERE state = 'PROGRESSING'").get() as { n: number }).n;
      } finally {
        conn.close();
      }
    };
    while (progressing() === 0) {
      if (Date.now() > deadline) throw new Error('the first job never ran');
      await new Promise((r) => setTimeout(r, 100));
    }
    const second = await cli(['convert', fixtures['pattern-vdi'], join(cwd, 'b.qcow2')], cwd);
    const one = await first;
    expect(one.exitCode, String(one.stderr)).toBe(0);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(String(second.stderr)).toMatch(/following job \S+, run by the data folder's runner \(pid \d+\)/);
    // Either the first command ran it before leaving, or the second took over: both are fine,
    // and which happened is said.
    expect(`${String(one.stderr)}\n${String(second.stderr)}`).toMatch(/this process now runs job|finishing 1 job\(s\) of other commands/);
    expect((await compareImages(fixtures['pattern-qcow2'], 'qcow2', join(cwd, 'a.qcow2'), 'qcow2')).exitCode).toBe(0);
    expect((await compareImages(fixtures['pattern-vdi'], 'vdi', join(cwd, 'b.qcow2'), 'qcow2')).exitCode).toBe(0);
    const left = await cli(['list', '--json', '--state', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING'], cwd);
    expect((JSON.parse(String(left.stdout)) as { total: number }).total).toBe(0);
  }, 120_000);
});
