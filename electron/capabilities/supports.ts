/**
 * What jobs this machine can run, decided from a WorkerCapabilities report. Everything here is
 * pure (no I/O): detection (detect.ts) gathers the facts, these functions judge them, so a job
 * submission can be answered from a cached report in microseconds.
 */
import {
  CapabilityKey,
  type CapabilityStatus,
  type OperationSupport,
  type ToolInfo,
  type ToolName,
  type WorkerCapabilities,
} from '../../shared/protocol/capabilities';
import { OperationType, type JobSpec } from '../../shared/protocol/job-spec';

/** The operations this version of the worker implements (the default of detection's `implemented`). */
export const IMPLEMENTED_OPERATIONS: ReadonlySet<OperationType> = new Set<OperationType>(['inspect', 'convert']);

/**
 * What each operation needs. inspect needs only qemu-img: without libguestfs it still inspects
 * at image level (the guest part is skipped). The repair operations change the guest through the
 * libguestfs appliance with virt-customize.
 */
export const OPERATION_NEEDS: Readonly<Record<OperationType, readonly CapabilityKey[]>> = {
  inspect: ['qemu_img'],
  convert: ['qemu_img'],
  offline_fix: ['libguestfs', 'virt_customize'],
  boot_repair: ['libguestfs', 'virt_customize'],
  selinux_prep: ['libguestfs', 'virt_customize'],
  lvm_repair: ['libguestfs', 'virt_customize'],
  fs_repair: ['libguestfs', 'virt_customize'],
  initramfs_regen: ['libguestfs', 'virt_customize'],
};

/** Plain names of the capabilities, for reasons and the human report. */
export const CAPABILITY_LABELS: Readonly<Record<CapabilityKey, string>> = {
  qemu_img: 'qemu-img',
  qemu_nbd: 'qemu-nbd',
  libguestfs: 'the libguestfs appliance',
  kvm: 'KVM',
  virt_inspector: 'virt-inspector',
  virt_customize: 'virt-customize',
  virt_v2v: 'virt-v2v',
  lvm: 'LVM tools (lvm)',
  nbd: 'NBD devices',
  root: 'root privileges',
  selinux_relabel: 'SELinux relabelling (setfiles)',
  e2fsck: 'e2fsck',
  xfs_repair: 'xfs_repair',
  ntfsfix: 'ntfsfix',
};

/** Capabilities that are the presence of one tool. */
const TOOL_OF: Partial<Record<CapabilityKey, ToolName>> = {
  qemu_img: 'qemu-img',
  qemu_nbd: 'qemu-nbd',
  virt_inspector: 'virt-inspector',
  virt_customize: 'virt-customize',
  virt_v2v: 'virt-v2v',
  lvm: 'lvm',
  selinux_relabel: 'setfiles',
  e2fsck: 'e2fsck',
  xfs_repair: 'xfs_repair',
  ntfsfix: 'ntfsfix',
};

/** The facts capabilities are derived from: a report without its two derived lists. */
export type CapabilityFacts = Omit<WorkerCapabilities, 'capabilities' | 'operations'>;

function toolStatus(key: CapabilityKey, tool: ToolInfo | undefined, name: ToolName): CapabilityStatus {
  if (tool?.available) {
    return { key, available: true, detail: `${name}${tool.version ? ' ' + tool.version : ''} at ${tool.path}`, hint: null };
  }
  return { key, available: false, detail: `${name} not found`, hint: tool?.hint ?? `install ${name}` };
}

function applianceStatus(f: CapabilityFacts): CapabilityStatus {
  const a = f.appliance;
  const guestfish = f.tools.find((t) => t.name === 'guestfish');
  if (!guestfish?.available) {
    return { key: 'libguestfs', available: false, detail: 'guestfish not found', hint: guestfish?.hint ?? 'install the libguestfs-tools package: apt-get install libguestfs-tools' };
  }
  if (!a.probed) {
    return {
      key: 'libguestfs',
      available: false,
      detail: 'the appliance has not been probed yet',
      hint: a.hint ?? 'run `h2k-worker capabilities` once: it starts a test appliance (up to a minute without KVM)',
      probe_pending: true,
    };
  }
  if (a.usable) {
    return {
      key: 'libguestfs',
      available: true,
      detail: `appliance starts with ${a.accelerator ?? '?'} in ${a.start_seconds ?? '?'} s (backend ${a.backend ?? 'direct'})`,
      hint: null,
    };
  }
  const tried = a.attempts.map((t) => `${t.accelerator} ${t.outcome} after ${t.seconds} s`).join(', ');
  return { key: 'libguestfs', available: false, detail: `the appliance did not start${tried ? ` (${tried})` : ''}`, hint: a.hint };
}

