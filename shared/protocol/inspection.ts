/**
 * InspectionReport and Finding: what `inspect` learns about a VM's disks and guest, and what
 * will break on KVM. A finding names the operation (and its parameters) that remedies it, so a
 * client can offer the fix as the next job; where no operation can, it gives manual steps.
 *
 * Sources of the facts: `disks[].image` comes from qemu-img and the file's own header (image
 * layer, ImageFacts); `packages` from the OVF descriptor and manifest; `guest` from ONE
 * libguestfs appliance with every disk of the VM attached read-only (guestfish inspect-*, file
 * reads, LVM and partition listings, hivex for Windows hives). Sizes are bytes, times seconds.
 */
import { z } from 'zod';
import { Bytes, ErrorInfo, ImageFormat, Seconds } from './common';
import { ImageFacts } from './image';
import { OperationType, TargetProfile } from './job-spec';

export const Severity = z.enum(['blocker', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

export const Evidence = z.object({
  kind: z.enum(['file', 'fact']),
  file: z.string().optional().describe('guest path, e.g. /etc/fstab (or the host path of an image)'),
  line: z.number().int().positive().optional().describe('1-based line number in that file'),
  text: z.string().describe('the line, or the fact in words'),
});
export type Evidence = z.infer<typeof Evidence>;

export const Remediation = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('operation'),
    operation: OperationType,
    params: z.record(z.string(), z.unknown()).describe("the operation's params, less `disks` (the converted output)"),
    target: z.literal('converted_output').describe('repairs always apply to the converted copy, never the source'),
    summary: z.string(),
  }),
  z.object({
    kind: z.literal('manual'),
    steps: z.array(z.string()).min(1),
    summary: z.string(),
  }),
]);
export type Remediation = z.infer<typeof Remediation>;

export const Finding = z
  .object({
    id: z.string().describe('stable rule id, e.g. fstab-device-names'),
    severity: Severity,
    title: z.string(),
    evidence: z.array(Evidence),
    remediation: Remediation,
    disk: z.string().optional().describe('the disk the finding is about, when it is about one'),
    root: z.string().optional().describe('the guest OS root (device) the finding is about, when the guest has one or more'),
  })
  .describe('Finding');
export type Finding = z.infer<typeof Finding>;

// ---------------------------------------------------------------------------------------------
// OVA / OVF packages
// ---------------------------------------------------------------------------------------------

export const PackageDiskLocation = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('file'), path: z.string().describe('absolute host path of the disk file') }),
  z.object({
    kind: z.literal('tar'),
    tar_path: z.string().describe('absolute host path of the .ova'),
    offset: Bytes.describe('byte offset of the member data inside the .ova'),
    size: Bytes.describe('member size'),
  }),
]);
export type PackageDiskLocation = z.infer<typeof PackageDiskLocation>;

export const PackageReport = z
  .object({
    path: z.string().describe('absolute path of the .ova or .ovf'),
    kind: z.enum(['ova', 'ovf']),
    dialect: z.string().nullable().describe('exporter family recognised from the descriptor (vmware, virtualbox, ...)'),
    manifest: z
      .object({
        present: z.boolean(),
        checked: z.boolean().describe('every listed file was hashed and compared'),
        ok: z.boolean().nullable().describe('null when not checked'),
        detail: z.string().nullable(),
      })
      .describe('the .mf manifest and its check'),
    hardware: z.object({
      name: z.string().nullable(),
      cpus: z.number().int().positive().nullable(),
      memory_bytes: Bytes.nullable(),
      firmware: z.enum(['bios', 'uefi']).nullable(),
      os_type: z.string().nullable().describe('the OVF OperatingSystemSection osType (or its description)'),
      nics: z.array(z.object({ type: z.string().nullable(), mac: z.string().nullable(), network: z.string().nullable() })),
      controllers: z.array(z.object({ type: z.string().describe('ide, scsi, sata, nvme, ...'), subtype: z.string().nullable().describe('lsilogic, pvscsi, AHCI, ...') })),
    }),
    disks: z.array(
      z.object({
        disk_id: z.string(),
        file: z.string().describe('file name as the descriptor names it'),
        capacity_bytes: Bytes.nullable(),
        format: ImageFormat.nullable(),
        location: PackageDiskLocation,
      }),
    ),
    notes: z.array(z.string()),
  })
  .describe('PackageReport');
export type PackageReport = z.infer<typeof PackageReport>;

// ---------------------------------------------------------------------------------------------
// Disks
// ---------------------------------------------------------------------------------------------

