/**
 * The Debian 12 VMware guest through a REAL libguestfs appliance (one per inspection):
 * the monolithicSparse vmdk through the CLI with --json (a full job in a data folder, the JSON
 * checked against docs/protocol/InspectionReport.json), its .ova (the in-tar disk served by
 * qemu-nbd), and a cancel during the appliance start that must leave no process behind.
 *
 * H2K_CAPTURE_FACTS=1 writes the reports to test/unit/inspect/captured/ for the rules' unit tests.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionReport, type WorkerEvent } from '../../shared/protocol';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { dispatch } from '../../electron/worker/local-client';
import { liveGroupMembers } from '../../electron/capabilities/appliance';
import { REPO, tempDir, waitFor } from '../support/helpers';
import { FACTS, fixtures } from '../support/fixtures';

const dirs: Array<ReturnType<typeof tempDir>> = [];
afterAll(() => dirs.forEach((d) => d.cleanup()));

const capture = (name: string, report: unknown) => {
  if (process.env.H2K_CAPTURE_FACTS === '1') writeFileSync(join(REPO, 'test/unit/inspect/captured', `${name}.report.json`), JSON.stringify(report, null, 2) + '\n');
};
const processesOf = (w: Worker, id: string) =>
  w.store.db.prepare('SELECT command, pgid, ended_at FROM processes WHERE job_id = ? ORDER BY id').all(id) as Array<{ command: string; pgid: number; ended_at: number | null }>;
/** Processes on this machine whose command line mentions `needle` (a job's private folder). */
const processesMentioning = (needle: string) =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    });

