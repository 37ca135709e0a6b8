/** The inspect command's pure parts: the spec it builds and the human report. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InspectionReport, JobSpec } from '../../../shared/protocol';
import { buildInspectSpec, renderInspectionReport } from '../../../electron/cli/inspect-command';
import { implementedOperations } from '../../../electron/engine/ops';
import { formatFindingCounts } from '../../../electron/engine/rules/engine';

const captured = (name: string) => InspectionReport.parse(JSON.parse(readFileSync(join(import.meta.dirname, 'captured', `${name}.report.json`), 'utf8')));

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

describe('formatFindingCounts', () => {
  it('counts in words, singular for one, info without a plural', () => {
    expect(formatFindingCounts({ blockers: 3, warnings: 5, infos: 2 })).toBe('3 blockers, 5 warnings, 2 info');
    expect(formatFindingCounts({ blockers: 1, warnings: 1, infos: 1 })).toBe('1 blocker, 1 warning, 1 info');
    expect(formatFindingCounts({ blockers: 0, warnings: 0, infos: 0 })).toBe('0 blockers, 0 warnings, 0 info');
  });
});

describe('renderInspectionReport', () => {
  it('prints disks, guest, findings with evidence and fixes, blockers first, and ends with the counts', () => {
    const r = captured('rhel9-vmware');
    const text = renderInspectionReport(r);
    expect(text).toContain('Target: virtio-blk, bios');
    expect(text).toContain('vmdk monolithicSparse, 2.00 GiB virtual (2147483648 bytes)');
    expect(text).toContain('/dev/rhel/root: Red Hat Enterprise Linux 9.4 (Plow) (rhel 9.4, x86_64), hostname rhel9-vmware');
    expect(text).toContain('[BLOCKER] lvm-filter-rejects-target');
    expect(text).toContain('/etc/lvm/lvm.conf:11: filter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]');
    expect(text.indexOf('[BLOCKER]')).toBeLessThan(text.indexOf('[WARNING]'));
    expect(r.summary).toEqual({ blockers: 4, warnings: 4, infos: 0 });
    expect(text.split('\n').at(-1)).toBe('4 blockers, 4 warnings, 0 info');
    expect(text).not.toContain('IN USE');
  });

  it('marks fixes whose operation is not in this version (the worker\'s operation registry)', () => {
    // This version runs inspect and convert only; every repair ends not_implemented.
    expect([...implementedOperations()].sort()).toEqual(['convert', 'inspect']);
    const r = captured('rhel9-vmware');
    const text = renderInspectionReport(r);
    expect(text).toContain('fix: lvm_repair {"dry_run":false,"fixes":["relax_filter"]} on the converted copy — Relax the filter so the PVs are found on the new bus.  (lvm_repair — not in this version)');
    const marked = text.split('\n').filter((l) => l.includes('— not in this version)'));
    const operationFixes = r.findings.filter((f) => f.remediation.kind === 'operation');
    expect(marked).toHaveLength(operationFixes.length);
    expect(new Set(marked.map((l) => /\((\w+) — not in this version\)$/.exec(l)?.[1]))).toEqual(new Set(operationFixes.map((f) => (f.remediation.kind === 'operation' ? f.remediation.operation : ''))));
    // A worker that has the repair: no mark on its fixes.
    const later = renderInspectionReport(r, new Set(['inspect', 'convert', 'lvm_repair']));
    expect(later).toContain('fix: lvm_repair {"dry_run":false,"fixes":["relax_filter"]} on the converted copy — Relax the filter so the PVs are found on the new bus.\n');
    expect(later).not.toContain('(lvm_repair — not in this version)');
    expect(later).toContain('(selinux_prep — not in this version)');
  });

  it('names a Debian root by its OS name, not libguestfs\' product name (a bare version)', () => {
    const r = captured('debian-vmware');
    expect(r.guest.roots[0]!.product_name).toBe('12.15');
    expect(renderInspectionReport(r)).toContain('/dev/sda1: Debian GNU/Linux 12 (debian 12.15, x86_64)');
  });

  it('an in-use disk is flagged on its line', () => {
    const r = captured('debian-vmware');
    r.disks[0]!.image!.in_use = true;
    expect(renderInspectionReport(r)).toContain(`disk-1 (/dev/sda)  ${r.disks[0]!.image!.path}  IN USE by another process`);
  });
});
