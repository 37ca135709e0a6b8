import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JobSpec, type JobDetail } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { buildConvertSpec, derivedOutputName, formatOfName, parsePriority, parseSize, renderConvertSummary, type ConvertCliOptions, type SourceFacts } from '../../../electron/cli/convert-command';

const cwd = mkdtempSync(join(tmpdir(), 'h2k-cli-unit-'));
mkdirSync(join(cwd, 'out'));
writeFileSync(join(cwd, 'existing.qcow2'), '');
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

const base: ConvertCliOptions = { format: 'qcow2', verify: 'none', outOfOrder: true, sparse: true };

describe('convert command line → spec', () => {
  it('resolves paths, so "-x.vmdk" reaches the spec as an absolute path', () => {
    const spec = buildConvertSpec(['-x y.vmdk', 'disk.qcow2'], base, cwd);
    expect(spec.params.disks).toEqual([{ source: join(cwd, '-x y.vmdk'), output: join(cwd, 'disk.qcow2') }]);
    expect(JobSpec.safeParse(spec).success).toBe(true);
  });

  it('names outputs in a folder <dst>/<source name>.<ext>, for a folder, a trailing slash or several sources', () => {
    expect(buildConvertSpec(['a/web01.vmdk', 'out'], { ...base, format: 'vpc' }, cwd).params.disks[0]!.output).toBe(join(cwd, 'out', 'web01.vhd'));
    expect(buildConvertSpec(['web01.vmdk', 'new/'], base, cwd).params.disks[0]!.output).toBe(join(cwd, 'new', 'web01.qcow2'));
    const two = buildConvertSpec(['/vm/a.vmdk', '/vm/b.vmdk', '/dst'], { ...base, format: 'raw' }, cwd);
    expect(two.params.disks.map((d) => d.output)).toEqual(['/dst/a.img', '/dst/b.img']);
    expect(derivedOutputName('/x/disk', undefined, 'vdi')).toBe('disk.vdi');
    expect(derivedOutputName('/x/vm.ova', 'vm-disk1.vmdk', 'qcow2')).toBe('vm-disk1.qcow2');
  });

  it('package members: one job, one disk per member', () => {
    const spec = buildConvertSpec(['vm.ova', 'out'], { ...base, member: ['d1.vmdk', 'd2.vmdk'] }, cwd);
    expect(spec.params.disks).toEqual([
      { source: join(cwd, 'vm.ova'), member: 'd1.vmdk', output: join(cwd, 'out', 'd1.qcow2') },
      { source: join(cwd, 'vm.ova'), member: 'd2.vmdk', output: join(cwd, 'out', 'd2.qcow2') },
    ]);
  });

  it('maps options onto the spec', () => {
    const spec = buildConvertSpec(['s.vmdk', 'o.qcow2'], { ...base, compression: 'zstd', clusterSize: 2 * 1024 * 1024, lazyRefcounts: true, verify: 'checksum', sha256: true, overwrite: true, rateLimit: 50 * 1024 * 1024, coroutines: 4, outOfOrder: false, cache: 'none', sparse: false, priority: 80, timeout: 3600, attempts: 2 }, cwd);
    const parsed = JobSpec.parse(spec);
    if (parsed.operation !== 'convert') throw new Error('not convert');
    expect(parsed.params).toMatchObject({
      format: 'qcow2',
      qcow2: { compression: 'zstd', cluster_size: 2097152, lazy_refcounts: true, compat: '1.1' },
      verify: 'checksum',
      sha256: true,
      overwrite: true,
      rate_limit_bps: 52428800,
      tuning: { out_of_order: false, coroutines: 4, cache: 'none', sparse: false },
    });
    expect(parsed).toMatchObject({ priority: 80, timeout_s: 3600, retry: { max_attempts: 2 } });
    const vpc = JobSpec.parse(buildConvertSpec(['s.vmdk', 'o.vhd'], { ...base, format: 'vpc', azure: true }, cwd));
    expect(vpc.operation === 'convert' && vpc.params).toMatchObject({ format: 'vpc', vpc_subformat: 'fixed', azure_round: true });
    const vmdk = JobSpec.parse(buildConvertSpec(['s.qcow2', 'o.vmdk'], { ...base, format: 'vmdk', subformat: 'twoGbMaxExtentFlat' }, cwd));
    expect(vmdk.operation === 'convert' && vmdk.params.vmdk_subformat).toBe('twoGbMaxExtentFlat');
  });

  it('refuses what makes no sense, naming the option', () => {
    const fails = (paths: string[], o: Partial<ConvertCliOptions>) => {
      try {
        buildConvertSpec(paths, { ...base, ...o }, cwd);
      } catch (e) {
        expect(e).toBeInstanceOf(WorkerError);
        return (e as WorkerError).info.fields?.[0]?.path;
      }
      return null;
    };
    expect(fails(['only.vmdk'], {})).toBe('paths');
    expect(fails(['a.vmdk', 'b.raw'], { format: 'raw', compression: 'zstd' })).toBe('--compression');
    expect(fails(['a.vmdk', 'b.vhdx'], { format: 'vhdx', azure: true })).toBe('--azure');
    expect(fails(['a.vmdk', 'b.vdi'], { format: 'vdi', subformat: 'fixed' })).toBe('--subformat');
    expect(fails(['a.ova', 'b.ova', 'out'], { member: ['x'] })).toBe('--member');
  });

  it('reads sizes in binary units', () => {
    expect(parseSize('65536')).toBe(65536);
    expect(parseSize('64k')).toBe(65536);
    expect(parseSize('50M')).toBe(50 * 1024 * 1024);
    expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('2MiB')).toBe(2 * 1024 * 1024);
    expect(() => parseSize('fast')).toThrow();
    expect(() => parseSize('0')).toThrow('a size of at least 1 byte is expected');
    expect(() => parseSize('99999999999999999999999')).toThrow('a size of at most 9007199254740991 bytes (8 PiB) is expected');
  });

  it('reads a priority from 0 to 100, and says so otherwise', () => {
    expect(parsePriority('0')).toBe(0);
    expect(parsePriority(' 100 ')).toBe(100);
    for (const bad of ['abc', '', '1e308', '-1', '101', '50.5']) expect(() => parsePriority(bad), bad).toThrow('a whole number from 0 to 100 is expected');
  });
});

