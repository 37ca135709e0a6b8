/**
 * Two small pure parts of inspection: the OS name said in progress messages and the CLI
 * (osDisplayName, over the roots CAPTURED from real appliance runs), and the reading of
 * qemu-img's lock refusal (isLockConflict, over the text qemu-img 7.2 printed for an image a
 * qemu-nbd held; the real thing runs in test/integration/inspect-lock.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InspectionReport } from '../../../shared/protocol';
import { osDisplayName } from '../../../shared/os-name';
import { isLockConflict, writeLockLine } from '../../../electron/engine/image/lock';

const rootOf = (name: string) => InspectionReport.parse(JSON.parse(readFileSync(join(import.meta.dirname, 'captured', `${name}.report.json`), 'utf8'))).guest.roots[0]!;

describe('osDisplayName', () => {
  it('Debian: libguestfs gives /etc/debian_version as the product name; the name is the distribution and major version', () => {
    const r = rootOf('debian-vmware');
    expect([r.distro, r.product_name, r.major_version]).toEqual(['debian', '12.15', 12]);
    expect(osDisplayName(r)).toBe('Debian GNU/Linux 12');
    expect(osDisplayName(rootOf('twodisk'))).toBe('Debian GNU/Linux 12');
  });

  it('RHEL: the product name is a name already, kept as it is', () => {
    expect(osDisplayName(rootOf('rhel9-vmware'))).toBe('Red Hat Enterprise Linux 9.4 (Plow)');
  });

  it('never a bare version: unknown distro ids, no version, nothing known', () => {
    expect(osDisplayName({ type: 'linux', distro: 'newdistro', product_name: '3.1', major_version: 3 })).toBe('newdistro 3');
    expect(osDisplayName({ type: 'linux', distro: 'ubuntu', product_name: null, major_version: null })).toBe('Ubuntu');
    expect(osDisplayName({ type: 'windows', distro: 'windows', product_name: 'Windows Server 2019 Standard', major_version: 10 })).toBe('Windows Server 2019 Standard');
    expect(osDisplayName({ type: 'unknown', distro: null, product_name: 'unknown', major_version: null })).toBe('the operating system');
  });
});

describe('isLockConflict', () => {
  it("reads qemu-img's refusal when another process holds the write lock", () => {
    // qemu-img 7.2.22, `qemu-img info -f qcow2 -- X` while `qemu-nbd -f qcow2 -k S -- X` served it.
    const stderr = `qemu-img: Could not open '/tmp/tmp.xpJ5tJuonW/p.qcow2': Failed to get shared "write" lock\nIs another process using the image [/tmp/tmp.xpJ5tJuonW/p.qcow2]?\n`;
    expect(isLockConflict(stderr)).toBe(true);
    expect(isLockConflict(`qemu-img: Could not open 'x.raw': Failed to get "consistent read" lock\nIs another process using the image [x.raw]?`)).toBe(true);
  });

  it('other failures are not a lock', () => {
    expect(isLockConflict("qemu-img: Could not open '/x.qcow2': Could not open '/x.qcow2': No such file or directory")).toBe(false);
    expect(isLockConflict("qemu-img: Could not open '/x.qcow2': qcow2: Image is corrupt; cannot be opened read/write")).toBe(false);
    expect(isLockConflict('')).toBe(false);
  });
});

describe('writeLockLine', () => {
  // /proc/locks while `qemu-nbd -f raw` held a raw copy (dev fe:00, inode 2146456) and, below, a
  // qcow2 copy (inode 2146593): QEMU locks byte 100 + bit per permission it holds (101 = write).
  const procLocks = [
    '1: OFDLCK ADVISORY  READ -1 fe:00:2146456 203 203',
    '2: OFDLCK ADVISORY  READ -1 fe:00:2146456 100 101',
    '3: OFDLCK ADVISORY  READ -1 fe:00:2146593 203 203',
    '4: OFDLCK ADVISORY  READ -1 fe:00:2146593 201 201',
    '5: OFDLCK ADVISORY  READ -1 fe:00:2146593 103 103',
    '6: FLOCK  ADVISORY  WRITE 812 fe:00:99 0 EOF',
  ].join('\n');
  const dev = { major: 0xfe, minor: 0 };

  it('finds the lock covering byte 101 of that very file', () => {
    expect(writeLockLine(procLocks, dev, 2146456)).toBe('2: OFDLCK ADVISORY  READ -1 fe:00:2146456 100 101');
    expect(writeLockLine(procLocks, dev, 99)).toBe('6: FLOCK  ADVISORY  WRITE 812 fe:00:99 0 EOF');
  });

  it('other bytes (a reader at 100, shared-denied 2xx), other files and other devices are not a writer', () => {
    expect(writeLockLine(procLocks, dev, 2146593)).toBeNull();
    expect(writeLockLine(procLocks, dev, 1)).toBeNull();
    expect(writeLockLine(procLocks, { major: 8, minor: 1 }, 2146456)).toBeNull();
    expect(writeLockLine('', dev, 2146456)).toBeNull();
  });
});
