/**
 * The RHEL 9.4 VMware guest on LVM (SELinux enforcing, an LVM devices file and an lvm.conf
 * filter pinned to the VMware disk, NetworkManager keyfile pinned to the MAC) through a REAL
 * appliance, one for the inspection, as a job of the real worker.
 *
 * H2K_CAPTURE_FACTS=1 writes the report to test/unit/inspect/captured/ for the rules' unit tests.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionReport } from '../../shared/protocol';
import { openWorker } from '../../electron/worker/worker';
import { dispatch } from '../../electron/worker/local-client';
import { REPO, tempDir, waitFor } from '../support/helpers';
import { FACTS, fixtures } from '../support/fixtures';

const data = tempDir('h2k-inspect-rhel-');
afterAll(() => data.cleanup());

describe('RHEL 9.4 guest on LVM', () => {
  it('one appliance: LVM, SELinux, the devices file and filter, the dracut initramfs, and the findings', async () => {
    const w = openWorker({ dataDir: data.path, runner: { pollMs: 50 } });
    try {
      w.startRunner();
      const job = await dispatch(w.service, 'jobs.submit', { spec: { operation: 'inspect', params: { disks: [fixtures['rhel-vmdk']] } } });
      await waitFor(() => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(w.store.stateOf(job.id)), 'the inspection to end', 580_000, 500);
      const d = await dispatch(w.service, 'jobs.get', { id: job.id });
      expect(d.summary.state, JSON.stringify(d.summary.error)).toBe('COMPLETED');
      const r = InspectionReport.parse(d.result!.payload);
      if (process.env.H2K_CAPTURE_FACTS === '1') writeFileSync(join(REPO, 'test/unit/inspect/captured/rhel9-vmware.report.json'), JSON.stringify(r, null, 2) + '\n');
      const F = FACTS.rhel;
      const g = r.guest;
      expect(g.status).toBe('inspected');
      expect(g.devices[0]!.partitions.map((p) => [p.number, p.start_bytes, p.size_bytes, p.mbr_id, p.bootable])).toEqual(F.partitions.map((p) => [p.number, p.start, p.size, `0x${p.mbrType.toString(16)}`, p.bootable]));
      const pvid = readFileSync(fixtures['rhel-pvid'], 'utf8').trim();
      expect(g.lvm.pvs).toEqual([{ device: '/dev/sda2', uuid: pvid, size_bytes: g.lvm.vgs[0]!.size_bytes }]);
      expect(g.lvm.vgs.map((v) => [v.name, v.pv_count, v.lv_count])).toEqual([[F.vg, 1, 2]]);
      expect(g.lvm.lvs.map((l) => [l.device, l.name, l.vg])).toEqual(F.lvs.map((n) => [`/dev/${F.vg}/${n}`, n, F.vg]));
      expect(g.lvm.lvs.find((l) => l.name === 'swap')!.size_bytes).toBe(256 * 1024 * 1024);
      expect(Object.fromEntries(g.filesystems.map((f) => [f.device, { type: f.type, uuid: f.uuid }]))).toEqual(F.filesystems);
      expect(g.filesystems.filter((f) => f.type === 'xfs').map((f) => f.dirty)).toEqual([false, false]);
      const root = g.roots[0]!;
      expect(g.roots).toHaveLength(1);
      expect(root).toMatchObject({
        root: '/dev/rhel/root',
        type: 'linux',
        distro: F.distro,
        product_name: F.productName,
        major_version: F.majorVersion,
        minor_version: F.minorVersion,
        arch: F.arch,
        hostname: F.hostname,
        package_format: F.packageFormat,
        package_management: F.packageManagement,
        osinfo: F.osinfo,
      });
      expect(Object.fromEntries(root.mountpoints.map((m) => [m.mountpoint, m.device]))).toEqual(F.mountpoints);
      expect(root.mountpoints.every((m) => m.mounted)).toBe(true);
      expect(root.firmware.kind).toBe('bios');
      expect(root.bootloader.kind).toBe('grub2');
      expect(root.bootloader.config_files).toEqual(['/boot/grub2/grub.cfg', '/etc/default/grub', '/etc/kernel/cmdline', F.blsEntry]);
      const bls = root.bootloader.cmdlines.find((c) => c.source === 'bls_entry')!;
      expect(bls.device_refs).toEqual([
        { param: 'root', value: '/dev/mapper/rhel-root', naming: 'mapper' },
        { param: 'resume', value: '/dev/mapper/rhel-swap', naming: 'mapper' },
      ]);
      expect(root.kernels.map((k) => k.version)).toEqual([F.kernelVersion]);
      const k = root.kernels[0]!;
      expect(k.initramfs).toMatchObject({ path: `/boot/initramfs-${F.kernelVersion}.img`, segments: ['gzip'], modules: ['mptspi', 'vmw_pvscsi', 'vmxnet3'], error: null });
      expect(k.initramfs!.drivers).toEqual({ virtio_blk: 'absent', virtio_scsi: 'absent', virtio_net: 'absent', virtio_pci: 'absent' });
      expect(k.modules).toEqual({ virtio_blk: 'module', virtio_scsi: 'module', virtio_net: 'module', virtio_pci: 'module' });
      expect(root.selinux).toEqual({ mode: 'enforcing', policy: 'targeted', evidence: { file: '/etc/selinux/config', line: 7, text: F.selinux } });
      expect(root.lvm.use_devicesfile).toBe(true);
      expect(root.lvm.filter).toMatchObject({ file: '/etc/lvm/lvm.conf', text: `\t${F.lvmFilter}`, patterns: ['a|^/dev/sda[0-9]*$|', 'r|.*|'] });
      expect(root.lvm.devices_file?.entries.map((e) => [e.idtype, e.idname, e.devname, e.pvid])).toEqual([['sys_wwid', F.wwid, '/dev/sda2', pvid]]);
      expect(root.network.map((n) => [n.file, n.kind, n.interfaces, n.mac_pins.map((m) => m.mac)])).toEqual([
        ['/etc/NetworkManager/system-connections/ens192.nmconnection', 'nm_keyfile', ['ens192'], [F.mac]],
      ]);
      expect(root.guest_tools).toEqual([{ vendor: 'vmware', packages: ['open-vm-tools'], files: ['/etc/vmware-tools', '/usr/bin/vmtoolsd'] }]);
      expect(root.applications.count).toBe(F.applications.length);
      expect(r.findings.map((f) => [f.id, f.severity])).toEqual([
        ['fstab-device-names', 'blocker'],
        ['initramfs-missing-virtio', 'blocker'],
        ['vmware-tools', 'warning'],
        ['network-mac-pinned', 'warning'],
        ['network-vmware-nic-name', 'warning'],
        ['lvm-devices-file', 'blocker'],
        ['lvm-filter-rejects-target', 'blocker'],
        ['selinux-relabel', 'warning'],
      ]);
      const fix = Object.fromEntries(r.findings.map((f) => [f.id, f.remediation.kind === 'operation' ? [f.remediation.operation, f.remediation.params] : null]));
      expect(fix['lvm-devices-file']).toEqual(['lvm_repair', { fixes: ['reset_devices_file'], dry_run: false }]);
      expect(fix['lvm-filter-rejects-target']).toEqual(['lvm_repair', { fixes: ['relax_filter'], dry_run: false }]);
      expect(fix['selinux-relabel']).toEqual(['selinux_prep', { mode: 'autorelabel', dry_run: false }]);
      expect(fix['initramfs-missing-virtio']).toEqual(['initramfs_regen', { drivers: ['virtio_blk', 'virtio_net', 'virtio_pci'], kernels: [F.kernelVersion], dry_run: false }]);
      const procs = w.store.db.prepare('SELECT command, ended_at FROM processes WHERE job_id = ?').all(job.id) as Array<{ command: string; ended_at: number | null }>;
      expect(procs.filter((p) => p.command === 'guestfish')).toHaveLength(1);
      expect(procs.filter((p) => p.ended_at === null)).toEqual([]);
      expect(readdirSync(w.scratchDir)).toEqual([]);
      console.info(`[inspect appliance] rhel vmdk: appliance start ${r.timings.appliance_start_s} s, guest ${r.timings.guest_s} s, total ${r.timings.total_s} s`);
    } finally {
      await w.close();
    }
  });
});