describe('convert command line: what a technician expects', () => {
  const refusal = (paths: string[], o: Partial<ConvertCliOptions>, facts?: Map<string, SourceFacts>) => {
    try {
      buildConvertSpec(paths, { ...base, ...o }, cwd, facts);
    } catch (e) {
      expect(e).toBeInstanceOf(WorkerError);
      const info = (e as WorkerError).info;
      expect(info.code).toBe('validation_failed');
      return info;
    }
    throw new Error('not refused');
  };
  const noFormat: ConvertCliOptions = { verify: 'none', outOfOrder: true, sparse: true };

  it('takes the format from the destination extension when --format is not given', () => {
    const cases: [string, string][] = [
      ['o.qcow2', 'qcow2'],
      ['o.raw', 'raw'],
      ['o.img', 'raw'],
      ['O.IMG', 'raw'],
      ['o.vmdk', 'vmdk'],
      ['o.vhdx', 'vhdx'],
      ['o.vhd', 'vpc'],
      ['o.vdi', 'vdi'],
      ['o.bin', 'qcow2'],
      ['out', 'qcow2'],
    ];
    for (const [dst, format] of cases) {
      const spec = buildConvertSpec(['s.vmdk', dst], noFormat, cwd);
      expect(spec.params.format, dst).toBe(format);
      expect(spec.params.disks[0]!.output).toBe(join(cwd, dst === 'out' ? 'out/s.qcow2' : dst));
    }
    expect(formatOfName('/x/y.VHD')).toBe('vpc');
    expect(formatOfName('/x/y')).toBeNull();
    // An explicit --format that agrees, or a name without an image extension, is fine.
    expect(buildConvertSpec(['s.vmdk', 'o.img'], { ...noFormat, format: 'raw' }, cwd).params.format).toBe('raw');
    expect(buildConvertSpec(['s.vmdk', 'o.bin'], { ...noFormat, format: 'vdi' }, cwd).params.format).toBe('vdi');
    // A folder takes --format (default qcow2) and names outputs with its extension.
    expect(buildConvertSpec(['s.vmdk', 'out'], { ...noFormat, format: 'vpc' }, cwd).params.disks[0]!.output).toBe(join(cwd, 'out', 's.vhd'));
  });

  it('refuses a --format that contradicts the extension, naming both', () => {
    const info = refusal(['s.vmdk', 'o.qcow2'], { format: 'raw' });
    expect(info.message).toBe("--format raw contradicts the destination's extension: o.qcow2 names a qcow2 file.");
    expect(info.hint).toBe('Drop --format (the extension .qcow2 chooses qcow2), or name the output .raw or .img for raw.');
    expect(info.fields).toEqual([{ path: '--format', message: 'raw given, .qcow2 names qcow2' }]);
    expect(refusal(['s.vmdk', 'o.vhd'], { format: 'vhdx' }).message).toBe("--format vhdx contradicts the destination's extension: o.vhd names a vpc file.");
  });

  it('refuses an unknown subformat, listing the valid ones', () => {
    const info = refusal(['s.qcow2', 'o.vmdk'], { format: undefined, subformat: 'banana' });
    expect(info.message).toBe('--subformat banana is not a subformat of vmdk; valid: monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized.');
    expect(info.fields).toEqual([{ path: '--subformat', message: 'not one of monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized' }]);
    expect(refusal(['s.qcow2', 'o.vhd'], { format: undefined, subformat: 'banana' }).message).toBe('--subformat banana is not a subformat of vpc; valid: dynamic, fixed.');
    const none = refusal(['s.vmdk', 'o.qcow2'], { subformat: 'fixed' });
    expect(none.message).toBe('qcow2 has no subformats (--subformat fixed given).');
    expect(none.hint).toBe('Drop --subformat; subformats exist for vmdk (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized), vpc (dynamic, fixed), vhdx (dynamic, fixed).');
    // Case does not matter; the spec gets the canonical name.
    expect(buildConvertSpec(['s.qcow2', 'o.vmdk'], { ...noFormat, subformat: 'streamoptimized' }, cwd).params.vmdk_subformat).toBe('streamOptimized');
    expect(buildConvertSpec(['s.qcow2', 'o.vhdx'], { ...noFormat, subformat: 'FIXED' }, cwd).params.vhdx_subformat).toBe('fixed');
  });

  it('a package without --member: every disk into a folder, the only disk into a file, else refused', () => {
    const ova = join(cwd, 'vm.ova');
    const two = new Map<string, SourceFacts>([[ova, { packageDisks: ['vm-disk1.vmdk', 'vm-disk2.vmdk'], what: 'an OVA package' }]]);
    expect(buildConvertSpec(['vm.ova', 'out'], noFormat, cwd, two).params.disks).toEqual([
      { source: ova, member: 'vm-disk1.vmdk', output: join(cwd, 'out', 'vm-disk1.qcow2') },
      { source: ova, member: 'vm-disk2.vmdk', output: join(cwd, 'out', 'vm-disk2.qcow2') },
    ]);
    const info = refusal(['vm.ova', 'one.qcow2'], {}, two);
    expect(info.message).toBe('this is a package, its disks: vm-disk1.vmdk, vm-disk2.vmdk; give --member or a destination folder.');
    expect(info.detail).toBe(`${ova} holds 2 disks; ${join(cwd, 'one.qcow2')} is one file`);
    // The hint asks for an existing folder: a trailing / does not create one.
    expect(info.hint).toBe('Give --member NAME (once per disk) to pick disks, or an existing destination folder to convert all 2 (create it first with mkdir -p; a trailing / marks a folder, it does not create one).');
    const one = new Map<string, SourceFacts>([[ova, { packageDisks: ['vm-disk1.vmdk'], what: 'an OVA package' }]]);
    expect(buildConvertSpec(['vm.ova', 'one.raw'], noFormat, cwd, one).params).toMatchObject({ format: 'raw', disks: [{ source: ova, member: 'vm-disk1.vmdk', output: join(cwd, 'one.raw') }] });
  });

  it('--member on a plain disk is refused, saying what the file is', () => {
    const disk = join(cwd, 'disk.vmdk');
    const info = refusal(['disk.vmdk', 'o.qcow2'], { member: ['x'] }, new Map([[disk, { packageDisks: null, what: 'a vmdk monolithicSparse disk image' }]]));
    expect(info.message).toBe(`--member names a disk inside a package (.ova/.ovf), but ${disk} is a vmdk monolithicSparse disk image.`);
    expect(info.fields![0]!.path).toBe('--member');
  });

  it('several disks and a file as destination are refused', () => {
    for (const dst of ['existing.qcow2', 'new.qcow2']) {
      const info = refusal(['a.vmdk', 'b.vmdk', dst], {});
      expect(info.message).toBe(`several disks need a destination folder: ${join(cwd, dst)} is ${dst === 'new.qcow2' ? 'a file name' : 'a file'}.`);
      expect(info.detail).toBe(`2 disks: ${join(cwd, 'a.vmdk')}, ${join(cwd, 'b.vmdk')}`);
      expect(info.hint).toBe('Give an existing folder as the last path (create it first with mkdir -p; a trailing / marks a folder, it does not create one); each disk is written there under its own name.');
    }
    expect(refusal(['vm.ova', 'existing.qcow2'], { member: ['a', 'b'] }).message).toContain('several disks need a destination folder');
  });

  it('two outputs with one name are refused, numbered from 1', () => {
    const info = refusal(['x/a.vmdk', 'b.vmdk', 'y/a.vdi', 'out'], {});
    expect(info.message).toBe(`disks 1 and 3 would both be written to ${join(cwd, 'out', 'a.qcow2')}.`);
    expect(info.detail).toBe(`disk 1: ${join(cwd, 'x/a.vmdk')}\ndisk 3: ${join(cwd, 'y/a.vdi')}`);
  });
});

