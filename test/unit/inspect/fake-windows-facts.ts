/**
 * fake-windows-facts: HAND-WRITTEN, not captured. No Windows guest can be built on this
 * project's machines, so the Windows rules are tested over facts shaped exactly as
 * electron/engine/guest/windows.ts and collect.ts produce them (OsRoot with `windows` set), for
 * a Windows Server 2019 guest on VMware: GPT + ESP, NTFS C: on /dev/sda3, VMware Tools
 * installed, no virtio drivers, Fast Startup on and a hibernation image in hiberfil.sys.
 */
import type { GuestFacts, OsRoot } from '../../../shared/protocol';

export function fakeWindowsRoot(over: Partial<OsRoot['windows'] & object> = {}): OsRoot {
  return {
    root: '/dev/sda3',
    type: 'windows',
    distro: 'windows',
    product_name: 'Windows Server 2019 Standard',
    product_variant: 'Server',
    major_version: 10,
    minor_version: 0,
    arch: 'x86_64',
    hostname: 'WIN-FAKE01',
    package_format: null,
    package_management: null,
    osinfo: 'win2k19',
    mountpoints: [{ mountpoint: '/', device: '/dev/sda3', mounted: true, error: null }],
    firmware: { kind: 'uefi', evidence: ['EFI system partition /dev/sda1'], esp: { device: '/dev/sda1', mountpoint: null } },
    bootloader: { kind: 'windows_bootmgr', config_files: [], cmdlines: [] },
    kernels: [],
    fstab: null,
    crypttab: null,
    lvm: { use_devicesfile: null, filter: null, global_filter: null, devices_file: null },
    selinux: { mode: null, policy: null, evidence: null },
    network: [],
    guest_tools: [{ vendor: 'vmware', packages: ['vmware tools'], files: [] }],
    cloud_init: { installed: false, evidence: [] },
    windows: {
      systemroot: '/Windows',
      current_control_set: 'ControlSet001',
      hiberfil: { present: true, signature: 'HIBR', hibernated: true },
      mount_refused: null,
      hiberboot_enabled: true,
      virtio_drivers: [
        { name: 'viostor', files: [], service: false },
        { name: 'vioscsi', files: [], service: false },
        { name: 'netkvm', files: [], service: false },
      ],
      ...over,
    },
    free_space: [{ mountpoint: '/', device: '/dev/sda3', free_bytes: 20 * 1024 ** 3, size_bytes: 60 * 1024 ** 3, required_bytes: 100 * 1024 * 1024 }],
    applications: { count: 14, error: null },
    notes: [],
  };
}

export function fakeWindowsGuest(root: OsRoot = fakeWindowsRoot(), bitlocker = false): GuestFacts {
  return {
    status: 'inspected',
    reason: null,
    appliance: { backend: 'direct', accelerator: 'tcg', start_seconds: 30 },
    devices: [
      {
        device: '/dev/sda',
        disk_id: 'disk-1',
        size_bytes: 64 * 1024 ** 3,
        partition_table: 'gpt',
        partitions: [
          { device: '/dev/sda1', number: 1, start_bytes: 1048576, end_bytes: 105906175, size_bytes: 104857600, mbr_id: null, gpt_type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', bootable: null },
          { device: '/dev/sda2', number: 2, start_bytes: 105906176, end_bytes: 122683391, size_bytes: 16777216, mbr_id: null, gpt_type: 'E3C9E316-0B5C-4DB8-817D-F92DF00215AE', bootable: null },
          { device: '/dev/sda3', number: 3, start_bytes: 122683392, end_bytes: 68718428159, size_bytes: 68595744768, mbr_id: null, gpt_type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', bootable: null },
        ],
      },
    ],
    filesystems: [
      { device: '/dev/sda1', type: 'vfat', uuid: 'A1B2-C3D4', label: null, size_bytes: 104857600, used_bytes: 30000000, free_bytes: 74857600, encryption: null, dirty: null, dirty_evidence: null },
      bitlocker
        ? { device: '/dev/sda3', type: 'BitLocker', uuid: null, label: null, size_bytes: null, used_bytes: null, free_bytes: null, encryption: 'bitlocker', dirty: null, dirty_evidence: null }
        : { device: '/dev/sda3', type: 'ntfs', uuid: '0A1B2C3D4E5F6071', label: null, size_bytes: 64 * 1024 ** 3, used_bytes: 44 * 1024 ** 3, free_bytes: 20 * 1024 ** 3, encryption: null, dirty: null, dirty_evidence: null },
    ],
    lvm: { pvs: [], vgs: [], lvs: [] },
    roots: [root],
    multiboot: false,
    notes: [],
  };
}
