import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertSettingProblems, JobSpec, type ConvertParams } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { qemuImgRun } from '../../../electron/tools/qemu-img';
import { runTool } from '../../../electron/tools/spawn';
import {
  buildCompareArgs,
  buildConvertArgs,
  buildCreateArgs,
  buildMeasureArgs,
  buildNbdCopyArgs,
  classifyConvertError,
  compareVerdict,
  extensionOf,
  extentNamePattern,
  measurePlan,
  parseQemuProgress,
  predictedExtentNames,
  progressStream,
  roundUpToMiB,
  targetSettings,
} from '../../../electron/tools/qemu-img-convert';

const captured = (name: string) => readFileSync(join(import.meta.dirname, 'captured', name), 'utf8');

function params(p: Record<string, unknown> = {}): ConvertParams {
  const spec = JobSpec.parse({ operation: 'convert', params: { disks: [{ source: '/s.vmdk', output: '/o.qcow2' }], ...p } });
  if (spec.operation !== 'convert') throw new Error('not convert');
  return spec.params;
}

describe('parseQemuProgress on captured qemu-img 7.2 output', () => {
  it('reads every update of a throttled convert (-p -r 8M), rising to 100', () => {
    const text = captured('progress-throttled.out');
    const { percents, rest } = parseQemuProgress(text);
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBe(100);
    expect(percents).toContain(3.32);
    expect(percents).toContain(57.92);
    expect(percents.length).toBe(text.split('\r').length - 1);
    for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThanOrEqual(percents[i - 1]!);
    expect(rest).toBe('');
  });

  it('gives the same result whatever the pipe cuts', () => {
    const text = captured('progress-throttled.out');
    const whole = parseQemuProgress(text).percents;
    for (const size of [1, 3, 7, 16, 64]) {
      const s = progressStream();
      const got: number[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)));
      got.push(...s.end());
      expect(got, `chunks of ${size}`).toEqual(whole);
    }
  });

  it('reads a fast convert and compare -p output', () => {
    expect(parseQemuProgress(captured('progress-fast.out')).percents.at(-1)).toBe(100);
    // compare prints the same updates; its verdict lines are not progress.
    expect(parseQemuProgress('    (12.50/100%)\rImages are identical.\n').percents).toEqual([12.5]);
  });

  it('keeps an update cut in half for the next chunk, and ignores other text', () => {
    const a = parseQemuProgress('    (1.00/100%)\r    (2.5');
    expect(a).toEqual({ percents: [1], rest: '    (2.5' });
    expect(parseQemuProgress(a.rest + '0/100%)\r').percents).toEqual([2.5]);
    expect(parseQemuProgress('qemu-img: warning: something (not 5/100%)\r').percents).toEqual([]);
    expect(parseQemuProgress('    (250.00/100%)\r').percents).toEqual([]);
  });
});

