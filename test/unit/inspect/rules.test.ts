/**
 * The rules engine over facts CAPTURED from real inspections of the fixture guests (captured/
 * *.report.json, written by the appliance tests with H2K_CAPTURE_FACTS=1), over copies of them
 * with one fact changed (said so in each test), and over HAND-WRITTEN Windows facts
 * (fake-windows-facts.ts: no Windows guest can be built here). Every test names the findings it
 * expects raised AND those it expects not raised, and each remediation's operation and params.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionReport, JobSpec, type Finding, type OsRoot, type TargetProfile } from '../../../shared/protocol';
import { REMEDIATION_PARAMS, evaluateRules, summarize } from '../../../electron/engine/rules/engine';
import { RULES } from '../../../electron/engine/rules/table';
import { fakeWindowsGuest, fakeWindowsRoot } from './fake-windows-facts';

type Facts = Pick<InspectionReport, 'disks' | 'packages' | 'guest' | 'destination'>;

function captured(name: string): Facts {
  const r = InspectionReport.parse(JSON.parse(readFileSync(join(import.meta.dirname, 'captured', `${name}.report.json`), 'utf8')));
  return { disks: r.disks, packages: r.packages, guest: r.guest, destination: r.destination };
}
const clone = <T>(x: T): T => structuredClone(x);
const T = (disk_bus: TargetProfile['disk_bus'] = 'virtio-blk', firmware: TargetProfile['firmware'] = 'bios'): TargetProfile => ({ disk_bus, firmware });
const ALL_IDS = RULES.map((r) => r.id);
const raisedAnywhere = new Set<string>();

/** Evaluate, remember what was raised, and check every remediation is a valid job spec. */
function run(f: Facts, target = T()): Finding[] {
  const findings = evaluateRules(f, target);
  for (const x of findings) {
    raisedAnywhere.add(x.id);
    if (x.remediation.kind === 'operation') {
      const { operation, params } = x.remediation;
      expect(() => REMEDIATION_PARAMS[operation as keyof typeof REMEDIATION_PARAMS].parse(params)).not.toThrow();
      expect(JobSpec.safeParse({ operation, params: { ...params, disks: ['/converted/disk-1.qcow2'] } }).success).toBe(true);
    }
  }
  return findings;
}
const ids = (f: Finding[]) => f.map((x) => x.id);
const byId = (f: Finding[], id: string) => {
  const x = f.find((y) => y.id === id);
  if (!x) throw new Error(`finding ${id} not raised (raised: ${ids(f).join(', ')})`);
  return x;
};
const notRaised = (f: Finding[], expected: string[]) => ALL_IDS.filter((id) => !expected.includes(id)).filter((id) => ids(f).includes(id));
const op = (f: Finding) => (f.remediation.kind === 'operation' ? { operation: f.remediation.operation, params: f.remediation.params } : null);

describe('the rule table', () => {
  it('has unique, stable-looking ids and remediations valid for their operation', () => {
    expect(new Set(ALL_IDS).size).toBe(ALL_IDS.length);
    for (const r of RULES) {
      expect(r.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      if (r.remediation.kind === 'manual') expect(r.remediation.steps.length).toBeGreaterThan(0);
    }
  });

  it('every id is documented in docs/inspection.md with its severity', () => {
    const doc = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'inspection.md'), 'utf8');
    for (const r of RULES) expect(doc, r.id).toMatch(new RegExp(`\`${r.id}\`.*\\b${r.severity}\\b`));
  });
});

