import { describe, expect, it } from 'vitest';
import type { Finding, WorkerCapabilities } from '../../../shared/protocol';
import { availability } from '../../../renderer/lib/availability';
import { fixSpec, outputsFor } from '../../../renderer/lib/remediation';
import { groupFindings, readReport, valueText } from '../../../renderer/lib/report';

const fstab: Finding = {
  id: 'fstab-device-names',
  severity: 'blocker',
  title: '/etc/fstab mounts by device name',
  evidence: [{ kind: 'file', file: '/etc/fstab', line: 9, text: '/dev/sda1 / ext4 defaults 0 1' }],
  remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['fstab_by_uuid'] }, target: 'converted_output', summary: 'Mount by UUID' },
};
const tools: Finding = {
  id: 'vmware-tools',
  severity: 'warning',
  title: 'VMware tools installed',
  evidence: [{ kind: 'fact', text: 'open-vm-tools 12.2' }],
  remediation: { kind: 'manual', steps: ['Remove open-vm-tools after the first boot'], summary: 'Remove the tools' },
};

describe('inspection report, read defensively', () => {
  it('shows known disk and guest facts first, formatted, and counts findings it cannot read', () => {
    const r = readReport({
      disks: [
        {
          path: '/vm/web01.vmdk',
          virtual_size: 2147483648,
          format: 'vmdk',
          encrypted: false,
          backing_chain: [],
          extents: [{ path: '/vm/web01-s001.vmdk', kind: 'SPARSE' }],
          measure: { qcow2: { required_bytes: 460000000, fully_allocated_bytes: 1 }, raw: { required_bytes: 2147483648, fully_allocated_bytes: 1 } },
          notes: ['streamOptimized images convert slower'],
          future_field: { nested: { deep: 1 } },
        },
      ],
      guest: { hostname: 'web01', distro: 'debian', arch: 'x86_64', major_version: 12, filesystems: ['/dev/sda1', '/dev/sda5'] },
      findings: [fstab, tools, { id: 'broken' }],
    });
    expect(r).not.toBeNull();
    expect(r!.disks[0]!.facts.slice(0, 3).map((f) => [f.label, f.value])).toEqual([
      ['Format', 'vmdk'],
      ['Virtual size', '2.00 GiB'],
      ['Encrypted', 'no'],
    ]);
    expect(r!.disks[0]!.facts.find((f) => f.key === 'extents')?.value).toBe('/vm/web01-s001.vmdk');
    expect(r!.disks[0]!.facts.find((f) => f.key === 'backing_chain')?.value).toBe('none');
    expect(r!.disks[0]!.facts.some((f) => f.key === 'future_field')).toBe(false);
    expect(r!.disks[0]!.required).toEqual({ qcow2: 460000000, raw: 2147483648 });
    expect(r!.disks[0]!.notes).toEqual(['streamOptimized images convert slower']);
    const flat = r!.guest!.sections[0]!.facts;
    expect(flat.map((f) => f.key)).toEqual(['distro', 'major_version', 'arch', 'hostname', 'filesystems']);
    expect(flat.find((f) => f.key === 'filesystems')?.value).toBe('/dev/sda1, /dev/sda5');
    expect(r!.findings.map((f) => f.id)).toEqual(['fstab-device-names', 'vmware-tools']);
    expect(r!.unreadable).toBe(1);
  });

  it('is null for a payload that is no report, and handles a report without a guest', () => {
    expect(readReport(null)).toBeNull();
    expect(readReport({ test_only: true })).toBeNull();
    expect(readReport({ disks: [], guest: null, findings: [] })).toEqual({ disks: [], guest: null, destination: null, findings: [], unreadable: 0 });
  });

  it('reads the full report: disk sources and image facts, each OS root, the destination', () => {
    const r = readReport({
      inspected_at: '2026-11-29T14:47:42.000Z',
      disks: [
        {
          disk_id: 'disk-1',
          source: { kind: 'file', path: '/vm/sample-vm.vmdk' },
          guest_device: '/dev/sda',
          image: { path: '/vm/sample-vm.vmdk', format: 'vmdk', subformat: 'streamOptimized', virtual_size: 268435456, measure: { qcow2: { required_bytes: 983040 }, raw: { required_bytes: 268435456 } }, notes: [] },
          error: null,
        },
        { disk_id: 'disk-2', source: { kind: 'package', package: '/vm/app.ova', member: 'disk2.vmdk' }, guest_device: null, image: null, error: { code: 'extent_missing', message: 'An extent of the vmdk is missing.' } },
      ],
      guest: {
        status: 'inspected',
        reason: null,
        appliance: { backend: 'direct', accelerator: 'tcg', start_seconds: 23.2 },
        filesystems: [{ device: '/dev/sda1', type: 'ext4', label: 'sample-root' }],
        multiboot: false,
        roots: [
          {
            root: '/dev/sda1',
            type: 'linux',
            distro: 'debian',
            product_name: '12.5',
            major_version: 12,
            minor_version: 5,
            arch: 'x86_64',
            hostname: 'sample-vm',
            firmware: { kind: 'bios', evidence: [] },
            bootloader: { kind: 'grub2' },
            kernels: [{ version: '6.1.0-21-amd64' }],
            mountpoints: [{ mountpoint: '/', device: '/dev/sda1', mounted: true }],
            network: [{ interfaces: ['ens192'] }, { interfaces: ['ens192'] }],
            guest_tools: [{ vendor: 'vmware', packages: ['open-vm-tools'] }],
            cloud_init: { installed: false },
          },
        ],
        notes: ['one note'],
      },
      destination: { path: '/images', free_bytes: 1073741824, required_bytes: 983040, enough: true },
      findings: [],
    });
    expect(r!.disks.map((d) => [d.path, d.error, d.required.qcow2])).toEqual([
      ['/vm/sample-vm.vmdk', null, 983040],
      ['/vm/app.ova: disk2.vmdk', 'An extent of the vmdk is missing.', null],
    ]);
    expect(r!.disks[0]!.facts.slice(0, 3).map((f) => f.value)).toEqual(['/dev/sda', 'vmdk', 'streamOptimized']);
    expect(r!.guest).toMatchObject({ status: 'inspected', reason: null, notes: ['one note'] });
    const os = r!.guest!.sections[0]!;
    expect(os.title).toBe('Operating system (root /dev/sda1)');
    expect(Object.fromEntries(os.facts.map((f) => [f.key, f.value]))).toEqual({
      type: 'linux',
      distro: 'debian',
      product_name: '12.5',
      version: '12.5',
      arch: 'x86_64',
      hostname: 'sample-vm',
      firmware: 'bios',
      bootloader: 'grub2',
      kernels: '6.1.0-21-amd64',
      mountpoints: '/dev/sda1 on /',
      network: 'ens192',
      guest_tools: 'vmware (open-vm-tools)',
      cloud_init: 'not installed',
    });
    expect(r!.guest!.sections[1]!.facts.map((f) => f.value)).toEqual(['/dev/sda1 ext4 "sample-root"', 'TCG, backend direct', '23 s']);
    expect(r!.destination!.map((f) => f.value)).toEqual(['/images', '1.00 GiB', '960 KiB', 'yes']);
  });

  it('groups findings blockers first, leaving out empty groups', () => {
    expect(groupFindings([tools, fstab]).map((g) => [g.severity, g.findings.length])).toEqual([
      ['blocker', 1],
      ['warning', 1],
    ]);
  });

  it('writes records by their name and small objects as words', () => {
    expect(valueText('integrity', { checked: true, ok: true, corruptions: 0 })).toBe('checked yes, ok yes, corruptions 0');
    expect(valueText('x', undefined)).toBeNull();
  });
});

