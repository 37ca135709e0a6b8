import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobSpec, JobResult, WorkerEvent, PROTOCOL_VERSION } from '../../../shared/protocol';
import { fieldErrors } from '../../../shared/validation';
import { ERROR_CATALOGUE, errorInfo, formatError, toErrorInfo, WorkerError } from '../../../shared/errors';
import { SCHEMA_NAMES, jsonSchemaOf } from '../../../shared/schemas';

const examples = readdirSync('docs/examples').filter((f) => f.endsWith('.json'));

function fieldsOf(input: unknown) {
  const r = JobSpec.safeParse(input);
  expect(r.success).toBe(false);
  return r.success ? [] : fieldErrors(r.error);
}

describe('JobSpec', () => {
  it.each(examples)('accepts the documented example %s and fills defaults', (file) => {
    const spec = JobSpec.parse(JSON.parse(readFileSync(join('docs/examples', file), 'utf8')));
    expect(spec.protocol).toBe(PROTOCOL_VERSION);
    expect(spec.retry.max_attempts).toBeGreaterThanOrEqual(1);
    expect(spec.requirements).toBeInstanceOf(Array);
  });

  it('fills convert defaults: qcow2, compat 1.1, no verification, no overwrite, fast flags', () => {
    const spec = JobSpec.parse({ operation: 'convert', params: { disks: [{ source: '/a.vmdk', output: '/b.qcow2' }] } });
    expect(spec.operation).toBe('convert');
    if (spec.operation !== 'convert') return;
    expect(spec.priority).toBe(50);
    expect(spec.params.format).toBe('qcow2');
    expect(spec.params.qcow2.compat).toBe('1.1');
    expect(spec.params.verify).toBe('none');
    expect(spec.params.overwrite).toBe(false);
    expect(spec.params.tuning).toEqual({ out_of_order: true, coroutines: 8, cache: 'writeback', sparse: true });
  });

  it('names the field and what was expected', () => {
    expect(fieldsOf({ operation: 'convert', params: { disks: [{ source: 'relative.vmdk', output: '/b.qcow2' }] } })).toEqual([
      { path: 'params.disks.0.source', message: 'an absolute path (starting with "/") is expected' },
    ]);
    expect(fieldsOf({ operation: 'inspect', priority: 101, params: { disks: ['/a.vmdk'] } })).toEqual([
      { path: 'priority', message: expect.stringMatching(/<=100/) },
    ]);
    expect(fieldsOf({ operation: 'inspect', params: { disks: [] } })).toEqual([{ path: 'params.disks', message: 'at least one disk is needed' }]);
    expect(fieldsOf({ operation: 'inspect', id: '-rf', params: { disks: ['/a'] } })[0]?.path).toBe('id');
    expect(fieldsOf({ operation: 'convert', params: { disks: [{ source: '/a', output: '/b' }], format: 'ova' } })[0]).toMatchObject({ path: 'params.format' });
    expect(fieldsOf({ operation: 'inspect', requirements: ['warp_drive'], params: { disks: ['/a'] } })[0]?.path).toBe('requirements.0');
  });

  it('refuses unknown fields (a typo must not silently drop an option), naming each', () => {
    expect(fieldsOf({ operation: 'convert', evil: 1, params: { disks: [{ source: '/a', output: '/b' }], verfy: 'compare' } })).toEqual([
      { path: 'params.verfy', message: 'unknown field: not part of the protocol (a typo?)' },
      { path: 'evil', message: 'unknown field: not part of the protocol (a typo?)' },
    ]);
  });

  it('refuses an unknown operation, naming the discriminator', () => {
    const f = fieldsOf({ operation: 'teleport', params: {} });
    expect(f[0]?.path).toBe('operation');
  });

  it('refuses a path with a NUL byte', () => {
    expect(fieldsOf({ operation: 'inspect', params: { disks: ['/a\0b'] } })[0]).toEqual({ path: 'params.disks.0', message: 'a path cannot contain a NUL byte' });
  });
});

