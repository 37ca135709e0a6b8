/**
 * WorkerCapabilities: what this machine can do, as found by capability detection
 * (electron/capabilities). Slow facts (the libguestfs appliance probe, tool versions) come from a
 * host-wide cache; cheap facts (free space, memory, privileges) are read live.
 */
import { z } from 'zod';
import { Bytes, Seconds } from './common';

/** Named capabilities a job can require (`requirements` in a JobSpec). */
export const CapabilityKey = z.enum([
  'qemu_img',
  'qemu_nbd',
  'libguestfs',
  'kvm',
  'virt_inspector',
  'virt_customize',
  'virt_v2v',
  'lvm',
  'nbd',
  'root',
  'selinux_relabel',
  'e2fsck',
  'xfs_repair',
  'ntfsfix',
]);
export type CapabilityKey = z.infer<typeof CapabilityKey>;

/** External tools the worker looks for, by the name of their executable. */
export const ToolName = z.enum([
  'qemu-img',
  'qemu-nbd',
  'guestfish',
  'virt-inspector',
  'virt-customize',
  'virt-v2v',
  'lvm',
  'mount',
  'setfiles',
  'e2fsck',
  'xfs_repair',
  'ntfsfix',
]);
export type ToolName = z.infer<typeof ToolName>;

export const ToolInfo = z.object({
  name: ToolName,
  available: z.boolean(),
  path: z.string().nullable().describe('absolute path found on PATH, or null'),
  version: z.string().nullable().describe('version as the tool prints it, or null'),
  hint: z.string().nullable().describe('how to get it when missing'),
});
export type ToolInfo = z.infer<typeof ToolInfo>;

export const ExecutionMode = z.object({
  mode: z.enum(['host', 'container', 'privileged_container']),
  evidence: z.array(z.string()).describe('the facts the mode was recognised from'),
});

export const ApplianceAttempt = z.object({
  accelerator: z.enum(['kvm', 'tcg']),
  outcome: z.enum(['ok', 'timeout', 'error']),
  seconds: Seconds.describe('wall time of the attempt'),
  detail: z.string().nullable(),
});
export type ApplianceAttempt = z.infer<typeof ApplianceAttempt>;

export const ApplianceStatus = z.object({
  probed: z.boolean().describe('false until a probe has run (the probe starts a real appliance)'),
  usable: z.boolean(),
  accelerator: z.enum(['kvm', 'tcg']).nullable().describe('the accelerator jobs will use'),
  start_seconds: Seconds.nullable().describe('measured appliance start time with that accelerator'),
  backend: z.string().nullable().describe('libguestfs backend (LIBGUESTFS_BACKEND), e.g. direct'),
  attempts: z.array(ApplianceAttempt),
  hint: z.string().nullable(),
});
export type ApplianceStatus = z.infer<typeof ApplianceStatus>;

export const CapabilityStatus = z.object({
  key: CapabilityKey,
  available: z.boolean(),
  detail: z.string().describe('what was found'),
  hint: z.string().nullable().describe('how to get it when missing (package, group, module, setting)'),
  probe_pending: z
    .boolean()
    .optional()
    .describe('not known until a slow probe runs (the appliance); a job that needs it probes first instead of being refused'),
});
export type CapabilityStatus = z.infer<typeof CapabilityStatus>;

export const OperationSupport = z.object({
  operation: z.string(),
  implemented: z.boolean(),
  runnable: z.boolean(),
  reasons: z.array(z.string()).describe('why it cannot run here; empty when runnable'),
});
export type OperationSupport = z.infer<typeof OperationSupport>;

export const SpaceInfo = z.object({
  path: z.string(),
  free_bytes: Bytes.nullable(),
  total_bytes: Bytes.nullable(),
});

export const WorkerCapabilities = z
  .object({
    detected_at: z.iso.datetime(),
    host: z.object({
      hostname: z.string(),
      kernel: z.string().describe('uname -r'),
      arch: z.string(),
      os: z.string().describe('PRETTY_NAME from /etc/os-release'),
    }),
    cache: z.object({
      hit: z.boolean().describe('slow probes came from the host-wide cache'),
      path: z.string(),
      probed_at: z.iso.datetime().describe('when the slow probes last ran'),
    }),
    execution_mode: ExecutionMode,
    tools: z.array(ToolInfo),
    qemu_img_formats: z.array(z.string()).describe('formats listed by `qemu-img --help`'),
    nbd: z.object({
      module_loaded: z.boolean(),
      devices: z.number().int().nonnegative().describe('count of /dev/nbdN'),
      hint: z.string().nullable(),
    }),
    privileges: z.object({
      uid: z.number().int(),
      root: z.boolean(),
      passwordless_sudo: z.boolean(),
      pkexec: z.boolean(),
      cap_sys_admin: z.boolean(),
    }),
    selinux: z.object({
      state: z.enum(['enforcing', 'permissive', 'disabled', 'absent']),
      detail: z.string(),
    }),
    resources: z.object({
      cpus: z.number().int().positive(),
      memory_total_bytes: Bytes,
      memory_available_bytes: Bytes,
      data_dir: SpaceInfo,
      scratch_dir: SpaceInfo,
    }),
    kvm: z.object({
      device_present: z.boolean().describe('/dev/kvm exists'),
      device_accessible: z.boolean().describe('/dev/kvm can be opened read-write by this user'),
      hint: z.string().nullable(),
    }),
    appliance: ApplianceStatus,
    capabilities: z.array(CapabilityStatus),
    operations: z.array(OperationSupport),
  })
  .describe('WorkerCapabilities');
export type WorkerCapabilities = z.infer<typeof WorkerCapabilities>;
