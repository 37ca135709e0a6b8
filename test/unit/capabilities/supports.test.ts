// supports() and the derived capability/operation lists, on a report captured from a real run of
// detectCapabilities on the Debian 12 development machine (no /dev/kvm, appliance on TCG,
// virt-v2v and setfiles not installed). Variants are made by changing facts and deriving again.
import { describe, expect, it } from 'vitest';
import { WorkerCapabilities, type CapabilityKey, type ToolName } from '../../../shared/protocol/capabilities';
import { JobSpec, type JobSpecInput, type OperationType } from '../../../shared/protocol/job-spec';
import { guestfsEnv } from '../../../electron/capabilities/detect';
import {
  CAPABILITY_LABELS,
  deriveCapabilities,
  deriveOperations,
  IMPLEMENTED_OPERATIONS,
  OPERATION_NEEDS,
  supports,
} from '../../../electron/capabilities/supports';
import captured from './captured-capabilities.json';

const real = WorkerCapabilities.parse(captured);

/** A copy of the real report with `change` applied to its facts and both lists derived again. */
function variant(change: (c: WorkerCapabilities) => void, implemented: ReadonlySet<OperationType> = IMPLEMENTED_OPERATIONS): WorkerCapabilities {
  const c = structuredClone(real);
  change(c);
  const capabilities = deriveCapabilities(c);
  return WorkerCapabilities.parse({ ...c, capabilities, operations: deriveOperations(capabilities, implemented) });
}

function withoutTool(c: WorkerCapabilities, name: ToolName, hint: string): void {
  const t = c.tools.find((x) => x.name === name);
  if (!t) throw new Error(`no ${name} in the captured report`);
  Object.assign(t, { available: false, path: null, version: null, hint });
}

const disk = '/srv/vms/web01/web01.vmdk';
const specs: Record<'inspect' | 'convert' | 'offline_fix', JobSpecInput> = {
  inspect: { operation: 'inspect', params: { disks: [disk] } },
  convert: { operation: 'convert', params: { disks: [{ source: disk, output: '/srv/kvm/web01.qcow2' }] } },
  offline_fix: { operation: 'offline_fix', params: { disks: ['/srv/kvm/web01.qcow2'], fixes: ['fstab_by_uuid'] } },
};
const spec = (op: keyof typeof specs, requirements: CapabilityKey[] = []) => JobSpec.parse({ ...specs[op], requirements });

describe('the captured report', () => {
  it('is a valid WorkerCapabilities from this machine', () => {
    expect(real.tools.find((t) => t.name === 'qemu-img')).toMatchObject({ available: true, path: '/usr/bin/qemu-img' });
    expect(real.appliance).toMatchObject({ probed: true, usable: true, accelerator: 'tcg' });
    expect(real.kvm.device_present).toBe(false);
  });

  it('has one status per capability key and one entry per operation', () => {
    expect(real.capabilities.map((c) => c.key).sort()).toEqual(Object.keys(CAPABILITY_LABELS).sort());
    expect(real.operations.map((o) => o.operation).sort()).toEqual(Object.keys(OPERATION_NEEDS).sort());
  });

  it('derives the same lists again from its facts', () => {
    expect(deriveCapabilities(real)).toEqual(real.capabilities);
    expect(deriveOperations(real.capabilities, IMPLEMENTED_OPERATIONS)).toEqual(real.operations);
  });
});