describe('a finding becomes the job that fixes it', () => {
  it('on the converted copy, with the remediation\'s operation and params, traced by labels', () => {
    expect(fixSpec(fstab, ['/out/web01.qcow2'], '20261129-100000-ab12')).toEqual({
      operation: 'offline_fix',
      params: { fixes: ['fstab_by_uuid'], disks: ['/out/web01.qcow2'] },
      labels: { finding: 'fstab-device-names', inspect_job: '20261129-100000-ab12' },
    });
    expect(fixSpec(tools, ['/out/web01.qcow2'], 'j')).toBeNull();
  });

  it('finds the converted outputs of exactly the inspected sources', () => {
    const disks = [
      { source: '/vm/b.vmdk', output: '/out/b.qcow2' },
      { source: '/vm/a.vmdk', output: '/out/a.qcow2' },
    ];
    expect(outputsFor(['/vm/a.vmdk', '/vm/b.vmdk'], disks)).toEqual(['/out/a.qcow2', '/out/b.qcow2']);
    expect(outputsFor(['/vm/a.vmdk', '/vm/c.vmdk'], disks)).toBeNull();
  });

  it('is disabled with the reason while the operation is not in this version or cannot run here', () => {
    const caps = {
      operations: [
        { operation: 'convert', implemented: true, runnable: true, reasons: [] },
        { operation: 'inspect', implemented: true, runnable: false, reasons: ['qemu-img not found'] },
        { operation: 'offline_fix', implemented: false, runnable: false, reasons: ['offline_fix is not available'] },
      ],
    } as unknown as WorkerCapabilities;
    expect(availability(caps, 'convert')).toEqual({ enabled: true, reason: null, implemented: true });
    expect(availability(caps, 'inspect')).toEqual({ enabled: false, reason: 'qemu-img not found', implemented: true });
    expect(availability(caps, 'offline_fix')).toEqual({ enabled: false, reason: 'This operation is not available in this version of the worker.', implemented: false });
    expect(availability(null, 'convert').enabled).toBe(true);
    expect(availability(null, 'boot_repair').enabled).toBe(false);
  });
});