describe('target settings and convert arguments', () => {
  it('qcow2 by default: compat 1.1, fast and durable flags, -f explicit, -- before paths', () => {
    const p = params();
    const t = targetSettings(p);
    expect(t).toMatchObject({ format: 'qcow2', options: ['compat=1.1'], compress: false, singleFile: true });
    const args = buildConvertArgs({ source: '/in/-disk.vmdk', sourceFormat: 'vmdk', target: '/out/.x', target_settings: t, targetExists: false, targetIsZero: false, tuning: p.tuning, progress: true });
    expect(args).toEqual(['convert', '-p', '-f', 'vmdk', '-O', 'qcow2', '-t', 'writeback', '-o', 'compat=1.1', '-S', '4k', '-m', '8', '-W', '--', '/in/-disk.vmdk', '/out/.x']);
  });

  it('qcow2 with zstd, cluster size, lazy refcounts; rate limit; tuning off', () => {
    const p = params({ qcow2: { compression: 'zstd', cluster_size: 2 * 1024 * 1024, lazy_refcounts: true }, rate_limit_bps: 5_000_000, tuning: { out_of_order: false, coroutines: 2, cache: 'none', sparse: false } });
    const t = targetSettings(p);
    expect(t.options).toEqual(['compat=1.1', 'cluster_size=2097152', 'compression_type=zstd', 'lazy_refcounts=on']);
    const args = buildConvertArgs({ source: 's', sourceFormat: 'raw', target: 't', target_settings: t, targetExists: false, targetIsZero: false, rateLimitBps: p.rate_limit_bps, tuning: p.tuning, progress: false });
    expect(args).toEqual(['convert', '-f', 'raw', '-O', 'qcow2', '-t', 'none', '-o', 'compat=1.1,cluster_size=2097152,compression_type=zstd,lazy_refcounts=on', '-c', '-S', '0', '-m', '2', '-r', '5000000', '--', 's', 't']);
  });

  it('per format: vmdk subformats, vhdx, vpc (force_size), vdi, raw', () => {
    expect(targetSettings(params({ format: 'vmdk', vmdk_subformat: 'twoGbMaxExtentFlat' }))).toMatchObject({ options: ['subformat=twoGbMaxExtentFlat'], singleFile: false, sequential: false });
    expect(targetSettings(params({ format: 'vmdk', vmdk_subformat: 'streamOptimized' }))).toMatchObject({ singleFile: true, sequential: true });
    expect(targetSettings(params({ format: 'vhdx', vhdx_subformat: 'fixed' })).options).toEqual(['subformat=fixed']);
    expect(targetSettings(params({ format: 'vpc', vpc_subformat: 'fixed' })).options).toEqual(['subformat=fixed', 'force_size=on']);
    expect(targetSettings(params({ format: 'vdi' })).options).toEqual([]);
    expect(targetSettings(params({ format: 'raw' })).options).toEqual([]);
  });

  it('no -W for stream-optimized vmdk; -n --target-is-zero without -o for a created target', () => {
    const p = params({ format: 'vmdk', vmdk_subformat: 'streamOptimized' });
    expect(buildConvertArgs({ source: 's', sourceFormat: 'raw', target: 't', target_settings: targetSettings(p), targetExists: false, targetIsZero: false, tuning: p.tuning, progress: false })).not.toContain('-W');
    const v = params({ format: 'vpc', vpc_subformat: 'fixed', azure_round: true });
    const args = buildConvertArgs({ source: 's', sourceFormat: 'raw', target: 't', target_settings: targetSettings(v), targetExists: true, targetIsZero: true, tuning: v.tuning, progress: false });
    expect(args).toContain('-n');
    expect(args).toContain('--target-is-zero');
    expect(args).not.toContain('-o');
    expect(buildCreateArgs('t', targetSettings(v), roundUpToMiB(16 * 1024 * 1024 + 1))).toEqual(['create', '-q', '-f', 'vpc', '-o', 'subformat=fixed,force_size=on', '--', 't', String(17 * 1024 * 1024)]);
  });

  it('refuses what qemu-img 7.2 refuses, naming the field', () => {
    // JobSpec refuses these at submit (so they are set here past the schema): the engine checks again.
    const q = (qcow2: Partial<ConvertParams['qcow2']>): ConvertParams => ({ ...params(), qcow2: { ...params().qcow2, ...qcow2 } });
    expect(convertSettingProblems(q({ compat: '0.10', compression: 'zstd' }))).toEqual([{ path: 'params.qcow2.compression', message: 'zstd compression needs compat 1.1' }]);
    expect(convertSettingProblems(q({ compat: '0.10', lazy_refcounts: true }))[0]?.path).toBe('params.qcow2.lazy_refcounts');
    expect(convertSettingProblems(q({ compression: 'zlib', preallocation: 'metadata' }))[0]?.path).toBe('params.qcow2.preallocation');
    expect(convertSettingProblems(q({ compat: '0.10', compression: 'zlib' }))).toEqual([]);
    expect(() => params({ qcow2: { compat: '0.10', compression: 'zstd' } })).toThrow(/zstd compression needs compat 1.1/);
  });

  it('measures with qcow2 for every format qemu-img cannot measure', () => {
    expect(measurePlan(targetSettings(params()), true)).toEqual({ out: 'qcow2', options: ['compat=1.1'], use: 'required' });
    expect(measurePlan(targetSettings(params({ format: 'vdi' })), true).options).toEqual(['cluster_size=1048576']);
    expect(measurePlan(targetSettings(params({ format: 'raw' })), false)).toEqual({ out: 'raw', options: [], use: 'required' });
    expect(buildMeasureArgs('/a b', 'vmdk', 'qcow2', ['cluster_size=65536'])).toEqual(['measure', '--output=json', '-f', 'vmdk', '-O', 'qcow2', '-o', 'cluster_size=65536', '--', '/a b']);
  });
});

