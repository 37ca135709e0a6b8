/**
 * The job report as the server exports it (jobs.report): JSON for tools, Markdown for people,
 * here for an inspection whose payload has the report's full shape.
 */
import { describe, expect, it } from 'vitest';
import type { JobDetail } from '../../shared/protocol';
import { buildReport } from '../../electron/worker/service-extra';

const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 10, 0, s)).toISOString();

const detail: JobDetail = {
  summary: {
    id: 'inspect-1',
    operation: 'inspect',
    state: 'COMPLETED',
    priority: 50,
    labels: { site: 'lab|2' },
    title: 'web01.vmdk',
    created_at: at(0),
    updated_at: at(70),
    attempt: 1,
    cancel_requested: false,
    not_before: null,
    last_progress: { type: 'progress', job_id: 'inspect-1', seq: 9, at: at(69), stage: 'guest', percent: 100, bytes_done: null, bytes_total: null, rate_bps: null, eta_s: null },
    error: null,
  },
  spec: null,
  submitted: {},
  transitions: [
    { seq: 1, from: null, to: 'CREATED', at: at(0), reason: 'submitted', attempt: 0 },
    { seq: 2, from: 'CREATED', to: 'RUNNING', at: at(1), reason: 'started', attempt: 1 },
    { seq: 3, from: 'RUNNING', to: 'COMPLETED', at: at(70), reason: 'operation finished', attempt: 1 },
  ],
  spans: [
    { state: 'CREATED', entered_at: at(0), left_at: at(1), seconds: 1, attempt: 0 },
    { state: 'RUNNING', entered_at: at(1), left_at: at(70), seconds: 69, attempt: 1 },
    { state: 'COMPLETED', entered_at: at(70), left_at: at(70), seconds: 0, attempt: 1 },
  ],
  seconds_by_state: { CREATED: 1, RUNNING: 69, COMPLETED: 0 },
  terminal: true,
  result: {
    protocol: 'hyper2kvm.worker/v1',
    job_id: 'inspect-1',
    operation: 'inspect',
    outcome: 'completed',
    finished_at: at(70),
    artifacts: [],
    metrics: { queued_s: 0, run_s: 69, total_s: 70, attempts: 1, bytes_processed: null, throughput_bps: null, stages: {} },
    error: null,
    payload: {
      disks: [{ disk_id: 'disk-1', source: { kind: 'file', path: '/vm/web01.vmdk' }, guest_device: '/dev/sda', image: { format: 'vmdk', virtual_size: 2147483648 }, error: null }],
      guest: { status: 'inspected', reason: null, roots: [{ root: '/dev/sda1', type: 'linux', distro: 'debian', major_version: 12, minor_version: 5, hostname: 'web01' }] },
      findings: [
        {
          id: 'fstab-device-names',
          severity: 'blocker',
          title: '/etc/fstab names disks by kernel name',
          evidence: [{ kind: 'file', file: '/etc/fstab', line: 4, text: '/dev/sda1 / ext4 defaults 0 1' }],
          remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['fstab_by_uuid'] }, target: 'converted_output', summary: 'Rewrite /etc/fstab to UUID= names.' },
        },
        { id: 'tools', severity: 'warning', title: 'VMware Tools', evidence: [], remediation: { kind: 'manual', steps: ['Remove them'], summary: 'Remove the tools' } },
        { id: 'broken' },
      ],
    },
  },
};

describe('job report export', () => {
  it('writes the detail and its non-progress events as JSON, and a readable Markdown report', () => {
    const events = [
      { type: 'state' as const, job_id: 'inspect-1', seq: 1, at: at(0), from: null, to: 'CREATED' as const, reason: 'submitted', attempt: 0 },
      { type: 'progress' as const, job_id: 'inspect-1', seq: 2, at: at(5), stage: 'image', percent: 10, bytes_done: null, bytes_total: null, rate_bps: null, eta_s: null },
      { type: 'log' as const, job_id: 'inspect-1', seq: 3, at: at(6), level: 'info' as const, message: 'appliance started' },
    ];
    const r = buildReport(detail, events, new Date(at(80)));
    expect(r.filename_base).toBe('h2k-job-inspect-1');
    const json = JSON.parse(r.json) as { generated_at: string; job: JobDetail; events: { seq: number }[]; last_progress: { seq: number } };
    expect(json.generated_at).toBe(at(80));
    expect(json.job.summary.id).toBe('inspect-1');
    expect(json.events.map((e) => e.seq)).toEqual([1, 3]);
    expect(json.last_progress.seq).toBe(9);

    const md = r.markdown;
    expect(md).toContain('# Job inspect-1: inspect');
    expect(md).toContain('| Labels | site=lab\\|2 |');
    expect(md).toContain('| RUNNING | 2026-11-29 10:00:01Z | 1 min 09 s | started |');
    expect(md).toContain('Time per state: CREATED 1.0 s, RUNNING 1 min 09 s.');
    expect(md).toContain('### /vm/web01.vmdk');
    expect(md).toContain('| guest_device | /dev/sda |');
    expect(md).toContain('| virtual_size | 2.00 GiB (2147483648) |');
    expect(md).toContain('### /dev/sda1');
    expect(md).toContain('| distro | debian |');
    expect(md).toContain('## Findings (2)');
    expect(md).toContain('- **/etc/fstab names disks by kernel name** (`fstab-device-names`)');
    expect(md).toContain('  - evidence: `/etc/fstab:4` /dev/sda1 / ext4 defaults 0 1');
    expect(md).toContain('job `offline_fix` on the converted copy, params `{"fixes":["fstab_by_uuid"]}`');
    expect(md).toContain('    1. Remove them');
    expect(md).not.toContain('## Error');
  });
});