function kvmStatus(f: CapabilityFacts): CapabilityStatus {
  const k = f.kvm;
  if (!k.device_present) return { key: 'kvm', available: false, detail: '/dev/kvm is absent', hint: k.hint };
  if (!k.device_accessible) return { key: 'kvm', available: false, detail: '/dev/kvm cannot be opened by this user', hint: k.hint };
  const kvmAttempt = f.appliance.attempts.find((t) => t.accelerator === 'kvm');
  if (kvmAttempt && kvmAttempt.outcome !== 'ok') {
    return {
      key: 'kvm',
      available: false,
      detail: `/dev/kvm opens, but the appliance did not start with KVM (${kvmAttempt.outcome} after ${kvmAttempt.seconds} s)`,
      hint: 'check nested virtualization and the kvm module; `libguestfs-test-tool` shows details; jobs use TCG meanwhile',
    };
  }
  return { key: 'kvm', available: true, detail: '/dev/kvm present and opens read-write', hint: null };
}

/** One CapabilityStatus per CapabilityKey, in the enum's order, derived from the facts. Pure. */
export function deriveCapabilities(f: CapabilityFacts): CapabilityStatus[] {
  return CapabilityKey.options.map((key): CapabilityStatus => {
    const tool = TOOL_OF[key];
    if (tool) return toolStatus(key, f.tools.find((t) => t.name === tool), tool);
    switch (key) {
      case 'libguestfs':
        return applianceStatus(f);
      case 'kvm':
        return kvmStatus(f);
      case 'nbd': {
        const ok = f.nbd.module_loaded && f.nbd.devices > 0;
        const detail = f.nbd.module_loaded ? `nbd module loaded, ${f.nbd.devices} /dev/nbdN device(s)` : 'nbd module not loaded';
        return { key, available: ok, detail, hint: ok ? null : (f.nbd.hint ?? 'modprobe nbd max_part=16') };
      }
      case 'root': {
        const p = f.privileges;
        const extra = p.passwordless_sudo ? ', passwordless sudo works' : p.pkexec ? ', pkexec present' : '';
        return p.root
          ? { key, available: true, detail: `running as root (uid 0)`, hint: null }
          : { key, available: false, detail: `running as uid ${p.uid}${extra}`, hint: 'run the worker as root (sudo h2k-worker ...)' };
      }
      default:
        return { key, available: false, detail: 'unknown capability', hint: null };
    }
  });
}

/** "X is not available (detail) — hint", the reason for one missing capability. */
export function missingReason(status: CapabilityStatus | undefined, key: CapabilityKey): string {
  const label = CAPABILITY_LABELS[key];
  if (!status) return `${label}: not known on this machine — run \`h2k-worker capabilities\``;
  return `${label} is not available (${status.detail})${status.hint ? ` — ${status.hint}` : ''}`;
}

function notImplementedReason(op: OperationType): string {
  return `${op} is not available in this version of the worker (inspect and convert are; the repair operations come in a later version)`;
}

function judge(
  op: OperationType,
  extra: readonly CapabilityKey[],
  capabilities: readonly CapabilityStatus[],
  implemented: boolean,
): { runnable: boolean; reasons: string[]; missing: number } {
  const needed = [...new Set([...OPERATION_NEEDS[op], ...extra])];
  const reasons: string[] = [];
  if (!implemented) reasons.push(notImplementedReason(op));
  let missing = 0;
  for (const key of needed) {
    const s = capabilities.find((c) => c.key === key);
    // Not probed yet is not a refusal: the job probes when it runs, and fails then if need be.
    if (!s?.available && !s?.probe_pending) {
      missing++;
      reasons.push(missingReason(s, key));
    }
  }
  return { runnable: implemented && missing === 0, reasons, missing };
}

/** OperationSupport of every OperationType: implemented (from `implemented`), runnable, reasons. Pure. */
export function deriveOperations(capabilities: readonly CapabilityStatus[], implemented: ReadonlySet<OperationType>): OperationSupport[] {
  return OperationType.options.map((op) => {
    const j = judge(op, [], capabilities, implemented.has(op));
    return { operation: op, implemented: implemented.has(op), runnable: j.runnable, reasons: j.reasons };
  });
}

/** Verdict on one job spec, see supports(). */
export interface SupportVerdict {
  runnable: boolean;
  implemented: boolean;
  /** Plain-language reasons with hints; empty when runnable. */
  reasons: string[];
  /** Error catalogue code to refuse the job with, or null when runnable. not_implemented wins. */
  code: 'not_implemented' | 'capability_missing' | null;
}

/**
 * Can this machine run `spec`? Checks the operation (implemented, and what it needs, see
 * OPERATION_NEEDS) and each of `spec.requirements` against the report. Pure: no I/O.
 */
export function supports(spec: JobSpec, caps: WorkerCapabilities): SupportVerdict {
  const op = caps.operations.find((o) => o.operation === spec.operation);
  const implemented = op?.implemented ?? false;
  const j = judge(spec.operation, spec.requirements, caps.capabilities, implemented);
  const code = !implemented ? 'not_implemented' : j.missing > 0 ? 'capability_missing' : null;
  return { runnable: j.runnable, implemented, reasons: j.reasons, code };
}