describe('summary', () => {
  it('prints each disk, its verification and the files', () => {
    const detail = {
      summary: { id: 'j1', state: 'COMPLETED', error: null },
      result: {
        outcome: 'completed',
        error: null,
        metrics: { run_s: 12.2, throughput_bps: 300 * 1024 * 1024 },
        artifacts: [{ path: '/o/web01.qcow2', role: 'disk', format: 'qcow2', size_bytes: 1024 ** 3, allocated_bytes: 1024 ** 3, virtual_size: 4 * 1024 ** 3, sha256: null }],
        payload: {
          format: 'qcow2',
          verify: 'compare',
          virtual_bytes: 4 * 1024 ** 3,
          disks: [
            {
              source: '/v/web01.vmdk',
              member: null,
              source_format: 'vmdk',
              source_subformat: 'monolithicSparse',
              virtual_size: 4 * 1024 ** 3,
              output: '/o/web01.qcow2',
              output_format: 'qcow2',
              output_subformat: null,
              output_virtual_size: 4 * 1024 ** 3,
              copy_s: 11,
              flush_s: 0.2,
              source_untouched: true,
              source_before: [{ path: '/v/web01.vmdk', size_bytes: 1073807360, mtime_ns: '1795963748843168033' }],
              source_after: [{ path: '/v/web01.vmdk', size_bytes: 1073807360, mtime_ns: '1795963748843168033' }],
              verification: { method: 'compare', ok: true, detail: 'Images are identical.', source_guest_sha256: null, output_guest_sha256: null, seconds: 3 },
            },
          ],
        },
      },
    } as unknown as JobDetail;
    const text = renderConvertSummary(detail);
    expect(text).toContain('Job j1  COMPLETED  in 12 s  (300 MiB/s of virtual disk)');
    expect(text).toContain('/v/web01.vmdk  (vmdk monolithicSparse, 4.00 GiB)');
    expect(text).toContain('→ /o/web01.qcow2  (qcow2)');
    expect(text).toContain('    copied in 11 s, flushed in 0.2 s\n    source untouched: size 1073807360 bytes, mtime 2026-11-29T14:49:08.843168033Z (before = after)');
    expect(text).toContain('verified by compare: identical — Images are identical.');
    expect(text).toContain('disk       /o/web01.qcow2  1.00 GiB (1.00 GiB allocated)');
  });
});
