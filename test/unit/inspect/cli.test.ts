/** The inspect command's pure parts: the spec it builds and the human report. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InspectionReport, JobSpec } from '../../../shared/protocol';
import { buildInspectSpec, renderInspectionReport } from '../../../electron/cli/inspect-command';

describe('buildInspectSpec', () => {
  it('resolves paths (a leading dash is a file, not an option) and fills the target', () => {
    const s = buildInspectSpec(['-dash.vmdk', 'with space/disk one.vmdk'], { target: 'virtio-scsi', firmware: 'uefi', guest: false, dest: 'out' }, '/vms');
    expect(s).toEqual({
      operation: 'inspect',
      params: { disks: ['/vms/-dash.vmdk', '/vms/with space/disk one.vmdk'], target: { disk_bus: 'virtio-scsi', firmware: 'uefi' }, guest: false, dest: '/vms/out' },
    });
    expect(JobSpec.parse(s).operation).toBe('inspect');
  });
});

describe('renderInspectionReport', () => {
  it('prints disks, guest, findings with evidence and fixes, blockers first', () => {
    const r = InspectionReport.parse(JSON.parse(readFileSync(join(import.meta.dirname, 'captured', 'rhel9-vmware.report.json'), 'utf8')));
    const text = renderInspectionReport(r);
    expect(text).toContain('Target: virtio-blk, bios');
    expect(text).toContain('vmdk monolithicSparse, 2.00 GiB virtual (2147483648 bytes)');
    expect(text).toContain('/dev/rhel/root: Red Hat Enterprise Linux 9.4 (Plow) (rhel 9.4, x86_64), hostname rhel9-vmware');
    expect(text).toContain('Findings: 4 blocker(s), 4 warning(s), 0 note(s)');
    expect(text).toContain('[BLOCKER] lvm-filter-rejects-target');
    expect(text).toContain('/etc/lvm/lvm.conf:11: filter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]');
    expect(text).toContain('fix: lvm_repair {"dry_run":false,"fixes":["relax_filter"]} on the converted copy');
    expect(text.indexOf('[BLOCKER]')).toBeLessThan(text.indexOf('[WARNING]'));
  });
});