describe('events and results', () => {
  it('accepts each event type and refuses a progress event over 100%', () => {
    const base = { job_id: 'j1', seq: 1, at: '2026-11-29T10:00:00.000Z' };
    expect(WorkerEvent.parse({ ...base, type: 'state', from: null, to: 'CREATED', reason: 'submitted', attempt: 0 }).type).toBe('state');
    expect(WorkerEvent.parse({ ...base, type: 'log', level: 'info', message: 'hi' }).type).toBe('log');
    const progress = { ...base, type: 'progress', stage: 'copy', percent: 50, bytes_done: 1, bytes_total: 2, rate_bps: 1, eta_s: 1 };
    expect(WorkerEvent.parse(progress).type).toBe('progress');
    expect(WorkerEvent.safeParse({ ...progress, percent: 100.5 }).success).toBe(false);
  });

  it('a result needs an outcome from the enum and sha256 in hex', () => {
    const r = {
      job_id: 'j1',
      operation: 'convert',
      outcome: 'completed',
      finished_at: '2026-11-29T10:00:00.000Z',
      artifacts: [{ path: '/b.qcow2', role: 'disk', format: 'qcow2', size_bytes: 10, sha256: 'A'.repeat(64) }],
      metrics: { queued_s: 0, run_s: 1, total_s: 1, attempts: 1, bytes_processed: 10, throughput_bps: 10 },
      error: null,
      payload: null,
    };
    const f = JobResult.safeParse(r);
    expect(f.success).toBe(false);
    expect(JobResult.parse({ ...r, artifacts: [{ ...r.artifacts[0], sha256: 'a'.repeat(64) }] }).protocol).toBe(PROTOCOL_VERSION);
  });
});

describe('error catalogue', () => {
  it('every entry has a message, a hint and a kind', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(e.message.length, code).toBeGreaterThan(10);
      expect(e.hint.length, code).toBeGreaterThan(10);
      expect(['user', 'environment', 'bug']).toContain(e.kind);
    }
  });

  it('errors cross boundaries as data and keep their code', () => {
    const err = new WorkerError('no_space', { detail: 'need 2 GiB, have 1 GiB' });
    const info = toErrorInfo(err);
    expect(info).toEqual({ code: 'no_space', message: ERROR_CATALOGUE.no_space.message, hint: ERROR_CATALOGUE.no_space.hint, kind: 'environment', detail: 'need 2 GiB, have 1 GiB' });
    expect(WorkerError.fromInfo(JSON.parse(JSON.stringify(info))).code).toBe('no_space');
    expect(toErrorInfo(new TypeError('boom')).code).toBe('internal');
    expect(formatError(errorInfo('validation_failed', { fields: [{ path: 'params.disks', message: 'x' }] }))).toContain('params.disks: x');
  });
});

describe('published JSON Schemas', () => {
  it.each(SCHEMA_NAMES)('%s matches docs/protocol', (name) => {
    const onDisk = JSON.parse(readFileSync(`docs/protocol/${name}.json`, 'utf8'));
    expect(onDisk).toEqual(jsonSchemaOf(name));
  });
});

describe('nested settings are strict and consistent', () => {
  const base = { operation: 'convert', params: { disks: [{ source: '/vm/a.vmdk', output: '/out/a.qcow2' }] } };
  const fields = (input: unknown) => {
    const r = JobSpec.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  it('refuses unknown fields in tuning, retry and the inspect target', () => {
    expect(fields({ ...base, params: { ...base.params, tuning: { bogus_field: true } } })).toEqual([expect.stringMatching(/^params\.tuning: /)]);
    expect(fields({ ...base, retry: { max_attempt: 3 } })).toEqual([expect.stringMatching(/^retry: /)]);
    expect(fields({ operation: 'inspect', params: { disks: ['/vm/a.vmdk'], target: { bus: 'sata' } } })).toEqual([expect.stringMatching(/^params\.target: /)]);
  });
  it('refuses at submit what qemu-img would refuse, and two disks with one output', () => {
    expect(fields({ ...base, params: { ...base.params, qcow2: { compression: 'zstd', compat: '0.10' } } })).toEqual(['params.qcow2.compression: zstd compression needs compat 1.1']);
    expect(fields({ ...base, params: { ...base.params, qcow2: { compression: 'zlib', preallocation: 'full' } } })).toEqual(['params.qcow2.preallocation: compression and preallocation cannot be combined']);
    expect(fields({ ...base, params: { ...base.params, format: 'raw', qcow2: { compression: 'zlib', preallocation: 'full' } } })).toEqual([]);
    const two = { ...base, params: { disks: [{ source: '/vm/a.vmdk', output: '/out/x.qcow2' }, { source: '/vm/b.vmdk', output: '/out/y.qcow2' }, { source: '/vm/c.vmdk', output: '/out//x.qcow2' }] } };
    expect(fields(two)).toEqual(['params.disks.2.output: disks 1 and 3 would both write /out//x.qcow2']);
  });
});