const KVER = readFileSync(fixtures['debian-kernel-version'], 'utf8').trim();
const DEBIAN_VERSION = readFileSync(fixtures['debian-debian-version'], 'utf8').trim();
const INITRAMFS_LIST = readFileSync(fixtures['debian-initramfs-list'], 'utf8').trim().split('\n');
const EXPECTED_IDS = ['fstab-device-names', 'boot-device-names', 'initramfs-missing-virtio', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name'];

/** The facts every inspection of this guest must find, whatever the container format. */
function expectDebianGuest(r: InspectionReport) {
  const g = r.guest;
  expect(g.status).toBe('inspected');
  expect(g.appliance?.start_seconds).toBeGreaterThan(0);
  expect(g.devices).toHaveLength(1);
  expect(g.devices[0]).toMatchObject({ device: '/dev/sda', disk_id: 'disk-1', size_bytes: FACTS.debian.virtualSize, partition_table: 'msdos' });
  expect(g.devices[0]!.partitions.map((p) => [p.number, p.start_bytes, p.size_bytes, p.mbr_id, p.bootable])).toEqual(
    FACTS.debian.partitions.map((p) => [p.number, p.start, p.size, `0x${p.mbrType.toString(16)}`, p.bootable]),
  );
  expect(g.filesystems.map((f) => [f.device, f.type, f.uuid, f.label, f.dirty])).toEqual([
    ['/dev/sda1', 'ext4', FACTS.debian.partitions[0].uuid, 'debian-root', false],
    ['/dev/sda2', 'swap', FACTS.debian.partitions[1].uuid, 'debian-swap', null],
  ]);
  expect(g.filesystems[0]!.size_bytes).toBeGreaterThan(1700 * 1024 * 1024);
  expect(g.lvm).toEqual({ pvs: [], vgs: [], lvs: [] });
  expect(g.roots).toHaveLength(1);
  expect(g.multiboot).toBe(false);
  const root = g.roots[0]!;
  expect(root).toMatchObject({
    root: '/dev/sda1',
    type: 'linux',
    distro: 'debian',
    product_name: DEBIAN_VERSION,
    major_version: FACTS.debian.majorVersion,
    minor_version: Number(DEBIAN_VERSION.split('.')[1]),
    arch: 'x86_64',
    hostname: FACTS.debian.hostname,
    package_format: 'deb',
    package_management: 'apt',
    osinfo: 'debian12',
  });
  expect(root.mountpoints).toEqual([{ mountpoint: '/', device: '/dev/sda1', mounted: true, error: null }]);
  expect(root.firmware).toEqual({ kind: 'bios', evidence: ['/dev/sda has an MBR partition table'], esp: null });
  expect(root.bootloader.kind).toBe('grub2');
  expect(root.bootloader.config_files).toEqual(['/boot/grub/grub.cfg', '/etc/default/grub']);
  expect(root.bootloader.cmdlines.filter((c) => c.device_refs.length).map((c) => [c.file, c.line, c.device_refs])).toEqual([
    ['/boot/grub/grub.cfg', 55, [{ param: 'root', value: '/dev/sda1', naming: 'kernel_name' }]],
    ['/boot/grub/grub.cfg', 68, [{ param: 'root', value: '/dev/sda1', naming: 'kernel_name' }]],
  ]);
  // The kernel and what its initramfs holds, read from the image itself (zstd-compressed cpio).
  expect(root.kernels).toHaveLength(1);
  const k = root.kernels[0]!;
  expect(k.version).toBe(KVER);
  expect(k.modules).toEqual({ virtio_blk: 'module', virtio_scsi: 'module', virtio_net: 'module', virtio_pci: 'module' });
  expect(k.initramfs).toMatchObject({ path: `/boot/initrd.img-${KVER}`, segments: ['zstd'], entries: INITRAMFS_LIST.length, error: null });
  expect(k.initramfs!.drivers).toEqual({ virtio_blk: 'absent', virtio_scsi: 'absent', virtio_net: 'absent', virtio_pci: 'absent' });
  for (const m of FACTS.debian.initramfsIncludes) expect(k.initramfs!.modules).toContain(m);
  for (const m of FACTS.debian.initramfsExcludes) expect(k.initramfs!.modules).not.toContain(m);
  expect(root.fstab!.map((e) => [e.line, e.spec, e.naming])).toEqual([
    [4, '/dev/sda1', 'kernel_name'],
    [5, '/dev/sda2', 'kernel_name'],
    [6, '/dev/sr0', 'kernel_name'],
  ]);
  expect(root.fstab![0]!.text).toBe(FACTS.debian.fstab.root);
  expect(root.crypttab).toBeNull();
  expect(root.selinux).toEqual({ mode: null, policy: null, evidence: null });
  expect(root.lvm).toEqual({ use_devicesfile: null, filter: null, global_filter: null, devices_file: null });
  expect(root.network.map((n) => [n.file, n.kind, n.interfaces, n.mac_pins.map((m) => m.mac)])).toEqual([
    ['/etc/network/interfaces', 'ifupdown', [FACTS.debian.nic], [FACTS.debian.mac]],
    ['/etc/systemd/network/10-ens192.link', 'networkd_link', [FACTS.debian.nic], [FACTS.debian.mac]],
  ]);
  expect(root.guest_tools).toEqual([{ vendor: 'vmware', packages: ['open-vm-tools'], files: [...FACTS.debian.vmwareTools].sort() }]);
  expect(root.cloud_init).toEqual({ installed: false, evidence: [] });
  expect(root.windows).toBeNull();
  expect(root.free_space).toEqual([{ mountpoint: '/', device: '/dev/sda1', free_bytes: g.filesystems[0]!.free_bytes, size_bytes: g.filesystems[0]!.size_bytes, required_bytes: 100 * 1024 * 1024 }]);
  expect(root.applications.count).toBeGreaterThan(100);
  // Findings: exactly these, with their fixes.
  expect(r.findings.map((f) => f.id)).toEqual(EXPECTED_IDS);
  const fix = Object.fromEntries(r.findings.map((f) => [f.id, f.remediation.kind === 'operation' ? [f.remediation.operation, f.remediation.params] : null]));
  expect(fix).toEqual({
    'fstab-device-names': ['offline_fix', { fixes: ['fstab_by_uuid'], dry_run: false }],
    'boot-device-names': ['boot_repair', { fixes: ['grub_root_by_uuid'], dry_run: false }],
    'initramfs-missing-virtio': ['initramfs_regen', { drivers: ['virtio_blk', 'virtio_net', 'virtio_pci'], kernels: [KVER], dry_run: false }],
    'vmware-tools': ['offline_fix', { fixes: ['remove_vmware_tools'], dry_run: false }],
    'network-mac-pinned': ['offline_fix', { fixes: ['unpin_network_mac'], dry_run: false }],
    'network-vmware-nic-name': ['offline_fix', { fixes: ['unpin_network_mac'], dry_run: false }],
  });
  expect(r.summary).toEqual({ blockers: 3, warnings: 3, infos: 0 });
}

describe('Debian 12 VMware guest', () => {
  it('vmdk (monolithicSparse) through `h2k-worker inspect --json`: one appliance, the full report', async () => {
    const data = tempDir('h2k-inspect-cli-');
    dirs.push(data);
    const t0 = performance.now();
    const r = await execa(process.execPath, ['--import', 'tsx', join(REPO, 'electron/cli/entry.ts'), 'inspect', '--json', fixtures['debian-vmdk-monolithicSparse']], {
      reject: false,
      cwd: REPO,
      env: { H2K_DATA_DIR: data.path },
    });
    const wall = (performance.now() - t0) / 1000;
    expect(r.exitCode, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as unknown;
    const schema = JSON.parse(readFileSync(join(REPO, 'docs/protocol/InspectionReport.json'), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(json), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const report = InspectionReport.parse(json);
    capture('debian-vmware', report);
    expect(report.disks[0]).toMatchObject({ disk_id: 'disk-1', guest_device: '/dev/sda', error: null, image: { format: 'vmdk', subformat: 'monolithicSparse', virtual_size: FACTS.debian.virtualSize } });
    expectDebianGuest(report);
    console.info(`[inspect appliance] debian vmdk via CLI: ${wall.toFixed(1)} s wall, appliance start ${report.timings.appliance_start_s} s, guest ${report.timings.guest_s} s, image ${report.timings.image_s} s`);

    // The job as stored: image facts first (log events), then the guest's progress; ONE guestfish.
    const w = openWorker({ dataDir: data.path });
    try {
      const [job] = (await dispatch(w.service, 'jobs.list', { limit: 5 })).jobs;
      const events = (await dispatch(w.service, 'jobs.events', { id: job!.id, after_seq: 0, limit: 5000 })).events as WorkerEvent[];
      const firstImageLog = events.findIndex((e) => e.type === 'log' && e.source === 'image');
      const firstApplianceProgress = events.findIndex((e) => e.type === 'progress' && e.stage === 'appliance-start');
      expect(firstImageLog).toBeGreaterThan(-1);
      expect(firstApplianceProgress).toBeGreaterThan(firstImageLog);
      const stages = [...new Set(events.flatMap((e) => (e.type === 'progress' ? [e.stage] : [])))];
      // Stored progress is throttled (about 10 a second); steps of a second or more always show.
      expect(stages).toEqual(expect.arrayContaining(['image', 'appliance-start', 'guest-inspect', 'done']));
      expect(stages.indexOf('appliance-start')).toBeLessThan(stages.indexOf('guest-inspect'));
      // The OS by its name (libguestfs' product name for Debian is the bare /etc/debian_version).
      const messages = events.flatMap((e) => (e.type === 'progress' && e.message ? [e.message] : []));
      expect(messages.filter((m) => /^(mounting|reading) /.test(m)).length).toBeGreaterThan(0);
      expect(messages.filter((m) => /^(mounting|reading) /.test(m) && !/^(mounting|reading) Debian GNU\/Linux 12$/.test(m))).toEqual([]);
      expect(events.flatMap((e) => (e.type === 'log' && e.source === 'guestfish' ? [e.message] : []))).toContain('guest: /dev/sda1 Debian GNU/Linux 12');
      const procs = processesOf(w, job!.id);
      expect(procs.filter((p) => p.command === 'guestfish')).toHaveLength(1);
      expect(procs.filter((p) => p.ended_at === null)).toEqual([]);
      expect(procs.some((p) => p.command === 'zstd')).toBe(true);
    } finally {
      await w.close();
    }
    expect(processesMentioning(data.path)).toEqual([]);
  });

  it('.ova: the in-tar disk served read-only by qemu-nbd, same guest, the package facts', async () => {
    const data = tempDir('h2k-inspect-ova-');
    dirs.push(data);
    const w = openWorker({ dataDir: data.path, runner: { pollMs: 50 } });
    try {
      w.startRunner();
      const job = await dispatch(w.service, 'jobs.submit', { spec: { operation: 'inspect', params: { disks: [fixtures['debian-ova']] } } });
      await waitFor(() => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(w.store.stateOf(job.id)), 'the OVA inspection to end', 580_000, 500);
      const d = await dispatch(w.service, 'jobs.get', { id: job.id });
      expect(d.summary.state, JSON.stringify(d.summary.error)).toBe('COMPLETED');
      const report = InspectionReport.parse(d.result!.payload);
      capture('debian-ova', report);
      expect(report.packages[0]).toMatchObject({ kind: 'ova', dialect: 'ovftool', manifest: { present: true, checked: true, ok: true } });
      expect(report.disks[0]).toMatchObject({ guest_device: '/dev/sda', source: { kind: 'package', member: 'debian-vmware-disk1.vmdk', location: { kind: 'tar' } }, image: { format: 'vmdk', subformat: 'streamOptimized' } });
      expectDebianGuest(report);
      const procs = processesOf(w, job.id);
      expect(procs.filter((p) => p.command === 'guestfish')).toHaveLength(1);
      expect(procs.filter((p) => p.command === 'qemu-nbd')).toHaveLength(1);
      expect(procs.filter((p) => p.ended_at === null)).toEqual([]);
      for (const p of procs) expect(liveGroupMembers(p.pgid)).toEqual([]);
      expect(readdirSync('/tmp').filter((n) => n.startsWith('h2k-nbd-'))).toEqual([]);
      console.info(`[inspect appliance] debian ova: appliance start ${report.timings.appliance_start_s} s, guest ${report.timings.guest_s} s, total ${report.timings.total_s} s`);
    } finally {
      await w.close();
    }
  });

  it('cancel during the appliance start kills guestfish and qemu (the whole group) and cleans up', async () => {
    const data = tempDir('h2k-inspect-cancel-');
    dirs.push(data);
    const w = openWorker({ dataDir: data.path, runner: { pollMs: 50, graceMs: 1000 } });
    try {
      w.startRunner();
      const job = await dispatch(w.service, 'jobs.submit', { spec: { operation: 'inspect', params: { disks: [fixtures['debian-qcow2']] } } });
      await waitFor(() => w.store.summary(job.id).last_progress?.stage === 'appliance-start', 'the appliance to be starting', 120_000, 100);
      const gf = processesOf(w, job.id).find((p) => p.command === 'guestfish')!;
      expect(gf).toBeDefined();
      const qemuInGroup = () => liveGroupMembers(gf.pgid).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu-system');
        } catch {
          return false;
        }
      });
      await waitFor(() => qemuInGroup().length === 1, 'qemu-system (the appliance) to run under guestfish', 60_000, 100);
      await dispatch(w.service, 'jobs.cancel', { id: job.id });
      await waitFor(() => w.store.stateOf(job.id) === 'CANCELLED', 'CANCELLED', 60_000, 100);
      await waitFor(() => liveGroupMembers(gf.pgid).length === 0, 'the process group to be gone', 15_000, 100);
      expect(processesOf(w, job.id).filter((p) => p.ended_at === null)).toEqual([]);
      expect(readdirSync(w.scratchDir)).toEqual([]);
      expect(processesMentioning(w.scratchDir)).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
