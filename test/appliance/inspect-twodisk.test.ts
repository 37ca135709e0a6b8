/**
 * A two-disk VM (root on the first disk, /srv/data from the second, named /dev/sdb1 in fstab)
 * through ONE appliance with both disks: the mount from the second disk resolves, both disks'
 * filesystems are measured, both fstab lines are findings.
 *
 * H2K_CAPTURE_FACTS=1 writes the report to test/unit/inspect/captured/ for the rules' unit tests.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionReport } from '../../shared/protocol';
import { openWorker } from '../../electron/worker/worker';
import { dispatch } from '../../electron/worker/local-client';
import { REPO, tempDir, waitFor } from '../support/helpers';
import { FACTS, fixtures } from '../support/fixtures';

const data = tempDir('h2k-inspect-twodisk-');
afterAll(() => data.cleanup());

describe('two-disk VM', () => {
  it('both disks in one appliance: /srv/data from sdb resolves and is measured', async () => {
    const w = openWorker({ dataDir: data.path, runner: { pollMs: 50 } });
    try {
      w.startRunner();
      const job = await dispatch(w.service, 'jobs.submit', { spec: { operation: 'inspect', params: { disks: [fixtures['twodisk-sda'], fixtures['twodisk-sdb']] } } });
      await waitFor(() => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(w.store.stateOf(job.id)), 'the inspection to end', 580_000, 500);
      const d = await dispatch(w.service, 'jobs.get', { id: job.id });
      expect(d.summary.state, JSON.stringify(d.summary.error)).toBe('COMPLETED');
      const r = InspectionReport.parse(d.result!.payload);
      if (process.env.H2K_CAPTURE_FACTS === '1') writeFileSync(join(REPO, 'test/unit/inspect/captured/twodisk.report.json'), JSON.stringify(r, null, 2) + '\n');
      const F = FACTS.twodisk;
      expect(r.disks.map((x) => [x.disk_id, x.guest_device, x.image?.virtual_size])).toEqual([
        ['disk-1', '/dev/sda', F.sdaSize],
        ['disk-2', '/dev/sdb', F.sdbSize],
      ]);
      const g = r.guest;
      expect(g.devices.map((x) => [x.device, x.disk_id, x.size_bytes, x.partition_table, x.partitions.length])).toEqual([
        ['/dev/sda', 'disk-1', F.sdaSize, 'msdos', 1],
        ['/dev/sdb', 'disk-2', F.sdbSize, 'msdos', 1],
      ]);
      expect(g.filesystems.map((f) => [f.device, f.type, f.uuid, f.label])).toEqual([
        ['/dev/sda1', 'ext4', F.rootUuid, 'twodisk-root'],
        ['/dev/sdb1', 'ext4', F.dataUuid, F.dataLabel],
      ]);
      expect(g.filesystems.every((f) => f.size_bytes !== null && f.used_bytes !== null && f.dirty === false)).toBe(true);
      expect(g.roots).toHaveLength(1);
      const root = g.roots[0]!;
      expect(root).toMatchObject({ distro: F.distro, product_name: F.productName, major_version: F.majorVersion, minor_version: F.minorVersion, hostname: F.hostname, arch: F.arch, osinfo: F.osinfo });
      expect(root.mountpoints).toEqual([
        { mountpoint: '/', device: '/dev/sda1', mounted: true, error: null },
        { mountpoint: '/srv/data', device: '/dev/sdb1', mounted: true, error: null },
      ]);
      expect(root.free_space.map((f) => [f.mountpoint, f.device, f.required_bytes])).toEqual([
        ['/', '/dev/sda1', 100 * 1024 * 1024],
        ['/srv/data', '/dev/sdb1', 10 * 1024 * 1024],
      ]);
      expect(root.fstab!.map((e) => [e.spec, e.mountpoint, e.naming])).toEqual([
        ['/dev/sda1', '/', 'kernel_name'],
        ['/dev/sdb1', '/srv/data', 'kernel_name'],
      ]);
      expect(root.network.flatMap((n) => n.mac_pins.map((m) => m.mac))).toEqual([F.mac, F.mac]);
      expect(r.findings.map((f) => f.id)).toEqual(['fstab-device-names', 'boot-device-names', 'linux-no-kernel', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name']);
      expect(r.findings[0]!.evidence.map((e) => e.line)).toEqual([4, 5]);
      const procs = w.store.db.prepare('SELECT command FROM processes WHERE job_id = ?').all(job.id) as Array<{ command: string }>;
      expect(procs.filter((p) => p.command === 'guestfish')).toHaveLength(1);
      expect(readdirSync(w.scratchDir)).toEqual([]);
      console.info(`[inspect appliance] twodisk: appliance start ${r.timings.appliance_start_s} s, guest ${r.timings.guest_s} s, total ${r.timings.total_s} s`);
    } finally {
      await w.close();
    }
  });
});
