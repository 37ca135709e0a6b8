import { describe, expect, it } from 'vitest';
import { describeStamp, isoFromNs, untouchedLine } from '../../../electron/engine/ops/convert/source';

describe('source stamps for the audit trail', () => {
  it('prints mtimes as ISO 8601 UTC, nanoseconds kept', () => {
    expect(isoFromNs('1795963748843168033')).toBe('2026-11-29T14:49:08.843168033Z');
    expect(isoFromNs('0')).toBe('1970-01-01T00:00:00.000000000Z');
    expect(isoFromNs('1000000001')).toBe('1970-01-01T00:00:01.000000001Z');
    expect(describeStamp({ path: '/v/a.vmdk', size_bytes: 512, mtime_ns: '1795963748843168033' })).toBe('/v/a.vmdk: size 512 bytes, mtime 2026-11-29T14:49:08.843168033Z');
  });

  it('says the source is untouched in one line, or what changed', () => {
    const a = { path: '/v/a.vmdk', size_bytes: 512, mtime_ns: '1795963748843168033' };
    const b = { path: '/v/a-flat.vmdk', size_bytes: 1024, mtime_ns: '1795963748000000000' };
    expect(untouchedLine([a], [{ ...a }])).toBe('source untouched: size 512 bytes, mtime 2026-11-29T14:49:08.843168033Z (before = after)');
    expect(untouchedLine([a, b], [a, b])).toBe(
      'source untouched: /v/a.vmdk size 512 bytes, mtime 2026-11-29T14:49:08.843168033Z; /v/a-flat.vmdk size 1024 bytes, mtime 2026-11-29T14:49:08.000000000Z (before = after)',
    );
    expect(untouchedLine([a], [{ ...a, size_bytes: 1024, mtime_ns: '1795963749000000000' }])).toBe(
      'source CHANGED during the job: /v/a.vmdk: size 512 → 1024 bytes, mtime 2026-11-29T14:49:08.843168033Z → 2026-11-29T14:49:09.000000000Z',
    );
  });
});