describe('supports', () => {
  it('accepts inspect and convert on this machine', () => {
    for (const op of ['inspect', 'convert'] as const) {
      expect(supports(spec(op), real)).toEqual({ runnable: true, implemented: true, reasons: [], code: null });
    }
  });

  it('refuses a repair operation as not implemented, whatever the machine has', () => {
    const v = supports(spec('offline_fix'), real);
    expect(v.code).toBe('not_implemented');
    expect(v.implemented).toBe(false);
    expect(v.runnable).toBe(false);
    expect(v.reasons[0]).toMatch(/offline_fix is not available in this version/);
  });

  it('refuses a job whose requirement is missing here, with the package to install', () => {
    const v = supports(spec('inspect', ['virt_v2v']), real);
    expect(v).toMatchObject({ runnable: false, implemented: true, code: 'capability_missing' });
    expect(v.reasons).toEqual(['virt-v2v is not available (virt-v2v not found) — install the virt-v2v package: apt-get install virt-v2v']);
  });

  it('explains a missing KVM with the hint from detection', () => {
    const v = supports(spec('convert', ['kvm']), real);
    expect(v.code).toBe('capability_missing');
    expect(v.reasons[0]).toContain('KVM is not available (/dev/kvm is absent)');
    expect(v.reasons[0]).toContain(real.kvm.hint ?? 'a hint');
  });

  it('accepts requirements the machine meets', () => {
    expect(supports(spec('convert', ['qemu_img', 'libguestfs', 'e2fsck', 'root']), real).runnable).toBe(true);
  });

  it('refuses convert without qemu-img, with its hint', () => {
    const caps = variant((c) => withoutTool(c, 'qemu-img', 'install the qemu-utils package: apt-get install qemu-utils'));
    const v = supports(spec('convert'), caps);
    expect(v).toMatchObject({ runnable: false, implemented: true, code: 'capability_missing' });
    expect(v.reasons).toEqual(['qemu-img is not available (qemu-img not found) — install the qemu-utils package: apt-get install qemu-utils']);
    expect(caps.operations.find((o) => o.operation === 'convert')).toMatchObject({ runnable: false, reasons: v.reasons });
  });

  it('still runs inspect without libguestfs (image-level inspection)', () => {
    const caps = variant((c) => {
      withoutTool(c, 'guestfish', 'install the libguestfs-tools package: apt-get install libguestfs-tools');
      c.appliance = { ...c.appliance, probed: false, usable: false, accelerator: null, start_seconds: null, attempts: [] };
    });
    expect(caps.capabilities.find((c) => c.key === 'libguestfs')?.available).toBe(false);
    expect(supports(spec('inspect'), caps).runnable).toBe(true);
  });

  it('judges repair operations by the appliance once they are implemented', () => {
    const all = new Set<OperationType>([...IMPLEMENTED_OPERATIONS, 'offline_fix']);
    const ok = variant(() => undefined, all);
    expect(supports(spec('offline_fix'), ok)).toEqual({ runnable: true, implemented: true, reasons: [], code: null });

    const failed = variant((c) => {
      c.appliance = {
        ...c.appliance,
        usable: false,
        accelerator: null,
        start_seconds: null,
        attempts: [{ accelerator: 'tcg', outcome: 'timeout', seconds: 300, detail: 'no answer within 300 s' }],
        hint: 'The appliance did not start within 300 s. Run `libguestfs-test-tool`.',
      };
    }, all);
    const v = supports(spec('offline_fix'), failed);
    expect(v.code).toBe('capability_missing');
    expect(v.reasons).toEqual([
      'the libguestfs appliance is not available (the appliance did not start (tcg timeout after 300 s)) — The appliance did not start within 300 s. Run `libguestfs-test-tool`.',
    ]);
  });

  it('does not refuse a job for an appliance not probed yet (the job probes it when it runs), and says so in the report', () => {
    const caps = variant((c) => {
      c.appliance = { ...c.appliance, probed: false, usable: false, accelerator: null, start_seconds: null, attempts: [], hint: 'not probed yet' };
    });
    const v = supports(spec('inspect', ['libguestfs']), caps);
    expect(v.code).toBeNull();
    expect(v.runnable).toBe(true);
    const status = caps.capabilities.find((s) => s.key === 'libguestfs');
    expect(status).toMatchObject({ available: false, probe_pending: true, detail: 'the appliance has not been probed yet' });
  });

  it('lists not-implemented first and every missing capability after it', () => {
    const caps = variant((c) => withoutTool(c, 'virt-customize', 'install the libguestfs-tools package: apt-get install libguestfs-tools'));
    const v = supports(spec('offline_fix', ['virt_v2v']), caps);
    expect(v.code).toBe('not_implemented');
    expect(v.reasons).toHaveLength(3);
    expect(v.reasons[1]).toMatch(/^virt-customize is not available/);
    expect(v.reasons[2]).toMatch(/^virt-v2v is not available/);
  });

  it('marks KVM missing when /dev/kvm opens but the appliance hung with it', () => {
    const caps = variant((c) => {
      c.kvm = { device_present: true, device_accessible: true, hint: null };
      c.appliance.attempts = [
        { accelerator: 'kvm', outcome: 'timeout', seconds: 60, detail: 'no answer within 60 s' },
        { accelerator: 'tcg', outcome: 'ok', seconds: 24.5, detail: 'appliance started' },
      ];
    });
    const kvm = caps.capabilities.find((c) => c.key === 'kvm');
    expect(kvm).toMatchObject({ available: false });
    expect(kvm?.detail).toContain('did not start with KVM (timeout after 60 s)');
    expect(supports(spec('convert'), caps).runnable).toBe(true);
  });
});

describe('guestfsEnv', () => {
  it('forces TCG when the probe chose it', () => {
    expect(guestfsEnv(real.appliance)).toEqual({ LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' });
  });
  it('leaves the accelerator to libguestfs when KVM works', () => {
    expect(guestfsEnv({ ...real.appliance, accelerator: 'kvm', backend: 'direct' })).toEqual({ LIBGUESTFS_BACKEND: 'direct' });
  });
  it('keeps a backend the user chose', () => {
    expect(guestfsEnv({ ...real.appliance, accelerator: null, usable: false, backend: 'libvirt' })).toEqual({ LIBGUESTFS_BACKEND: 'libvirt' });
  });
});