export const DiskReport = z
  .object({
    disk_id: z.string().describe('disk-1, disk-2, ... in the order given (package disks in descriptor order)'),
    source: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('file'), path: z.string() }),
      z.object({ kind: z.literal('package'), package: z.string(), member: z.string(), location: PackageDiskLocation }),
    ]),
    guest_device: z.string().nullable().describe('the whole-disk device the appliance saw it as (/dev/sda, ...); null when the guest was not inspected'),
    image: ImageFacts.nullable().describe('null when the image could not be read; `error` says why'),
    error: ErrorInfo.nullable().describe('why the image is unusable (backing_missing, extent_missing, image_truncated, ...)'),
  })
  .describe('DiskReport');
export type DiskReport = z.infer<typeof DiskReport>;

// ---------------------------------------------------------------------------------------------
// Guest facts (libguestfs)
// ---------------------------------------------------------------------------------------------

/** How a configuration names a block device. Kernel names and by-path/by-id change on KVM. */
export const DeviceNaming = z.enum([
  'kernel_name',
  'by_path',
  'by_id',
  'by_uuid',
  'by_label',
  'by_partuuid',
  'by_partlabel',
  'uuid',
  'label',
  'partuuid',
  'partlabel',
  'mapper',
  'lvm',
  'md',
  'other',
]);
export type DeviceNaming = z.infer<typeof DeviceNaming>;

const Line = { line: z.number().int().positive().describe('1-based line number'), text: z.string().describe('the line as written') };

export const Partition = z.object({
  device: z.string(),
  number: z.number().int().positive(),
  start_bytes: Bytes,
  end_bytes: Bytes.describe('last byte, inclusive (as parted reports it)'),
  size_bytes: Bytes,
  mbr_id: z.string().nullable().describe('MBR partition type byte, e.g. 0x83; null on GPT'),
  gpt_type: z.string().nullable().describe('GPT partition type GUID (upper case); null on MBR'),
  bootable: z.boolean().nullable().describe('MBR active flag; null on GPT'),
});
export type Partition = z.infer<typeof Partition>;

export const BlockDevice = z.object({
  device: z.string().describe('/dev/sda, ... as the appliance names it'),
  disk_id: z.string().nullable(),
  size_bytes: Bytes.nullable(),
  partition_table: z.enum(['msdos', 'gpt']).nullable().describe('null: no partition table (whole-disk filesystem, PV or blank)'),
  partitions: z.array(Partition),
});
export type BlockDevice = z.infer<typeof BlockDevice>;

export const Filesystem = z.object({
  device: z.string(),
  type: z.string().describe('as blkid names it: ext4, xfs, vfat, ntfs, swap, crypto_LUKS, BitLocker, LVM2_member, unknown'),
  uuid: z.string().nullable(),
  label: z.string().nullable(),
  size_bytes: Bytes.nullable().describe('filesystem size from statvfs (blocks × fragment size); null when not mountable'),
  used_bytes: Bytes.nullable(),
  free_bytes: Bytes.nullable().describe('available to unprivileged users (bavail × fragment size)'),
  encryption: z.enum(['luks', 'bitlocker']).nullable(),
  dirty: z.boolean().nullable().describe('not cleanly unmounted: ext* state/needs_recovery, XFS log recovery at mount; null when unknown'),
  dirty_evidence: z.string().nullable(),
});
export type Filesystem = z.infer<typeof Filesystem>;

export const LvmFacts = z.object({
  pvs: z.array(z.object({ device: z.string(), uuid: z.string(), size_bytes: Bytes })),
  vgs: z.array(z.object({ name: z.string(), uuid: z.string(), size_bytes: Bytes, free_bytes: Bytes, pv_count: z.number().int().nonnegative(), lv_count: z.number().int().nonnegative() })),
  lvs: z.array(z.object({ device: z.string().describe('/dev/VG/LV'), name: z.string(), vg: z.string(), size_bytes: Bytes })),
});
export type LvmFacts = z.infer<typeof LvmFacts>;

export const FstabEntry = z.object({
  ...Line,
  spec: z.string().describe('first field: the device, UUID=, LABEL=, ...'),
  mountpoint: z.string(),
  fstype: z.string(),
  options: z.string(),
  naming: DeviceNaming,
});
export type FstabEntry = z.infer<typeof FstabEntry>;

export const CrypttabEntry = z.object({ ...Line, name: z.string(), device: z.string(), naming: DeviceNaming });
export type CrypttabEntry = z.infer<typeof CrypttabEntry>;

export const DeviceRef = z.object({ param: z.string().describe('root, resume, ...'), value: z.string(), naming: DeviceNaming });
export type DeviceRef = z.infer<typeof DeviceRef>;

