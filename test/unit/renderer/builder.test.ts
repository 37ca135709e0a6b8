import { describe, expect, it } from 'vitest';
import { DRAFT_DEFAULTS, checkDraft, draftToSpec, fieldOf, outputPathFor, type BuilderDraft } from '../../../renderer/lib/builder';

const draft = (over: Partial<BuilderDraft>): BuilderDraft => ({ ...DRAFT_DEFAULTS, ...over });

describe('job builder model', () => {
  it('starts on inspect and asks for a disk', () => {
    const c = checkDraft(DRAFT_DEFAULTS);
    expect(DRAFT_DEFAULTS.operation).toBe('inspect');
    expect(c.spec).toBeNull();
    expect(c.errors.disks).toEqual(['at least one disk is needed']);
  });

  it('parses a complete inspect draft into a JobSpec with defaults filled in', () => {
    const c = checkDraft(draft({ disks: ['/vm/web01.vmdk'], dest: '/images', priority: 70 }));
    expect(c.errors).toEqual({});
    expect(c.spec).toMatchObject({
      operation: 'inspect',
      priority: 70,
      params: { disks: ['/vm/web01.vmdk'], guest: true, dest: '/images', target: { disk_bus: 'virtio-blk', firmware: 'bios' } },
      retry: { max_attempts: 1 },
    });
  });

  it('shows the schema\'s message next to the disk field for a relative path', () => {
    const c = checkDraft(draft({ disks: ['vm/web01.vmdk'] }));
    expect(c.errors.disks).toEqual(['an absolute path (starting with "/") is expected']);
    expect(c.spec).toBeNull();
  });

  it('asks for a destination before converting, and names outputs after the sources', () => {
    const noDest = checkDraft(draft({ operation: 'convert', disks: ['/vm/web01.vmdk'] }));
    expect(noDest.errors.dest).toEqual(['choose a destination folder']);
    const ok = checkDraft(draft({ operation: 'convert', disks: ['/vm/web01.vmdk', '/vm/web01-data.vmdk'], dest: '/images/', format: 'raw' }));
    expect(ok.errors).toEqual({});
    expect(ok.spec?.operation).toBe('convert');
    expect(ok.spec?.params).toMatchObject({
      format: 'raw',
      disks: [
        { source: '/vm/web01.vmdk', output: '/images/web01.img' },
        { source: '/vm/web01-data.vmdk', output: '/images/web01-data.img' },
      ],
    });
  });

  it('turns the rate limit from MiB/s into bytes per second and refuses nonsense', () => {
    const base = { operation: 'convert' as const, disks: ['/vm/a.vmdk'], dest: '/out' };
    expect((draftToSpec(draft({ ...base, rateLimitMiBps: '8' })).params as { rate_limit_bps: number }).rate_limit_bps).toBe(8 * 1024 * 1024);
    expect((draftToSpec(draft({ ...base, rateLimitMiBps: '' })).params as Record<string, unknown>).rate_limit_bps).toBeUndefined();
    const bad = checkDraft(draft({ ...base, rateLimitMiBps: 'fast' }));
    expect(bad.errors.rate).toEqual(['a positive number of MiB/s, or empty for no limit']);
    expect(bad.spec).toBeNull();
  });

  it('refuses two disks written to one file name', () => {
    const c = checkDraft(draft({ operation: 'convert', disks: ['/a/disk.vmdk', '/b/disk.vmdk'], dest: '/out' }));
    expect(c.errors.dest).toEqual(['disks 1 and 2 would both write /out/disk.qcow2']);
  });

  it('puts a priority out of range next to the priority field', () => {
    const c = checkDraft(draft({ disks: ['/vm/a.vmdk'], priority: 101 }));
    expect(c.errors.priority).toHaveLength(1);
    expect(c.errors.priority?.[0]).toMatch(/100/);
  });

  it('keeps a repair prepared from a finding, with the converted copy as its disks', () => {
    const c = checkDraft(draft({ operation: 'offline_fix', disks: ['/out/web01.qcow2'], repairParams: { fixes: ['fstab_by_uuid'] }, labels: { finding: 'fstab-device-names' } }));
    expect(c.errors).toEqual({});
    expect(c.spec).toMatchObject({ operation: 'offline_fix', labels: { finding: 'fstab-device-names' }, params: { disks: ['/out/web01.qcow2'], fixes: ['fstab_by_uuid'], dry_run: false } });
  });

  it('names outputs by format', () => {
    expect(outputPathFor('/vm/x.vmdk', '/o', 'qcow2')).toBe('/o/x.qcow2');
    expect(outputPathFor('/vm/x.vmdk', '/o', 'vpc')).toBe('/o/x.vhd');
    expect(outputPathFor('/vm/x.vmdk', ' ', 'qcow2')).toBe('');
  });

  it('maps spec paths to the field that shows them', () => {
    expect(fieldOf('params.disks.0.output')).toBe('dest');
    expect(fieldOf('params.disks.1')).toBe('disks');
    expect(fieldOf('params.rate_limit_bps')).toBe('rate');
    expect(fieldOf('params.qcow2.compression')).toBe('options');
    expect(fieldOf('priority')).toBe('priority');
    expect(fieldOf('labels.x')).toBe('form');
  });
});