describe('captured: Debian 12 VMware guest (debian-monolithicSparse.vmdk)', () => {
  const facts = captured('debian-vmware');
  const EXPECTED = ['fstab-device-names', 'boot-device-names', 'initramfs-missing-virtio', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name'];

  it('virtio-blk + BIOS: exactly the expected findings, with their fixes', () => {
    const f = run(facts);
    expect(ids(f)).toEqual(EXPECTED);
    expect(notRaised(f, EXPECTED)).toEqual([]);
    expect(summarize(f)).toEqual({ blockers: 3, warnings: 3, infos: 0 });
    const fstab = byId(f, 'fstab-device-names');
    expect(fstab.severity).toBe('blocker');
    expect(fstab.root).toBe('/dev/sda1');
    expect(fstab.evidence).toEqual([
      { kind: 'file', file: '/etc/fstab', line: 4, text: '/dev/sda1       /               ext4    errors=remount-ro 0       1' },
      { kind: 'file', file: '/etc/fstab', line: 5, text: '/dev/sda2       none            swap    sw              0       0' },
    ]);
    expect(op(fstab)).toEqual({ operation: 'offline_fix', params: { fixes: ['fstab_by_uuid'], dry_run: false } });
    const boot = byId(f, 'boot-device-names');
    expect(boot.evidence.map((e) => [e.file, e.line])).toEqual([
      ['/boot/grub/grub.cfg', 55],
      ['/boot/grub/grub.cfg', 68],
    ]);
    expect(op(boot)).toEqual({ operation: 'boot_repair', params: { fixes: ['grub_root_by_uuid'], dry_run: false } });
    const kver = facts.guest.roots[0]!.kernels[0]!.version;
    expect(op(byId(f, 'initramfs-missing-virtio'))).toEqual({ operation: 'initramfs_regen', params: { drivers: ['virtio_blk', 'virtio_net', 'virtio_pci'], kernels: [kver], dry_run: false } });
    expect(op(byId(f, 'vmware-tools'))).toEqual({ operation: 'offline_fix', params: { fixes: ['remove_vmware_tools'], dry_run: false } });
    const mac = byId(f, 'network-mac-pinned');
    expect(mac.evidence).toEqual([
      { kind: 'file', file: '/etc/network/interfaces', line: 13, text: '\thwaddress ether 00:50:56:8a:12:34' },
      { kind: 'file', file: '/etc/systemd/network/10-ens192.link', line: 2, text: 'MACAddress=00:50:56:8a:12:34' },
    ]);
    expect(op(mac)).toEqual({ operation: 'offline_fix', params: { fixes: ['unpin_network_mac'], dry_run: false } });
    expect(byId(f, 'network-vmware-nic-name').evidence.map((e) => `${e.file}:${e.line}`)).toEqual([
      '/etc/network/interfaces:11',
      '/etc/network/interfaces:12',
      '/etc/systemd/network/10-ens192.link:5',
    ]);
  });

  it('virtio-scsi: the initramfs needs virtio_scsi instead of virtio_blk', () => {
    const f = run(facts, T('virtio-scsi'));
    expect(ids(f)).toEqual(EXPECTED);
    expect(op(byId(f, 'initramfs-missing-virtio'))?.params).toMatchObject({ drivers: ['virtio_scsi', 'virtio_net', 'virtio_pci'] });
  });

  it('SATA: no virtio driver needed to boot; /dev/sdX names only fragile (warning)', () => {
    const f = run(facts, T('sata'));
    const expected = EXPECTED.filter((x) => x !== 'initramfs-missing-virtio');
    expect(ids(f)).toEqual(expected);
    expect(notRaised(f, expected)).toEqual([]);
    expect(byId(f, 'fstab-device-names').severity).toBe('warning');
    expect(byId(f, 'boot-device-names').severity).toBe('warning');
  });

  it('UEFI target for this BIOS guest: bios-guest-uefi-target', () => {
    const f = run(facts, T('virtio-blk', 'uefi'));
    expect(ids(f)).toEqual([...EXPECTED, 'bios-guest-uefi-target']);
    expect(byId(f, 'bios-guest-uefi-target').evidence.map((e) => e.text)).toEqual(['/dev/sda has an MBR partition table', 'target firmware: uefi']);
    expect(byId(f, 'bios-guest-uefi-target').severity).toBe('blocker');
    expect(ids(run(facts, T('virtio-blk', 'bios')))).not.toContain('uefi-without-ovmf');
  });
});

describe('captured: Debian 12 VMware guest from its OVA (in-tar disk over NBD)', () => {
  it('the same findings as the bare vmdk; the package facts are there', () => {
    const facts = captured('debian-ova');
    const f = run(facts);
    expect(ids(f)).toEqual(['fstab-device-names', 'boot-device-names', 'initramfs-missing-virtio', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name']);
    expect(facts.packages[0]).toMatchObject({ kind: 'ova', dialect: 'ovftool', manifest: { present: true, checked: true, ok: true } });
    expect(facts.packages[0]!.hardware).toMatchObject({ cpus: 2, memory_bytes: 2147483648, os_type: 'debian12_64Guest', nics: [{ type: 'vmxnet3' }], controllers: [{ type: 'scsi', subtype: 'pvscsi' }, { type: 'ide' }, { type: 'ide' }] });
  });

  it('(one fact changed) the OVF says EFI and the guest firmware is unknown: uefi-without-ovmf on a BIOS target', () => {
    const facts = captured('debian-ova');
    facts.packages[0]!.hardware.firmware = 'uefi';
    facts.guest.roots[0]!.firmware = { kind: 'unknown', evidence: [], esp: null };
    const f = run(facts);
    expect(ids(f)).toContain('uefi-without-ovmf');
    expect(ids(run(facts, T('virtio-blk', 'uefi')))).not.toContain('uefi-without-ovmf');
  });
});

describe('captured: RHEL 9.4 VMware guest on LVM (rhel.vmdk)', () => {
  const facts = captured('rhel9-vmware');
  const EXPECTED = ['fstab-device-names', 'initramfs-missing-virtio', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name', 'lvm-devices-file', 'lvm-filter-rejects-target', 'selinux-relabel'];

  it('virtio-blk: LVM devices file and filter, SELinux relabel after the planned repairs', () => {
    const f = run(facts);
    expect(ids(f)).toEqual(EXPECTED);
    expect(notRaised(f, EXPECTED)).toEqual([]);
    expect(byId(f, 'fstab-device-names').evidence).toEqual([{ kind: 'file', file: '/etc/fstab', line: 13, text: '/dev/sda1               /boot                   xfs     defaults        0 0' }]);
    const dev = byId(f, 'lvm-devices-file');
    expect(dev.evidence).toHaveLength(1);
    expect(dev.evidence[0]).toMatchObject({ kind: 'file', file: '/etc/lvm/devices/system.devices', line: 4 });
    expect(dev.evidence[0]!.text).toMatch(/^IDTYPE=sys_wwid IDNAME=naa\.6000c29b4e5f9a0c8d7e6f5a4b3c2d1e DEVNAME=\/dev\/sda2 PVID=\w{32} PART=2$/);
    expect(op(dev)).toEqual({ operation: 'lvm_repair', params: { fixes: ['reset_devices_file'], dry_run: false } });
    const filter = byId(f, 'lvm-filter-rejects-target');
    expect(filter.evidence).toEqual([
      { kind: 'file', file: '/etc/lvm/lvm.conf', line: 11, text: '\tfilter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]' },
      { kind: 'fact', text: 'on virtio-blk the PVs are /dev/vda2, which this filter rejects' },
    ]);
    expect(op(filter)).toEqual({ operation: 'lvm_repair', params: { fixes: ['relax_filter'], dry_run: false } });
    const se = byId(f, 'selinux-relabel');
    expect(se.evidence[0]).toEqual({ kind: 'file', file: '/etc/selinux/config', line: 7, text: 'SELINUX=enforcing' });
    expect(se.evidence[1]!.text).toBe('repairs planned: fstab-device-names, initramfs-missing-virtio, vmware-tools, network-mac-pinned, network-vmware-nic-name, lvm-devices-file, lvm-filter-rejects-target');
    expect(op(se)).toEqual({ operation: 'selinux_prep', params: { mode: 'autorelabel', dry_run: false } });
    expect(op(byId(f, 'initramfs-missing-virtio'))).toEqual({ operation: 'initramfs_regen', params: { drivers: ['virtio_blk', 'virtio_net', 'virtio_pci'], kernels: ['5.14.0-427.13.1.el9_4.x86_64'], dry_run: false } });
  });

  it('SATA: the filter accepts /dev/sda2, so only the devices file is pinned', () => {
    const f = run(facts, T('sata'));
    const expected = EXPECTED.filter((x) => x !== 'lvm-filter-rejects-target' && x !== 'initramfs-missing-virtio');
    expect(ids(f)).toEqual(expected);
    expect(notRaised(f, expected)).toEqual([]);
  });

  it('(one fact changed) SELinux permissive: no relabel finding', () => {
    const c = clone(facts);
    c.guest.roots[0]!.selinux.mode = 'permissive';
    expect(ids(run(c))).not.toContain('selinux-relabel');
  });

  it('(one fact changed) use_devicesfile = 0: the devices file is ignored by LVM, no finding', () => {
    const c = clone(facts);
    c.guest.roots[0]!.lvm.use_devicesfile = false;
    expect(ids(run(c))).not.toContain('lvm-devices-file');
  });
});

describe('captured: two-disk VM (root on sda, /srv/data from sdb)', () => {
  const facts = captured('twodisk');
  const EXPECTED = ['fstab-device-names', 'boot-device-names', 'linux-no-kernel', 'vmware-tools', 'network-mac-pinned', 'network-vmware-nic-name'];

  it('both fstab lines, the grub root, and the missing kernel', () => {
    const f = run(facts);
    expect(ids(f)).toEqual(EXPECTED);
    expect(notRaised(f, EXPECTED)).toEqual([]);
    expect(byId(f, 'fstab-device-names').evidence.map((e) => e.text.split(/\s+/).slice(0, 2).join(' '))).toEqual(['/dev/sda1 /', '/dev/sdb1 /srv/data']);
  });
});

describe('one fact changed from a captured report', () => {
  const debian = captured('debian-vmware');
  const only = (f: Finding[], id: string) => f.filter((x) => x.id === id);

  it('a dirty filesystem → fs_repair of that device', () => {
    const c = clone(debian);
    Object.assign(c.guest.filesystems[0]!, { dirty: true, dirty_evidence: 'tune2fs: journal needs_recovery' });
    const x = byId(run(c), 'filesystem-dirty');
    expect(x.severity).toBe('warning');
    expect(x.evidence).toEqual([{ kind: 'fact', text: '/dev/sda1 (ext4): tune2fs: journal needs_recovery' }]);
    expect(op(x)).toEqual({ operation: 'fs_repair', params: { filesystems: ['/dev/sda1'], dry_run: false } });
  });

  it.each([
    ['backing_missing', 'backing-missing'],
    ['extent_missing', 'extent-missing'],
    ['backing_refused', 'backing-refused'],
    ['image_truncated', 'image-truncated'],
    ['image_corrupt', 'image-corrupt'],
    ['image_encrypted', 'image-encrypted'],
    ['source_unreadable', 'image-unreadable'],
  ] as const)('a disk with %s → %s (manual, blocker), guest skipped', (code, id) => {
    const c = clone(debian);
    Object.assign(c.disks[0]!, { image: null, error: { code, message: 'm', hint: 'h', kind: 'user', detail: 'd' } });
    c.guest = { ...c.guest, status: 'skipped', reason: 'x', roots: [], filesystems: [], devices: [] };
    const f = run(c);
    expect(ids(f)).toEqual([id]);
    expect(f[0]).toMatchObject({ severity: 'blocker', disk: 'disk-1', remediation: { kind: 'manual' } });
  });

  it('image not cleanly closed, corrupt by check, internal snapshots', () => {
    const c = clone(debian);
    c.disks[0]!.image!.dirty = true;
    expect(only(run(c), 'image-not-clean')).toHaveLength(1);
    c.disks[0]!.image!.integrity = { checked: true, ok: false, corruptions: 3, leaks: 0, check_errors: 0, detail: 'ERROR cluster 5 refcount=0 reference=1' };
    expect(byId(run(c), 'image-corrupt').evidence).toEqual([{ kind: 'fact', text: 'qemu-img check: 3 corruption(s), 0 check error(s): ERROR cluster 5 refcount=0 reference=1' }]);
    c.disks[0]!.image!.snapshots = [{ id: '1', name: 'before-upgrade', date: '2024-05-01T00:00:00.000Z', vm_state_size: 0 }];
    expect(byId(run(c), 'image-has-snapshots').severity).toBe('info');
  });

  it('a disk in use by another process (its QEMU write lock held) → image-in-use, manual, blocker', () => {
    const c = clone(debian);
    expect(c.disks[0]!.image!.in_use).toBe(false); // captured before the field existed: parsed as false
    expect(ids(run(c))).not.toContain('image-in-use');
    c.disks[0]!.image!.in_use = true;
    const x = byId(run(c), 'image-in-use');
    expect(x).toMatchObject({ severity: 'blocker', disk: 'disk-1', remediation: { kind: 'manual', summary: 'Shut the VM down / stop the process before converting.' } });
    expect(x.evidence).toEqual([{ kind: 'fact', file: c.disks[0]!.image!.path, text: 'in use by another process (a running VM, qemu-nbd, qemu-io holds its write lock)' }]);
    // The image layer's note, when there is one, is the evidence (how it is known).
    const note = "in use by another process: qemu-img info without -U was refused (qemu-img: Could not open '/vms/a.qcow2': Failed to get shared \"write\" lock Is another process using the image [/vms/a.qcow2]?); read with -U (force share); the facts may change while it writes";
    c.disks[0]!.image!.notes.push(note);
    expect(byId(run(c), 'image-in-use').evidence).toEqual([{ kind: 'fact', file: c.disks[0]!.image!.path, text: note }]);
  });

  it('not enough space at the destination', () => {
    const c = clone(debian);
    c.destination = { path: '/srv/vms', free_bytes: 1000, required_bytes: 449052672, enough: false };
    expect(byId(run(c), 'dest-no-space').evidence[0]!.text).toBe('/srv/vms: 1000 bytes free, the converted qcow2 disks need 449052672 bytes (qemu-img measure)');
    c.destination.enough = true;
    expect(ids(run(c))).not.toContain('dest-no-space');
  });

  it('appliance unavailable, no OS, several OS roots', () => {
    const u = clone(debian);
    u.guest = { ...u.guest, status: 'unavailable', reason: 'the libguestfs appliance does not start on this machine', roots: [] };
    expect(ids(run(u))).toEqual(['guest-not-inspected']);
    const none = clone(debian);
    none.guest.roots = [];
    expect(ids(run(none))).toEqual(['no-operating-system']);
    const two = clone(debian);
    two.guest.roots.push({ ...clone(two.guest.roots[0]!), root: '/dev/sdb1' });
    const f = run(two);
    expect(byId(f, 'multiple-os-roots').evidence.map((e) => e.text.split(':')[0])).toEqual(['/dev/sda1', '/dev/sdb1']);
    expect(f.filter((x) => x.id === 'fstab-device-names').map((x) => x.root)).toEqual(['/dev/sda1', '/dev/sdb1']);
  });

  it('encrypted volumes: LUKS (warning), BitLocker (blocker)', () => {
    const c = clone(debian);
    c.guest.filesystems.push({ device: '/dev/sda3', type: 'crypto_LUKS', uuid: 'f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f', label: null, size_bytes: null, used_bytes: null, free_bytes: null, encryption: 'luks', dirty: null, dirty_evidence: null });
    expect(byId(run(c), 'luks-volume')).toMatchObject({ severity: 'warning', evidence: [{ kind: 'fact', text: '/dev/sda3 is crypto_LUKS (UUID f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f)' }] });
    c.guest.roots[0]!.crypttab = [{ line: 1, text: 'cryptdata /dev/sda3 none luks', name: 'cryptdata', device: '/dev/sda3', naming: 'kernel_name' }];
    expect(op(byId(run(c), 'crypttab-device-names'))).toEqual({ operation: 'offline_fix', params: { fixes: ['crypttab_by_uuid'], dry_run: false } });
  });

  it('low free space: blocker on /, warning elsewhere', () => {
    const c = clone(debian);
    c.guest.roots[0]!.free_space[0]!.free_bytes = 50 * 1024 * 1024;
    expect(byId(run(c), 'guest-low-free-space')).toMatchObject({ severity: 'blocker', evidence: [{ kind: 'fact', text: '/ (/dev/sda1) has 50.0 MiB free; 100 MiB are needed' }] });
    c.guest.roots[0]!.free_space[0] = { ...c.guest.roots[0]!.free_space[0]!, mountpoint: '/srv', free_bytes: 5 * 1024 * 1024, required_bytes: 10 * 1024 * 1024 };
    expect(byId(run(c), 'guest-low-free-space').severity).toBe('warning');
  });

  it('a kernel without virtio modules cannot be fixed by regenerating its initramfs', () => {
    const c = clone(debian);
    c.guest.roots[0]!.kernels[0]!.modules = { virtio_blk: 'absent', virtio_scsi: 'absent', virtio_net: 'absent', virtio_pci: 'absent' };
    const f = run(c);
    expect(ids(f)).toContain('kernel-lacks-virtio');
    expect(ids(f)).not.toContain('initramfs-missing-virtio');
  });

  it('built-in drivers count as present', () => {
    const c = clone(debian);
    const k = c.guest.roots[0]!.kernels[0]!;
    k.initramfs!.drivers = { virtio_blk: 'builtin', virtio_scsi: 'absent', virtio_net: 'absent', virtio_pci: 'builtin' };
    expect(ids(run(c))).not.toContain('initramfs-missing-virtio');
  });

  it('an initramfs that could not be listed, cloud-init, Hyper-V and VirtualBox tools', () => {
    const c = clone(debian);
    const r: OsRoot = c.guest.roots[0]!;
    r.kernels[0]!.initramfs!.error = 'zstd is not installed on this machine (needed for zstd-compressed initramfs)';
    r.cloud_init = { installed: true, evidence: ['package cloud-init', '/etc/cloud/cloud.cfg'] };
    r.guest_tools.push({ vendor: 'hyperv', packages: ['hyperv-daemons'], files: ['/usr/sbin/hypervkvpd'] }, { vendor: 'virtualbox', packages: ['virtualbox-guest-utils'], files: [] });
    const f = run(c);
    expect(byId(f, 'initramfs-unreadable').severity).toBe('warning');
    expect(byId(f, 'cloud-init-installed').severity).toBe('info');
    expect(op(byId(f, 'hyperv-tools'))).toEqual({ operation: 'offline_fix', params: { fixes: ['remove_hyperv_tools'], dry_run: false } });
    expect(op(byId(f, 'virtualbox-tools'))).toEqual({ operation: 'offline_fix', params: { fixes: ['remove_vbox_tools'], dry_run: false } });
  });
});

describe('fake-windows-facts (hand-written; see fake-windows-facts.ts)', () => {
  const facts = (root = fakeWindowsRoot(), bitlocker = false): Facts => ({ disks: [], packages: [], guest: fakeWindowsGuest(root, bitlocker), destination: null });

  it('hibernated, Fast Startup on, no viostor, VMware Tools, UEFI on a BIOS target', () => {
    const f = run(facts());
    const expected = ['vmware-tools', 'uefi-without-ovmf', 'windows-hibernated', 'windows-fast-startup', 'windows-no-virtio-drivers'];
    expect(ids(f)).toEqual(expected);
    expect(notRaised(f, expected)).toEqual([]);
    expect(byId(f, 'windows-fast-startup').evidence).toEqual([{ kind: 'fact', text: 'HKLM\\SYSTEM\\ControlSet001\\Control\\Session Manager\\Power\\HiberbootEnabled = 1' }]);
    expect(byId(f, 'windows-hibernated').evidence).toEqual([{ kind: 'fact', text: 'hiberfil.sys holds a hibernation image (signature "HIBR")' }]);
  });

  it('cleanly shut down, Fast Startup off, viostor installed, UEFI target: nothing Windows-specific', () => {
    const root = fakeWindowsRoot({
      hiberfil: { present: true, signature: '\0\0\0\0', hibernated: false },
      hiberboot_enabled: false,
      virtio_drivers: [
        { name: 'viostor', files: ['/Windows/System32/drivers/viostor.sys'], service: true },
        { name: 'vioscsi', files: [], service: false },
        { name: 'netkvm', files: [], service: false },
      ],
    });
    const f = run(facts(root), T('virtio-blk', 'uefi'));
    expect(ids(f)).toEqual(['vmware-tools']);
    expect(ids(run(facts(root), T('virtio-scsi', 'uefi')))).toEqual(['vmware-tools', 'windows-no-virtio-drivers']);
    expect(ids(run(facts(root), T('sata', 'uefi')))).toEqual(['vmware-tools']);
  });

  it('ntfs-3g refused the hibernated volume; BitLocker', () => {
    const root = fakeWindowsRoot({ hiberfil: { present: true, signature: null, hibernated: null }, mount_refused: 'Windows is hibernated, refused to mount.' });
    expect(byId(run(facts(root)), 'windows-hibernated').evidence).toEqual([{ kind: 'fact', text: 'ntfs-3g: Windows is hibernated, refused to mount.' }]);
    expect(byId(run(facts(fakeWindowsRoot(), true)), 'bitlocker-volume').evidence).toEqual([{ kind: 'fact', text: '/dev/sda3 has the BitLocker (-FVE-FS-) signature' }]);
  });
});

afterAll(() => {
  // Every rule of the table is raised by at least one test above (no dead rows).
  const dead = ALL_IDS.filter((id) => !raisedAnywhere.has(id));
  expect(dead).toEqual([]);
});