export const KernelCmdline = z.object({
  ...Line,
  file: z.string(),
  source: z.enum(['grub_cfg', 'default_grub', 'bls_entry', 'kernel_cmdline', 'grub_legacy']),
  device_refs: z.array(DeviceRef).describe('root=, resume= and similar parameters that name a block device'),
});
export type KernelCmdline = z.infer<typeof KernelCmdline>;

export const VirtioDriver = z.enum(['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci']);
export type VirtioDriver = z.infer<typeof VirtioDriver>;

export const DriverPresence = z.object({
  virtio_blk: z.enum(['module', 'builtin', 'absent']).nullable(),
  virtio_scsi: z.enum(['module', 'builtin', 'absent']).nullable(),
  virtio_net: z.enum(['module', 'builtin', 'absent']).nullable(),
  virtio_pci: z.enum(['module', 'builtin', 'absent']).nullable(),
});
export type DriverPresence = z.infer<typeof DriverPresence>;

export const InitramfsFacts = z.object({
  path: z.string(),
  size_bytes: Bytes,
  segments: z.array(z.string()).describe('the concatenated archives in order: cpio, gzip, zstd, xz, lzma, lz4, bzip2'),
  entries: z.number().int().nonnegative().describe('files listed in all segments'),
  modules: z.array(z.string()).describe('kernel modules in it (names without .ko and compression suffix), sorted'),
  drivers: DriverPresence.describe('module: the .ko is in the initramfs; builtin: in the kernel (modules.builtin); absent; null: unknown'),
  error: z.string().nullable().describe('why the listing is incomplete, e.g. a decompressor missing on this machine'),
});
export type InitramfsFacts = z.infer<typeof InitramfsFacts>;

export const KernelFacts = z.object({
  version: z.string(),
  vmlinuz: z.string().nullable(),
  initramfs: InitramfsFacts.nullable().describe('null when no initramfs file was found for this kernel'),
  modules: DriverPresence.nullable().describe('what /lib/modules/VERSION provides (modules.dep, modules.builtin); null when absent'),
});
export type KernelFacts = z.infer<typeof KernelFacts>;

export const NetworkConfig = z.object({
  file: z.string(),
  kind: z.enum(['ifupdown', 'nm_keyfile', 'ifcfg', 'networkd_network', 'networkd_link', 'netplan', 'udev_rules']),
  interfaces: z.array(z.string()),
  mac_pins: z.array(z.object({ ...Line, mac: z.string() })).describe('lines that match or set a MAC address'),
  vmware_names: z.array(z.object({ ...Line, name: z.string() })).describe('lines naming VMware NICs (ens160, ens192, ens224, ens256, ...)'),
});
export type NetworkConfig = z.infer<typeof NetworkConfig>;

export const GuestTools = z.object({
  vendor: z.enum(['vmware', 'hyperv', 'virtualbox']),
  packages: z.array(z.string()),
  files: z.array(z.string()),
});
export type GuestTools = z.infer<typeof GuestTools>;

export const WindowsFacts = z.object({
  systemroot: z.string().nullable(),
  current_control_set: z.string().nullable(),
  hiberfil: z.object({
    present: z.boolean(),
    signature: z.string().nullable().describe('first 4 bytes of hiberfil.sys: hibr/HIBR = a hibernation image, wake/zeros = none'),
    hibernated: z.boolean().nullable(),
  }),
  mount_refused: z.string().nullable().describe('ntfs-3g refused to mount (it refuses hibernated volumes): its message'),
  hiberboot_enabled: z.boolean().nullable().describe('Fast Startup, HKLM\\SYSTEM\\<ControlSet>\\Control\\Session Manager\\Power\\HiberbootEnabled'),
  virtio_drivers: z.array(
    z.object({
      name: z.enum(['viostor', 'vioscsi', 'netkvm']),
      files: z.array(z.string()).describe('System32\\drivers\\NAME.sys and DriverStore\\FileRepository\\NAME.inf_* found'),
      service: z.boolean().nullable().describe('Services\\NAME key exists in the SYSTEM hive'),
    }),
  ),
});
export type WindowsFacts = z.infer<typeof WindowsFacts>;

