/** guestfish output parsers over replies captured from real sessions (captured/gf-replies.json). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { num, parseBool, parseIntReply, parsePairs, parseRecord, parseString, parseStructList } from '../../../electron/engine/guest/gf-output';
import { linesOf } from '../../../electron/engine/guest/session';
import { extDirty, partitionFromBlkid, pvsWithApiNames, recoveredDevices } from '../../../electron/engine/guest/collect';

const R = JSON.parse(readFileSync(join(import.meta.dirname, 'captured', 'gf-replies.json'), 'utf8')) as Record<string, string>;
const reply = (k: string) => {
  const v = R[k];
  if (v === undefined) throw new Error(`no captured reply ${k}`);
  return v;
};

describe('struct lists', () => {
  it('part-list', () => {
    const parts = parseStructList(reply('part-list /dev/sda'));
    expect(parts).toHaveLength(3);
    expect(parts.map((p) => [num(p, 'part_num'), num(p, 'part_start'), num(p, 'part_size')])).toEqual([
      [1, 1048576, 52428800],
      [2, 53477376, 104857600],
      [3, 158334976, 469762560],
    ]);
  });

  it('lvs-full and vgs-full, empty fields included', () => {
    const [lv] = parseStructList(reply('lvs-full'));
    expect(lv).toMatchObject({ lv_name: 'root', lv_kernel_minor: '0', origin: '', lv_size: '566231040' });
    const [vg] = parseStructList(reply('vgs-full'));
    expect([vg!.vg_name, num(vg, 'pv_count'), num(vg, 'lv_count'), num(vg, 'vg_free')]).toEqual(['vg0', 2, 1, 0]);
  });

  it('keeps a multi-line string value together when the field names are known', () => {
    const out = '[0] = {\n  app2_name: foo\n  app2_description: first line\n second line\n  with: colon\n  app2_spare1: \n}\n';
    const [a] = parseStructList(out, ['app2_name', 'app2_description', 'app2_spare1']);
    expect(a).toEqual({ app2_name: 'foo', app2_description: 'first line\n second line\n  with: colon', app2_spare1: '' });
  });
});

describe('records, pairs and scalars', () => {
  it('blkid of a GPT partition and of a PV', () => {
    const esp = parseRecord(reply('blkid /dev/sda1'));
    expect([esp.TYPE, esp.UUID, esp.PART_ENTRY_SCHEME, esp.PART_ENTRY_TYPE]).toEqual(['vfat', '3A23-DAB5', 'gpt', 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b']);
    expect(parseRecord(reply('blkid /dev/sda3')).TYPE).toBe('LVM2_member');
  });

  it('statvfs and tune2fs -l (keys with spaces and #)', () => {
    const st = parseRecord(reply('statvfs /'));
    expect([num(st, 'frsize'), num(st, 'blocks'), num(st, 'bavail'), num(st, 'namemax')]).toEqual([4096, 131767, 122034, 255]);
    const t = parseRecord(reply('tune2fs-l /dev/sda2'));
    expect(t['Filesystem state']).toBe('clean');
    expect(t['Filesystem revision #']).toBe('1 (dynamic)');
    expect(t['Last mounted on']).toBe('');
  });

  it('hashes keep their order', () => {
    expect(parsePairs(reply('list-filesystems'))).toEqual([
      ['/dev/sda1', 'vfat'],
      ['/dev/sda2', 'ext4'],
      ['/dev/vg0/root', 'ext4'],
    ]);
    expect(parsePairs(reply('inspect-get-mountpoints /dev/vg0/root'))).toEqual([['/', '/dev/vg0/root']]);
  });

  it('lists, booleans, integers and strings', () => {
    expect(linesOf(reply('inspect-os'))).toEqual(['/dev/vg0/root']);
    expect(linesOf('')).toEqual([]);
    expect(parseBool(reply('is-file /etc/fstab'))).toBe(true);
    expect(() => parseBool('maybe\n')).toThrow();
    expect(parseIntReply(reply('blockdev-getsize64 /dev/sda'))).toBe(629145600);
    expect(() => parseIntReply('12 GB')).toThrow();
    expect(parseString(reply('inspect-get-windows-systemroot (a Linux root)'))).toBeNull();
    expect(parseString('weird"host\n')).toBe('weird"host');
  });
});

describe('facts from replies', () => {
  it('a partition from blkid: GPT type, MBR type and active flag, sizes in bytes', () => {
    expect(partitionFromBlkid('/dev/sda1', parseRecord(reply('blkid /dev/sda1')))).toEqual({
      device: '/dev/sda1',
      number: 1,
      start_bytes: 1048576,
      end_bytes: 1048576 + 52428800 - 1,
      size_bytes: 52428800,
      mbr_id: null,
      gpt_type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
      bootable: null,
    });
    expect(partitionFromBlkid('/dev/sdc2', parseRecord(reply('blkid /dev/sdc2 (MBR extended partition, no content)')))).toMatchObject({ number: 2, mbr_id: '0x05', gpt_type: null, bootable: false, size_bytes: 20480 * 512 });
    expect(partitionFromBlkid('/dev/sdb1', { PART_ENTRY_SCHEME: 'dos', PART_ENTRY_TYPE: '0x83', PART_ENTRY_FLAGS: '0x80', PART_ENTRY_NUMBER: '1', PART_ENTRY_OFFSET: '2048', PART_ENTRY_SIZE: '2048' })).toMatchObject({ mbr_id: '0x83', bootable: true });
    expect(partitionFromBlkid('/dev/sda', parseRecord(reply('blkid /dev/sda (GPT disk)')))).toBeNull();
  });

  it('ext* dirty state from tune2fs', () => {
    expect(extDirty(parseRecord(reply('tune2fs-l /dev/sda2')))).toEqual({ dirty: false, evidence: null });
    expect(extDirty({ 'Filesystem state': 'not clean', 'Filesystem features': 'has_journal' })).toEqual({ dirty: true, evidence: 'tune2fs: Filesystem state: not clean' });
    expect(extDirty({ 'Filesystem state': 'clean', 'Filesystem features': 'has_journal needs_recovery extent' })).toEqual({ dirty: true, evidence: 'tune2fs: journal needs_recovery' });
    expect(extDirty({})).toEqual({ dirty: null, evidence: null });
  });

  it('journal recovery in the kernel log (real lines: none; recovery lines written from the kernel sources)', () => {
    expect(recoveredDevices(reply('dmesg (excerpt)')).size).toBe(0);
    const log = '[  9.1] XFS (dm-0): Starting recovery (logdev: internal)\n[  9.4] XFS (dm-0): Ending recovery (logdev: internal)\n[ 12.0] EXT4-fs (sda1): recovery complete\n';
    expect([...recoveredDevices(log)]).toEqual([
      ['dm-0', 'XFS (dm-0): Starting recovery (logdev: internal)'],
      ['sda1', 'EXT4-fs (sda1): recovery complete'],
    ]);
  });
});

describe('PV names (pvsWithApiNames)', () => {
  // Captured from the RHEL fixture; the misordered cases rename the captured pv_name the way the
  // appliance kernel did once in CI (its only disk's PV as /dev/sdb2, the API's /dev/sda2).
  const full = parseStructList(reply('pvs-full'));
  const uuid = reply('pvuuid /dev/sda2').trim();
  it('keeps names that already agree, comparing UUIDs with and without dashes', () => {
    expect(uuid).toContain('-');
    expect(pvsWithApiNames(full, linesOf(reply('pvs')).map((device) => ({ device, uuid })))).toEqual([
      { device: '/dev/sda2', uuid: 'zedX0pQ8Ti7Q7cc7LAdPuRbTdQOqWbZG', size_bytes: 1606418432 },
    ]);
  });
  it('renames a PV the appliance kernel saw under another disk name', () => {
    const kernelNamed = full.map((p) => ({ ...p, pv_name: '/dev/sdb2' }));
    expect(pvsWithApiNames(kernelNamed, [{ device: '/dev/sda2', uuid }]).map((p) => p.device)).toEqual(['/dev/sda2']);
  });
  it('pairs swapped disks by UUID, not by name, and keeps the kernel name without a pair', () => {
    const other = { ...full[0]!, pv_name: '/dev/sda2', pv_uuid: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
    const swapped = [{ ...full[0]!, pv_name: '/dev/sdb2' }, other];
    const api = [
      { device: '/dev/sda2', uuid },
      { device: '/dev/sdb2', uuid: 'AAAAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA' },
    ];
    expect(pvsWithApiNames(swapped, api).map((p) => p.device)).toEqual(['/dev/sda2', '/dev/sdb2']);
    expect(pvsWithApiNames(swapped, []).map((p) => p.device)).toEqual(['/dev/sdb2', '/dev/sda2']);
  });
});
