/**
 * JobSpec: what a client asks the worker to do. A discriminated union on `operation`; each
 * operation has its own typed `params`. Defaults are filled in by parsing, so a stored spec is
 * always complete.
 */
import { z } from 'zod';
import { AbsolutePath, ImageFormat, JobId, ProtocolVersion, PROTOCOL_VERSION } from './common';
import { CapabilityKey } from './capabilities';

export const OperationType = z.enum([
  'inspect',
  'convert',
  'offline_fix',
  'boot_repair',
  'selinux_prep',
  'lvm_repair',
  'fs_repair',
  'initramfs_regen',
]);
export type OperationType = z.infer<typeof OperationType>;

export const RetryPolicy = z
  .strictObject({
    max_attempts: z.number().int().min(1).max(10).default(1).describe('attempts in all, the first included'),
    backoff: z.enum(['fixed', 'exponential']).default('exponential'),
    initial_delay_s: z.number().nonnegative().max(86_400).default(10).describe('seconds before the first retry'),
    max_delay_s: z.number().nonnegative().max(86_400).default(600).describe('cap on the delay, seconds'),
  })
  .describe('RetryPolicy');
export type RetryPolicy = z.infer<typeof RetryPolicy>;

/** Disk bus and firmware the converted guest will boot with on KVM. */
export const TargetProfile = z
  .strictObject({
    disk_bus: z.enum(['virtio-blk', 'virtio-scsi', 'sata']).default('virtio-blk'),
    firmware: z.enum(['bios', 'uefi']).default('bios').describe('uefi means OVMF is available on the target'),
  })
  .describe('TargetProfile');
export type TargetProfile = z.infer<typeof TargetProfile>;

const commonFields = {
  protocol: ProtocolVersion.default(PROTOCOL_VERSION),
  id: JobId.optional().describe('chosen by the worker when absent'),
  priority: z.number().int().min(0).max(100).default(50).describe('higher runs first'),
  timeout_s: z.number().int().positive().max(7 * 86_400).optional().describe('seconds before the job is stopped'),
  retry: RetryPolicy.default({ max_attempts: 1, backoff: 'exponential', initial_delay_s: 10, max_delay_s: 600 }),
  labels: z
    .record(z.string().regex(/^[A-Za-z0-9_./-]{1,63}$/, 'label keys are 1-63 of A-Z a-z 0-9 _ . / -'), z.string().max(256))
    .default({}),
  requirements: z.array(CapabilityKey).default([]).describe('capabilities the job needs beyond its operation'),
};

const diskList = z.array(AbsolutePath).min(1, 'at least one disk is needed').max(16, 'at most 16 disks');

export const InspectParams = z.strictObject({
  disks: diskList.describe('disk images or .ova/.ovf packages of one VM'),
  target: TargetProfile.default({ disk_bus: 'virtio-blk', firmware: 'bios' }),
  dest: AbsolutePath.optional().describe('destination folder, to check its free space'),
  guest: z.boolean().default(true).describe('inspect the guest through libguestfs'),
});

export const Qcow2Options = z.strictObject({
  compat: z.enum(['0.10', '1.1']).default('1.1'),
  compression: z.enum(['none', 'zlib', 'zstd']).default('none'),
  cluster_size: z
    .number()
    .int()
    .refine((n) => n >= 512 && n <= 2 * 1024 * 1024 && (n & (n - 1)) === 0, 'a power of two from 512 to 2097152')
    .optional()
    .describe('bytes'),
  preallocation: z.enum(['off', 'metadata', 'falloc', 'full']).default('off'),
  lazy_refcounts: z.boolean().default(false),
});

export const VmdkSubformat = z.enum([
  'monolithicSparse',
  'monolithicFlat',
  'twoGbMaxExtentSparse',
  'twoGbMaxExtentFlat',
  'streamOptimized',
]);

export const ConvertDisk = z.strictObject({
  source: AbsolutePath.describe('image file, or an .ova/.ovf package'),
  member: z.string().min(1).optional().describe('disk file name inside the .ova/.ovf, when the source is a package'),
  output: AbsolutePath.describe('where the converted disk goes (the final name; written under a temporary name first)'),
});

export const ConvertParams = z.strictObject({
  disks: z.array(ConvertDisk).min(1).max(16),
  format: ImageFormat.default('qcow2'),
  qcow2: Qcow2Options.default({ compat: '1.1', compression: 'none', preallocation: 'off', lazy_refcounts: false }),
  vmdk_subformat: VmdkSubformat.default('monolithicSparse'),
  vpc_subformat: z.enum(['fixed', 'dynamic']).default('dynamic'),
  vhdx_subformat: z.enum(['dynamic', 'fixed']).default('dynamic'),
  azure_round: z.boolean().default(false).describe('vpc: round the virtual size up to a whole MiB'),
  verify: z.enum(['none', 'compare', 'checksum']).default('none'),
  sha256: z.boolean().default(false).describe('hash every output file into the result'),
  overwrite: z.boolean().default(false),
  rate_limit_bps: z.number().int().positive().optional().describe('bytes per second'),
  tuning: z
    .strictObject({
      out_of_order: z.boolean().default(true).describe('qemu-img -W'),
      coroutines: z.number().int().min(1).max(16).default(8).describe('qemu-img -m'),
      cache: z.enum(['writeback', 'none']).default('writeback').describe('qemu-img -t; writeback is flushed at the end'),
      sparse: z.boolean().default(true).describe('detect zeroes and leave holes (qemu-img -S)'),
    })
    .default({ out_of_order: true, coroutines: 8, cache: 'writeback', sparse: true }),
}).superRefine((p, ctx) => {
  // Refused at submit, so a spec qemu-img would refuse never becomes a queued job.
  for (const problem of convertSettingProblems(p)) ctx.addIssue({ code: 'custom', path: problem.path.split('.').slice(1), message: problem.message });
  const seen = new Map<string, number>();
  p.disks.forEach((d, i) => {
    const key = d.output.replace(/\/+/g, '/').replace(/\/\.(?=\/)/g, '');
    const other = seen.get(key);
    // Disks are numbered from 1 in the message, as a person counts; the path counts from 0.
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['disks', i, 'output'], message: `disks ${other + 1} and ${i + 1} would both write ${d.output}` });
    else seen.set(key, i);
  });
});

