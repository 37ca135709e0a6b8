/**
 * When the appliance cannot start, the inspection still completes with the image facts and says
 * why the guest was not inspected. Real guestfish and qemu-img; the hypervisor libguestfs runs
 * is replaced by /bin/false (LIBGUESTFS_HV), so `run` fails at once without a real appliance.
 * The operation runs with a test context (the runner's job is tested elsewhere); its capability
 * report is a stub saying the appliance works, so that the guest part is attempted.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InspectionReport, JobSpec, type InspectSpec, type WorkerCapabilities } from '../../shared/protocol';
import type { OperationContext } from '../../electron/engine/types';
import { inspectOperation } from '../../electron/engine/ops/inspect';
import { runTool } from '../../electron/tools/spawn';
import { fixtures } from '../support/fixtures';

const scratch = mkdtempSync(join(tmpdir(), 'h2k-inspect-fail-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const STUB_CAPS = {
  tools: [{ name: 'guestfish', available: true, path: '/usr/bin/guestfish', version: null, hint: null }],
  appliance: { probed: true, usable: true, accelerator: 'tcg', start_seconds: 30, backend: 'direct', attempts: [], hint: null },
} as unknown as WorkerCapabilities;

function context(spec: InspectSpec, env: Record<string, string>, caps = STUB_CAPS): { ctx: OperationContext<InspectSpec>; commands: string[] } {
  const commands: string[] = [];
  const controller = new AbortController();
  const ctx: OperationContext<InspectSpec> = {
    jobId: spec.id!,
    attempt: 1,
    spec,
    signal: controller.signal,
    scratchDir: join(scratch, spec.id!),
    capabilities: async () => caps,
    guestfsEnv: async () => env,
    progress: () => undefined,
    log: () => undefined,
    run: (r) => {
      commands.push(r.command);
      return runTool({ ...r, signal: controller.signal });
    },
    partial: () => undefined,
    settled: () => undefined,
  };
  return { ctx, commands };
}

describe('the guest part when the appliance does not start', () => {
  it('completes with the image facts, guest failed with libguestfs\' reason, finding guest-not-inspected', async () => {
    const spec = JobSpec.parse({ operation: 'inspect', id: 'fail1', params: { disks: [fixtures['debian-qcow2']] } }) as InspectSpec;
    const { ctx, commands } = context(spec, { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_HV: '/bin/false' });
    const out = await inspectOperation(ctx);
    const r = InspectionReport.parse(out.payload);
    expect(r.disks[0]!.image).toMatchObject({ format: 'qcow2' });
    expect(r.guest.status).toBe('failed');
    expect(r.guest.reason).toMatch(/^the appliance did not start: /);
    expect(r.findings.map((f) => [f.id, f.severity])).toEqual([['guest-not-inspected', 'warning']]);
    expect(commands.filter((c) => c === 'guestfish')).toHaveLength(1);
    expect(readdirSync(scratch).flatMap((d) => readdirSync(join(scratch, d)))).toEqual([]);
  });

  it('an appliance that capability detection found unusable is not tried: guest unavailable, and why', async () => {
    const spec = JobSpec.parse({ operation: 'inspect', id: 'fail2', params: { disks: [fixtures['pattern-qcow2']] } }) as InspectSpec;
    const caps = { ...STUB_CAPS, appliance: { ...STUB_CAPS.appliance, usable: false, attempts: [{ accelerator: 'tcg', outcome: 'timeout', seconds: 600, detail: null }], hint: 'The appliance did not start within 600 s.' } } as WorkerCapabilities;
    const { ctx, commands } = context(spec, {}, caps);
    const r = InspectionReport.parse((await inspectOperation(ctx)).payload);
    expect(r.guest).toMatchObject({ status: 'unavailable', reason: 'the libguestfs appliance does not start on this machine (tcg timeout after 600 s): The appliance did not start within 600 s.' });
    expect(r.findings.map((f) => f.id)).toEqual(['guest-not-inspected']);
    expect(commands).not.toContain('guestfish');
  });
});