export const OsRoot = z.object({
  root: z.string().describe('root filesystem device'),
  type: z.string().describe('linux, windows, freebsd, ... (inspect-get-type)'),
  distro: z.string().nullable(),
  product_name: z.string().nullable(),
  product_variant: z.string().nullable(),
  major_version: z.number().int().nullable(),
  minor_version: z.number().int().nullable(),
  arch: z.string().nullable(),
  hostname: z.string().nullable(),
  package_format: z.string().nullable(),
  package_management: z.string().nullable(),
  osinfo: z.string().nullable(),
  mountpoints: z.array(z.object({ mountpoint: z.string(), device: z.string(), mounted: z.boolean(), error: z.string().nullable() })),
  firmware: z.object({
    kind: z.enum(['bios', 'uefi', 'unknown']),
    evidence: z.array(z.string()),
    esp: z.object({ device: z.string(), mountpoint: z.string().nullable() }).nullable(),
  }),
  bootloader: z.object({
    kind: z.enum(['grub2', 'grub_legacy', 'systemd_boot', 'windows_bootmgr', 'unknown']),
    config_files: z.array(z.string()),
    cmdlines: z.array(KernelCmdline),
  }),
  kernels: z.array(KernelFacts),
  fstab: z.array(FstabEntry).nullable().describe('null when /etc/fstab is absent'),
  crypttab: z.array(CrypttabEntry).nullable(),
  lvm: z.object({
    use_devicesfile: z.boolean().nullable().describe('devices/use_devicesfile in lvm.conf; null when not set (LVM ≥ 2.03.12 defaults to 1 when the file exists)'),
    filter: z.object({ ...Line, file: z.string(), patterns: z.array(z.string()) }).nullable(),
    global_filter: z.object({ ...Line, file: z.string(), patterns: z.array(z.string()) }).nullable(),
    devices_file: z
      .object({
        file: z.string(),
        entries: z.array(z.object({ ...Line, idtype: z.string().nullable(), idname: z.string().nullable(), devname: z.string().nullable(), pvid: z.string().nullable() })),
      })
      .nullable(),
  }),
  selinux: z.object({
    mode: z.enum(['enforcing', 'permissive', 'disabled']).nullable().describe('SELINUX= in /etc/selinux/config; null when absent'),
    policy: z.string().nullable(),
    evidence: z.object({ ...Line, file: z.string() }).nullable(),
  }),
  network: z.array(NetworkConfig),
  guest_tools: z.array(GuestTools),
  cloud_init: z.object({ installed: z.boolean(), evidence: z.array(z.string()) }),
  windows: WindowsFacts.nullable(),
  free_space: z.array(
    z.object({ mountpoint: z.string(), device: z.string(), free_bytes: Bytes, size_bytes: Bytes, required_bytes: Bytes.describe('what conversion and repairs need free there') }),
  ),
  applications: z.object({ count: z.number().int().nonnegative().nullable(), error: z.string().nullable() }),
  notes: z.array(z.string()),
});
export type OsRoot = z.infer<typeof OsRoot>;

export const GuestFacts = z
  .object({
    status: z.enum(['inspected', 'skipped', 'unavailable', 'failed']).describe('skipped: not asked for (guest:false) or a disk is unusable; unavailable: no appliance here; failed: the appliance died'),
    reason: z.string().nullable().describe('why the guest was not inspected, in plain words'),
    appliance: z
      .object({
        backend: z.string().nullable(),
        accelerator: z.enum(['kvm', 'tcg']).nullable(),
        start_seconds: Seconds.describe('measured in this inspection: from spawn to `run` done'),
      })
      .nullable(),
    devices: z.array(BlockDevice),
    filesystems: z.array(Filesystem),
    lvm: LvmFacts,
    roots: z.array(OsRoot),
    multiboot: z.boolean().describe('more than one OS root: reported, never resolved by a prompt'),
    notes: z.array(z.string()),
  })
  .describe('GuestFacts');
export type GuestFacts = z.infer<typeof GuestFacts>;

// ---------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------

export const InspectionReport = z
  .object({
    inspected_at: z.iso.datetime(),
    target: TargetProfile,
    disks: z.array(DiskReport),
    packages: z.array(PackageReport),
    guest: GuestFacts,
    destination: z
      .object({
        path: z.string(),
        free_bytes: Bytes.nullable(),
        required_bytes: Bytes.describe('sum of qemu-img measure qcow2 "required" over the disks'),
        enough: z.boolean().nullable(),
      })
      .nullable(),
    findings: z.array(Finding),
    summary: z.object({ blockers: z.number().int().nonnegative(), warnings: z.number().int().nonnegative(), infos: z.number().int().nonnegative() }),
    timings: z.object({
      image_s: Seconds,
      appliance_start_s: Seconds.nullable(),
      guest_s: Seconds.nullable().describe('appliance start included'),
      total_s: Seconds,
    }),
  })
  .describe('InspectionReport');
export type InspectionReport = z.infer<typeof InspectionReport>;
