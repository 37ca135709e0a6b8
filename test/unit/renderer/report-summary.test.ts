import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../shared/protocol';
import { countsText, findingCounts, osName, readReport, reportSummary, severityCount } from '../../../renderer/lib/report';

const finding = (id: string, severity: Finding['severity']): Finding => ({
  id,
  severity,
  title: id,
  evidence: [],
  remediation: { kind: 'manual', steps: ['do it'], summary: 'Do it' },
});

const debianRoot = { root: '/dev/sda1', type: 'linux', distro: 'debian', product_name: '12.5', major_version: 12, minor_version: 5, arch: 'x86_64' };
const disk = { disk_id: 'disk-1', source: { kind: 'file', path: '/vm/a.vmdk' }, image: { path: '/vm/a.vmdk', format: 'vmdk', virtual_size: 1 }, error: null };

describe('OS names', () => {
  it('names a root by product name when it has words, else by distribution and major version, as the worker does', () => {
    expect(osName(debianRoot)).toBe('Debian GNU/Linux 12, x86_64');
    expect(osName({ distro: 'rhel', product_name: 'Red Hat Enterprise Linux 9.4 (Plow)', major_version: 9, arch: 'x86_64' })).toBe('Red Hat Enterprise Linux 9.4 (Plow), x86_64');
    expect(osName({ distro: 'rhel', product_name: 'unknown', major_version: 9 })).toBe('Red Hat Enterprise Linux 9');
    expect(osName({ distro: 'plan9', major_version: 4 })).toBe('plan9 4');
    expect(osName({ os: 'archlinux' })).toBe('Arch Linux');
    expect(osName({ type: 'unknown' })).toBeNull();
    expect(osName({ hostname: 'x' })).toBeNull();
    expect(readReport({ disks: [disk], guest: { status: 'inspected', roots: [debianRoot, { distro: 'windows', major_version: 10, minor_version: 0 }] }, findings: [] })!.guest!.systems).toEqual([
      'Debian GNU/Linux 12, x86_64',
      'Windows 10',
    ]);
    expect(readReport({ disks: [], guest: { distro: 'debian', major_version: 12 }, findings: [] })!.guest!.systems).toEqual(['Debian GNU/Linux 12']);
  });
});

describe('findingCounts: an inspect card’s counts from the result payload', () => {
  it('counts by severity alone, and is null without a findings list', () => {
    expect(findingCounts({ findings: [finding('a', 'blocker'), finding('b', 'warning'), finding('c', 'warning'), { severity: 'info' }, { id: 'no severity' }, 'junk'] })).toEqual({
      blocker: 1,
      warning: 2,
      info: 1,
    });
    expect(findingCounts({ findings: [] })).toEqual({ blocker: 0, warning: 0, info: 0 });
    expect(findingCounts({ disks: [] })).toBeNull();
    expect(findingCounts(null)).toBeNull();
  });
});

describe('reportSummary: the top of a report', () => {
  it('says a guest with blockers is not ready, with its OS and counts', () => {
    const r = readReport({ disks: [disk], guest: { status: 'inspected', roots: [debianRoot] }, findings: [finding('a', 'blocker'), finding('b', 'blocker'), finding('c', 'info')] })!;
    expect(reportSummary(r)).toEqual({
      counts: { blocker: 2, warning: 0, info: 1 },
      os: 'Debian GNU/Linux 12, x86_64',
      verdict: { tone: 'bad', text: 'Not ready for KVM: 2 blockers to fix on the converted copy before it boots.' },
      caveats: [],
    });
  });

  it('warns on warnings, is ok without, and names what it does not cover', () => {
    const warn = readReport({ disks: [disk], guest: { status: 'inspected', roots: [debianRoot] }, findings: [finding('w', 'warning')] })!;
    expect(reportSummary(warn).verdict).toEqual({ tone: 'warn', text: 'Can be converted; check the warning first.' });
    const skipped = readReport({ disks: [disk], guest: { status: 'skipped', reason: 'guest inspection was not asked for.', roots: [] }, findings: [{ id: 'unreadable' }] })!;
    expect(reportSummary(skipped)).toEqual({
      counts: { blocker: 0, warning: 0, info: 0 },
      os: 'not inspected (skipped)',
      verdict: { tone: 'ok', text: 'Nothing found that would stop it from running on KVM.' },
      caveats: ['The guest was not inspected (guest inspection was not asked for), so problems inside it are not covered.', '1 finding could not be read by this version of the app.'],
    });
    expect(reportSummary(readReport({ disks: [disk], guest: null, findings: [] })!).os).toBe('not in the report');
    expect(reportSummary(readReport({ disks: [disk], guest: { status: 'inspected', roots: [] }, findings: [] })!).os).toBe('no operating system found');
  });

  it('puts unreadable disks before everything else', () => {
    const bad = readReport({ disks: [disk, { ...disk, disk_id: 'disk-2', image: null, error: { code: 'extent_missing', message: 'An extent is missing.' } }], guest: null, findings: [finding('a', 'blocker')] })!;
    expect(reportSummary(bad).verdict).toEqual({ tone: 'bad', text: '1 disk cannot be read: fix it before converting.' });
  });
});

describe('counts in words', () => {
  it('says one or many per severity, in severity order', () => {
    expect(severityCount('blocker', 1)).toBe('1 blocker');
    expect(severityCount('warning', 0)).toBe('0 warnings');
    expect(severityCount('info', 3)).toBe('3 info');
    expect(countsText({ blocker: 2, warning: 1, info: 0 })).toBe('2 blockers · 1 warning · 0 info');
  });
});
