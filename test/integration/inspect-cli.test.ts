/**
 * `h2k-worker inspect` as a technician runs it: a new process per command, a real data folder,
 * real qemu-img on fixture disks. What it prints (once, and in plain words) and its exit codes:
 * 0 a report, 1 the job failed or a disk is unusable, 2 bad usage before any job ran.
 */
import { copyFileSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../support/helpers';
import { fixtures } from '../support/fixtures';

let data: ReturnType<typeof tempDir>;
let work: ReturnType<typeof tempDir>;

const cli = (args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO, 'electron/cli/entry.ts'), 'inspect', ...args], { reject: false, cwd: REPO, env: { H2K_DATA_DIR: data.path } });

beforeAll(() => {
  data = tempDir('h2k-inspect-cli-data-');
  work = tempDir('h2k-inspect-cli-');
});
afterAll(() => {
  data.cleanup();
  work.cleanup();
});

describe('h2k-worker inspect (human output)', () => {
  it('a clean disk: exit 0, the report ends with the finding counts', async () => {
    const r = await cli(['--no-guest', fixtures['pattern-qcow2']]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('Findings: none');
    expect(lines.at(-1)).toBe('0 blockers, 0 warnings, 0 info');
    // The progress feed on stderr says the same at the end of the job.
    expect(r.stderr).toMatch(/done {2}100% {2}0 blockers, 0 warnings, 0 info/);
  });

  it("a truncated qcow2: qemu-img check's lines printed once, the counts last, exit 1 with the code", async () => {
    const disk = join(work.path, 'cut.qcow2');
    copyFileSync(fixtures['pattern-qcow2'], disk);
    truncateSync(disk, 300_000); // the header and tables survive, the clusters they point to do not
    expect(statSync(disk).size).toBe(300_000);
    const r = await cli(['--no-guest', disk]);
    expect(r.exitCode).toBe(1);
    const all = `${r.stdout}\n${r.stderr}`;
    const checkLine = 'ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x50000 size 0x10000';
    expect(all.split(checkLine).length - 1).toBe(1);
    expect(r.stdout).toContain(`      ${disk}: The disk image is shorter than its own header says: it was cut off. ${disk}: ${checkLine}`);
    expect(r.stdout).toContain('    UNUSABLE: The disk image is shorter than its own header says: it was cut off. [image_truncated] (the detail and what to do: its finding below)');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('1 blocker, 0 warnings, 0 info');
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('disk-1: image_truncated: The disk image is shorter than its own header says: it was cut off.');
  });

  it('a folder: not_an_image in plain words (not ovf_invalid), exit 1', async () => {
    const folder = join(work.path, 'vm-folder');
    mkdirSync(folder);
    const r = await cli(['--no-guest', folder]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`error: A folder is not a disk image. [not_an_image]\n  ${folder} is a folder, not a disk image (and it holds no .ovf descriptor)\n  hint: Give the disk files inside the folder (e.g. web01.vmdk), or the .ova/.ovf of the VM.`);
    expect(r.stderr).not.toContain('ovf_invalid');
    // Two descriptors: still no disk, and the names are given.
    for (const n of ['a.ovf', 'b.ovf']) copyFileSync(fixtures['ovf-vbox10'], join(folder, n));
    const two = await cli(['--no-guest', '--json', folder]);
    expect(two.exitCode).toBe(1);
    expect(JSON.parse(two.stdout)).toMatchObject({
      error: { code: 'not_an_image', message: 'A folder is not a disk image.', detail: `${folder} is a folder, not a disk image, and it holds 2 .ovf descriptors (a.ovf, b.ovf): which VM is meant is not clear` },
    });
  });

  it('bad usage: exit 2 before any job runs', async () => {
    const bus = await cli(['--target', 'ide', fixtures['pattern-qcow2']]);
    expect(bus.exitCode).toBe(2);
    expect(bus.stderr).toContain("error: option '--target <bus>' argument 'ide' is invalid. Allowed choices are virtio-blk, virtio-scsi, sata.");
    const none = await cli([]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("error: missing required argument 'disks'");
  });
});