describe('vmdk extent names (as qemu-img 7.2 writes them)', () => {
  it('predicts prefix-sNNN.postfix, prefix-fNNN.postfix, prefix-flat.postfix', () => {
    // Observed: "my disk.vmdk" of 4600 MiB → my disk-s001..s003.vmdk; "a.b.img" → a.b-flat.img; "noext" → noext-s001.
    expect(predictedExtentNames('my disk.vmdk', 'twoGbMaxExtentSparse', 4600 * 1024 * 1024)).toEqual(['my disk-s001.vmdk', 'my disk-s002.vmdk', 'my disk-s003.vmdk']);
    expect(predictedExtentNames('my disk.vmdk', 'twoGbMaxExtentFlat', 2 * 1024 ** 3)).toEqual(['my disk-f001.vmdk']);
    expect(predictedExtentNames('a.b.img', 'monolithicFlat', 1)).toEqual(['a.b-flat.img']);
    expect(predictedExtentNames('noext', 'twoGbMaxExtentSparse', 1)).toEqual(['noext-s001']);
    expect(predictedExtentNames('x.vmdk', 'monolithicSparse', 1)).toEqual([]);
    const re = extentNamePattern('my disk.vmdk');
    expect(['my disk-s001.vmdk', 'my disk-f012.vmdk', 'my disk-flat.vmdk'].every((n) => re.test(n))).toBe(true);
    expect(['my disk.vmdk', 'my disk-s1.vmdk', 'other-s001.vmdk', 'my disk-s001.vmdkx'].some((n) => re.test(n))).toBe(false);
  });
});

describe('compare, qemu-nbd and errors', () => {
  it('reads compare verdicts from captured output', () => {
    expect(compareVerdict(0, captured('compare-identical.out'), '')).toEqual({ identical: true, detail: 'Images are identical.' });
    expect(compareVerdict(1, captured('compare-differ.out'), '')).toEqual({ identical: false, detail: 'Content mismatch at offset 12345344!' });
    expect(compareVerdict(0, captured('compare-bigger.out'), '')).toEqual({ identical: true, detail: 'Warning: Image size mismatch!; Images are identical.' });
    expect(compareVerdict(2, '', "qemu-img: Could not open 'x': No such file")).toHaveProperty('error', true);
    expect(buildCompareArgs('/a', 'vmdk', '/b', 'qcow2', true)).toEqual(['compare', '-p', '-f', 'vmdk', '-F', 'qcow2', '--', '/a', '/b']);
  });

  it('serves read-only, one client, format explicit', () => {
    expect(buildNbdCopyArgs('/d/-x.vhd', 'vpc')).toEqual(['--', '[', 'qemu-nbd', '--read-only', '--shared=1', '--format=vpc', '--cache=writeback', '--', '/d/-x.vhd', ']', '-']);
  });

  it('classifies captured convert errors', () => {
    expect(classifyConvertError(captured('nospace.err'))).toBe('no_space');
    expect(classifyConvertError(captured('locked.err'))).toBe('source_in_use');
    expect(classifyConvertError("qemu-img: Could not open 'x.qcow2': Could not open backing file: Could not open 'b.qcow2': No such file or directory")).toBe('backing_missing');
  });

  it('names outputs and rounds for Azure', () => {
    expect(extensionOf('vpc')).toBe('vhd');
    expect(extensionOf('raw')).toBe('img');
    expect(roundUpToMiB(1)).toBe(1024 * 1024);
    expect(roundUpToMiB(1024 * 1024)).toBe(1024 * 1024);
  });
});

describe('qemuImgRun', () => {
  // A real spawn of a command that is not installed: the error names the package to install.
  it('turns a missing binary (ENOENT from the spawn) into tool_missing', async () => {
    const run = qemuImgRun(runTool);
    const err = await run({ command: 'qemu-img-not-installed-here', args: ['--version'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).code).toBe('tool_missing');
    expect((err as WorkerError).info.detail).toBe('qemu-img-not-installed-here not found on PATH (Debian package qemu-utils)');
  });
  it('passes a finished run through, failed or not', async () => {
    const r = await qemuImgRun(runTool)({ command: 'qemu-img', args: ['info', '--', '/nonexistent/disk.qcow2'] });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('/nonexistent/disk.qcow2');
  });
});
