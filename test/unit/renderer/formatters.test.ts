import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, formatRate, formatTime, humanize, operationLabel, stateLabel } from '../../../renderer/lib/format';
import { elapsedSeconds, progressOrder, runningSince } from '../../../renderer/lib/jobs';
import { basename, dirname, joinPath, stem } from '../../../renderer/lib/paths';
import { parseRoute, routeHash } from '../../../renderer/lib/routes';
import { progressEvent, stateEvent, summary } from './samples';

describe('formatters the views use', () => {
  it('say sizes, rates, durations and percents as the CLI does', () => {
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
    expect(formatRate(12 * 1024 * 1024)).toBe('12.0 MiB/s');
    expect(formatRate(null)).toBe('—');
    expect(formatDuration(3.25)).toBe('3.3 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatPercent(42.123)).toBe('42%');
    expect(formatPercent(4.26)).toBe('4.3%');
  });

  it('write times in local time and names for people', () => {
    const iso = '2026-11-29T10:04:05.000Z';
    const d = new Date(iso);
    expect(formatTime(iso)).toBe(
      `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')} ${String(d.getHours()).padStart(2, '0')}:04:05`,
    );
    expect(formatTime(null)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
    expect(humanize('product_name')).toBe('Product name');
    expect(operationLabel('initramfs_regen')).toBe('Initramfs regeneration');
    expect(operationLabel('new_op')).toBe('New op');
    expect(stateLabel('PROGRESSING')).toBe('Progressing');
    expect(stateLabel('RETRY_WAIT')).toBe('Waiting to retry');
  });

  it('measure elapsed time and find when a run started', () => {
    expect(elapsedSeconds('2026-11-29T10:00:00.000Z', Date.parse('2026-11-29T10:01:30.000Z'))).toBe(90);
    expect(elapsedSeconds('2026-11-29T10:00:00.000Z', Date.parse('2026-11-29T09:00:00.000Z'))).toBe(0);
    expect(elapsedSeconds(null, 0)).toBeNull();
    const events = [stateEvent('a', 4, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:03.000Z'), progressEvent('a', 5, 10), stateEvent('a', 6, 'RUNNING', 'PROGRESSING', '2026-11-29T10:00:04.000Z')];
    expect(runningSince(events)).toBe('2026-11-29T10:00:03.000Z');
    expect(runningSince([])).toBeNull();
  });

  it('order the progress view: running first, then waiting by priority', () => {
    const jobs = [
      summary({ id: 'q-low', state: 'QUEUED', priority: 10 }),
      summary({ id: 'q-high', state: 'QUEUED', priority: 90 }),
      summary({ id: 'run', state: 'PROGRESSING' }),
    ];
    expect([...jobs].sort(progressOrder).map((j) => j.id)).toEqual(['run', 'q-high', 'q-low']);
  });
});

describe('routes and paths', () => {
  it('round-trip every view through the URL fragment', () => {
    for (const hash of ['#/machine', '#/new', '#/progress', '#/history', '#/history/20261129-100000-ab12', '#/report/job_1', '#/settings']) {
      expect(routeHash(parseRoute(hash))).toBe(hash);
    }
    expect(parseRoute('')).toEqual({ view: 'new' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'new' });
    expect(parseRoute('#/history/../../etc')).toEqual({ view: 'history', id: null });
  });

  it('split POSIX paths', () => {
    expect(basename('/a/b/disk.vmdk')).toBe('disk.vmdk');
    expect(dirname('/a/b/disk.vmdk')).toBe('/a/b');
    expect(dirname('/disk.vmdk')).toBe('/');
    expect(stem('/a/web01.disk.vmdk')).toBe('web01.disk');
    expect(stem('/a/.hidden')).toBe('.hidden');
    expect(joinPath('/out/', 'x.qcow2')).toBe('/out/x.qcow2');
  });
});
