/** Pure helpers of the guest collection: kernels in /boot, guest tools, firmware, Windows values. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InspectionReport, type BlockDevice, type WorkerCapabilities } from '../../../shared/protocol';
import { firmwareOf, requiredFree } from '../../../electron/engine/guest/collect';
import { guestToolsOf, kernelsInBoot } from '../../../electron/engine/guest/linux';
import { dwordFromRaw, hibernatedBySignature } from '../../../electron/engine/guest/windows';
import { applianceUnavailable } from '../../../electron/engine/ops/inspect/guest';

const MiB = 1024 * 1024;

describe('kernelsInBoot', () => {
  it('Debian and RHEL names, rescue and kdump images left out, sorted by version', () => {
    expect(kernelsInBoot(['config-6.1.0-21-amd64', 'initrd.img-6.1.0-21-amd64', 'vmlinuz-6.1.0-21-amd64', 'vmlinuz-6.1.0-9-amd64', 'grub', 'System.map-6.1.0-21-amd64'])).toEqual([
      { version: '6.1.0-9-amd64', vmlinuz: '/boot/vmlinuz-6.1.0-9-amd64', initramfs: null },
      { version: '6.1.0-21-amd64', vmlinuz: '/boot/vmlinuz-6.1.0-21-amd64', initramfs: '/boot/initrd.img-6.1.0-21-amd64' },
    ]);
    const rhel = '5.14.0-427.13.1.el9_4.x86_64';
    expect(kernelsInBoot([`vmlinuz-${rhel}`, `initramfs-${rhel}.img`, `initramfs-${rhel}kdump.img`, 'vmlinuz-0-rescue-4f2a9c1e', 'initramfs-0-rescue-4f2a9c1e.img', `.vmlinuz-${rhel}.hmac`])).toEqual([
      { version: rhel, vmlinuz: `/boot/vmlinuz-${rhel}`, initramfs: `/boot/initramfs-${rhel}.img` },
    ]);
    expect(kernelsInBoot(['vmlinuz-5.14.21-150500.53-default', 'initrd-5.14.21-150500.53-default'])[0]!.initramfs).toBe('/boot/initrd-5.14.21-150500.53-default');
  });
});

describe('guestToolsOf', () => {
  it('by package name and by file, per vendor', () => {
    expect(guestToolsOf(new Set(['bash', 'open-vm-tools', 'open-vm-tools-desktop']), new Set(['/usr/bin/vmtoolsd', '/etc/vmware-tools']))).toEqual([
      { vendor: 'vmware', packages: ['open-vm-tools', 'open-vm-tools-desktop'], files: ['/etc/vmware-tools', '/usr/bin/vmtoolsd'] },
    ]);
    expect(guestToolsOf(null, new Set(['/usr/sbin/hypervkvpd', '/opt/VBoxGuestAdditions-7.0.18']))).toEqual([
      { vendor: 'hyperv', packages: [], files: ['/usr/sbin/hypervkvpd'] },
      { vendor: 'virtualbox', packages: [], files: ['/opt/VBoxGuestAdditions-7.0.18'] },
    ]);
    expect(guestToolsOf(new Set(['hyperv-daemons', 'virtualbox-guest-utils']), new Set())).toEqual([
      { vendor: 'hyperv', packages: ['hyperv-daemons'], files: [] },
      { vendor: 'virtualbox', packages: ['virtualbox-guest-utils'], files: [] },
    ]);
    expect(guestToolsOf(new Set(['bash']), new Set())).toEqual([]);
  });
});

describe('firmwareOf', () => {
  const mbr: BlockDevice = { device: '/dev/sda', disk_id: 'disk-1', size_bytes: 2048 * MiB, partition_table: 'msdos', partitions: [{ device: '/dev/sda1', number: 1, start_bytes: MiB, end_bytes: 1793 * MiB - 1, size_bytes: 1792 * MiB, mbr_id: '0x83', gpt_type: null, bootable: true }] };
  const gpt: BlockDevice = {
    device: '/dev/sda',
    disk_id: 'disk-1',
    size_bytes: 2048 * MiB,
    partition_table: 'gpt',
    partitions: [
      { device: '/dev/sda1', number: 1, start_bytes: MiB, end_bytes: 101 * MiB - 1, size_bytes: 100 * MiB, mbr_id: null, gpt_type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', bootable: null },
      { device: '/dev/sda2', number: 2, start_bytes: 101 * MiB, end_bytes: 2047 * MiB, size_bytes: 1946 * MiB, mbr_id: null, gpt_type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', bootable: null },
    ],
  };
  it('MBR boot disk: bios', () => {
    expect(firmwareOf({ devices: [mbr], bootDevice: '/dev/sda1', espMountpoint: null, efiFiles: [], biosGrub: false, windows: false })).toEqual({ kind: 'bios', evidence: ['/dev/sda has an MBR partition table'], esp: null });
  });
  it('GPT with an ESP and EFI binaries: uefi', () => {
    expect(firmwareOf({ devices: [gpt], bootDevice: '/dev/sda2', espMountpoint: { device: '/dev/sda1', mountpoint: '/boot/efi' }, efiFiles: ['/boot/efi/EFI/rocky/shimx64.efi'], biosGrub: false, windows: false })).toEqual({
      kind: 'uefi',
      evidence: ['EFI system partition /dev/sda1', 'EFI boot files: /boot/efi/EFI/rocky/shimx64.efi'],
      esp: { device: '/dev/sda1', mountpoint: '/boot/efi' },
    });
  });
  it('both (a hybrid cloud image): bios, with both facts', () => {
    const f = firmwareOf({ devices: [gpt], bootDevice: '/dev/sda2', espMountpoint: null, efiFiles: ['/boot/efi/EFI/debian/grubx64.efi'], biosGrub: true, windows: false });
    expect(f.kind).toBe('bios');
    expect(f.evidence).toEqual(['EFI system partition /dev/sda1', 'EFI boot files: /boot/efi/EFI/debian/grubx64.efi', 'GRUB i386-pc modules in /boot']);
  });
  it('nothing to go by: unknown', () => {
    const bare: BlockDevice = { ...gpt, partitions: [gpt.partitions[1]!] };
    expect(firmwareOf({ devices: [bare], bootDevice: '/dev/sda2', espMountpoint: null, efiFiles: [], biosGrub: false, windows: false }).kind).toBe('unknown');
  });
});

describe('free space needed', () => {
  it('/ 100 MiB, /boot 50 MiB, others 10 MiB', () => {
    expect([requiredFree('/'), requiredFree('/boot'), requiredFree('/boot/efi'), requiredFree('/srv/data')]).toEqual([100 * MiB, 50 * MiB, 10 * MiB, 10 * MiB]);
  });
});

describe('Windows values', () => {
  it('REG_DWORD from the raw bytes hivex-value-value prints', () => {
    expect(dwordFromRaw('\x01\x00\x00\x00')).toBe(1);
    expect(dwordFromRaw('\x00\x00\x00\x00')).toBe(0);
    expect(dwordFromRaw('\x00\x01\x00\x00')).toBe(256);
    expect(dwordFromRaw('\ufffd\x00\x00\x00')).toBeNull();
    expect(dwordFromRaw('\x01\x00')).toBeNull();
  });
  it('hiberfil.sys signatures', () => {
    expect(['hibr', 'HIBR', 'RSTR', 'wake', '\0\0\0\0', 'abcd'].map((s) => hibernatedBySignature(s))).toEqual([true, true, true, false, false, null]);
    expect(hibernatedBySignature(null)).toBeNull();
  });
});

describe('applianceUnavailable', () => {
  const caps = (over: Partial<WorkerCapabilities['appliance']>, guestfish = true) =>
    ({
      tools: [{ name: 'guestfish', available: guestfish, path: guestfish ? '/usr/bin/guestfish' : null, version: null, hint: guestfish ? null : 'apt-get install libguestfs-tools' }],
      appliance: { probed: true, usable: true, accelerator: 'tcg', start_seconds: 30, backend: 'direct', attempts: [], hint: null, ...over },
    }) as unknown as WorkerCapabilities;
  it('says why, or null when the appliance works', () => {
    expect(applianceUnavailable(caps({}))).toBeNull();
    expect(applianceUnavailable(caps({}, false))).toBe('guestfish is not installed (apt-get install libguestfs-tools)');
    expect(applianceUnavailable(caps({ usable: false, attempts: [{ accelerator: 'kvm', outcome: 'timeout', seconds: 120, detail: null }, { accelerator: 'tcg', outcome: 'error', seconds: 3, detail: 'x' }], hint: 'install a kernel' }))).toBe(
      'the libguestfs appliance does not start on this machine (kvm timeout after 120 s, tcg error after 3 s): install a kernel',
    );
  });
});

describe('captured reports', () => {
  it.each(['debian-vmware', 'rhel9-vmware', 'twodisk', 'debian-ova'])('%s parses as an InspectionReport', (name) => {
    const r = InspectionReport.parse(JSON.parse(readFileSync(join(import.meta.dirname, 'captured', `${name}.report.json`), 'utf8')));
    expect(r.guest.status).toBe('inspected');
  });
});