/** A combination of convert settings qemu-img refuses, named by its spec field path. */
export interface SettingProblem {
  path: string;
  message: string;
}

/**
 * Combinations qemu-img 7.2 refuses (block/qcow2.c: "Compression and preallocation not
 * supported at the same time"; non-zlib compression and lazy refcounts need compat 1.1). Pure;
 * empty when the settings are fine. Paths are the spec's (`params.qcow2.compression`).
 */
export function convertSettingProblems(p: { format: string; qcow2: { compat: string; compression: string; preallocation: string; lazy_refcounts: boolean } }): SettingProblem[] {
  if (p.format !== 'qcow2') return [];
  const out: SettingProblem[] = [];
  const q = p.qcow2;
  if (q.compression === 'zstd' && q.compat === '0.10') out.push({ path: 'params.qcow2.compression', message: 'zstd compression needs compat 1.1' });
  if (q.lazy_refcounts && q.compat === '0.10') out.push({ path: 'params.qcow2.lazy_refcounts', message: 'lazy refcounts need compat 1.1' });
  if (q.compression !== 'none' && q.preallocation !== 'off') out.push({ path: 'params.qcow2.preallocation', message: 'compression and preallocation cannot be combined' });
  return out;
}

const repairFields = {
  disks: diskList.describe('the converted copy to change, never the source'),
  dry_run: z.boolean().default(false).describe('record what would change without writing'),
};

export const OfflineFixParams = z.strictObject({
  ...repairFields,
  fixes: z
    .array(z.enum(['fstab_by_uuid', 'crypttab_by_uuid', 'remove_vmware_tools', 'remove_hyperv_tools', 'remove_vbox_tools', 'unpin_network_mac']))
    .min(1),
});
export const BootRepairParams = z.strictObject({
  ...repairFields,
  fixes: z.array(z.enum(['grub_root_by_uuid', 'kernel_cmdline_by_uuid', 'regenerate_grub_config'])).min(1),
});
export const SelinuxPrepParams = z.strictObject({
  ...repairFields,
  mode: z.enum(['autorelabel', 'setfiles']).default('autorelabel'),
});
export const LvmRepairParams = z.strictObject({
  ...repairFields,
  fixes: z.array(z.enum(['reset_devices_file', 'relax_filter'])).min(1),
});
export const FsRepairParams = z.strictObject({
  ...repairFields,
  filesystems: z.array(z.string().min(1)).optional().describe('guest device names; all when absent'),
});
export const InitramfsRegenParams = z.strictObject({
  ...repairFields,
  drivers: z
    .array(z.enum(['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci', 'virtio_console']))
    .min(1)
    .default(['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci']),
  kernels: z.array(z.string().min(1)).optional().describe('kernel versions; all installed when absent'),
});

function spec<O extends OperationType, P extends z.ZodType>(operation: O, params: P) {
  return z.strictObject({ ...commonFields, operation: z.literal(operation), params });
}

export const InspectSpec = spec('inspect', InspectParams);
export const ConvertSpec = spec('convert', ConvertParams);
export const OfflineFixSpec = spec('offline_fix', OfflineFixParams);
export const BootRepairSpec = spec('boot_repair', BootRepairParams);
export const SelinuxPrepSpec = spec('selinux_prep', SelinuxPrepParams);
export const LvmRepairSpec = spec('lvm_repair', LvmRepairParams);
export const FsRepairSpec = spec('fs_repair', FsRepairParams);
export const InitramfsRegenSpec = spec('initramfs_regen', InitramfsRegenParams);

/** A job spec. Parse input with `JobSpec.parse`; the output has every default filled in. */
export const JobSpec = z
  .discriminatedUnion('operation', [
    InspectSpec,
    ConvertSpec,
    OfflineFixSpec,
    BootRepairSpec,
    SelinuxPrepSpec,
    LvmRepairSpec,
    FsRepairSpec,
    InitramfsRegenSpec,
  ])
  .describe('JobSpec');
export type JobSpec = z.infer<typeof JobSpec>;
/** What a client may send: defaults may be left out. */
export type JobSpecInput = z.input<typeof JobSpec>;
export type InspectSpec = z.infer<typeof InspectSpec>;
export type ConvertSpec = z.infer<typeof ConvertSpec>;
export type ConvertParams = z.infer<typeof ConvertParams>;
export type InspectParams = z.infer<typeof InspectParams>;

/** The spec of one operation, picked out of the union. */
export type SpecOf<O extends OperationType> = Extract<JobSpec, { operation: O }>;
