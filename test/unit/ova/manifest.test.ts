// OVF manifests in each exporter's dialect, and digests of byte ranges (a file, or a member read
// in place from inside a larger file).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { algorithmOf, checkManifest, hashRange, parseManifest } from '../../../electron/engine/ova/manifest';

const SHA1 = 'a9993e364706816aba3e25717850c26c9cd0d89d'; // sha1("abc")
const SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // sha256("abc")

describe('parseManifest', () => {
  it('VMware ovftool: SHA256(file)= hex', () => {
    const m = parseManifest(`SHA256(web01.ovf)= ${SHA256}\nSHA256(web01-disk1.vmdk)= ${SHA256.toUpperCase()}\n`);
    expect(m.entries).toEqual([
      { file: 'web01.ovf', algorithm: 'sha256', digest: SHA256, line: 1, style: 'vmware' },
      { file: 'web01-disk1.vmdk', algorithm: 'sha256', digest: SHA256, line: 2, style: 'vmware' },
    ]);
    expect(m.algorithms).toEqual(['sha256']);
    expect(m.unparsed).toEqual([]);
  });
  it('vSphere 6.x: SHA1(file)= hex, CRLF line ends', () => {
    const m = parseManifest(`SHA1(db-rhel8.ovf)= ${SHA1}\r\nSHA1(db-rhel8-1.vmdk)= ${SHA1}\r\n`);
    expect(m.entries.map((e) => [e.file, e.algorithm, e.digest])).toEqual([
      ['db-rhel8.ovf', 'sha1', SHA1],
      ['db-rhel8-1.vmdk', 'sha1', SHA1],
    ]);
  });
  it('VirtualBox (IPRT RTManifest): SHA1 (file) = hex and SHA256 (file) = hex, names with spaces', () => {
    const m = parseManifest(`SHA1 (Fedora 40.ovf) = ${SHA1}\nSHA256 (Fedora 40-disk001.vmdk) = ${SHA256}\n`);
    expect(m.entries).toEqual([
      { file: 'Fedora 40.ovf', algorithm: 'sha1', digest: SHA1, line: 1, style: 'bsd' },
      { file: 'Fedora 40-disk001.vmdk', algorithm: 'sha256', digest: SHA256, line: 2, style: 'bsd' },
    ]);
    expect(m.algorithms).toEqual(['sha1', 'sha256']);
  });
  it('spacing variants, OpenSSL 3 names, SHA512, parentheses inside names', () => {
    const sha512 = 'a'.repeat(128);
    const m = parseManifest(`SHA256(a.vmdk) = ${SHA256}\nSHA2-256(b.vmdk)= ${SHA256}\nSHA512 (c (copy).vmdk)= ${sha512}\n  SHA1(d.vmdk)=${SHA1}  \n`);
    expect(m.entries.map((e) => [e.file, e.algorithm])).toEqual([
      ['a.vmdk', 'sha256'],
      ['b.vmdk', 'sha256'],
      ['c (copy).vmdk', 'sha512'],
      ['d.vmdk', 'sha1'],
    ]);
  });
  it('coreutils sha256sum / sha1sum lines', () => {
    const m = parseManifest(`${SHA256}  disk1.vmdk\n${SHA1} *vm.ovf\n`);
    expect(m.entries.map((e) => [e.file, e.algorithm, e.style])).toEqual([
      ['disk1.vmdk', 'sha256', 'coreutils'],
      ['vm.ovf', 'sha1', 'coreutils'],
    ]);
  });
  it('lists lines it cannot read: unknown algorithm, wrong digest length, junk; skips blank lines', () => {
    const m = parseManifest(`\nCRC32(a.vmdk)= 1234abcd\nSHA1(b.vmdk)= ${SHA256}\nhello\n\n`);
    expect(m.entries).toEqual([]);
    expect(m.unparsed.map((u) => u.line)).toEqual([2, 3, 4]);
  });
  it('algorithm names', () => {
    expect(['SHA1', 'sha256', 'SHA-256', 'SHA2-512', 'MD5', 'SHA3-256', 'crc32'].map(algorithmOf)).toEqual(['sha1', 'sha256', 'sha256', 'sha512', 'md5', null, null]);
  });
});

describe('hashRange and checkManifest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'h2k-mf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // "xx" + "abc" + "yyyy": the member "abc" sits at offset 2, 3 bytes.
  const file = join(dir, 'blob');
  writeFileSync(file, 'xxabcyyyy');
  const big = join(dir, 'big');
  const bigData = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  writeFileSync(big, bigData);

  it('hashes exactly the range, with several algorithms in one pass', async () => {
    expect(await hashRange({ path: file, offset: 2, size: 3 }, ['sha1', 'sha256'])).toEqual({ sha1: SHA1, sha256: SHA256 });
    const expected = createHash('sha256').update(bigData.subarray(5, bigData.length - 5)).digest('hex');
    expect(await hashRange({ path: big, offset: 5, size: bigData.length - 10 }, ['sha256'])).toEqual({ sha256: expected });
    expect(await hashRange({ path: file, offset: 0, size: 0 }, ['sha1'])).toEqual({ sha1: createHash('sha1').digest('hex') });
  });
  it('throws when the range runs past the end of the file', async () => {
    await expect(hashRange({ path: file, offset: 5, size: 10 }, ['sha1'])).rejects.toThrow(/expected 10 bytes/);
  });
  it('aborts with the signal reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(hashRange({ path: big, offset: 0, size: bigData.length }, ['sha1'], ac.signal)).rejects.toThrow('stop now');
  });
  it('reports matches, digest mismatches and missing files', async () => {
    const m = parseManifest(`SHA1(abc)= ${SHA1}\nSHA256(abc)= ${SHA256}\nSHA1(other)= ${SHA1}\nSHA1(gone)= ${SHA1}\n`);
    const ranges: Record<string, { path: string; offset: number; size: number }> = { abc: { path: file, offset: 2, size: 3 }, other: { path: file, offset: 0, size: 3 } };
    const r = await checkManifest(m.entries, (f) => ranges[f] ?? null);
    expect(r.verified).toBe(false);
    expect(r.checked).toEqual(['abc', 'other']);
    expect(r.mismatches).toEqual([
      { file: 'other', algorithm: 'sha1', expected: SHA1, actual: createHash('sha1').update('xxa').digest('hex'), reason: 'digest' },
      { file: 'gone', algorithm: 'sha1', expected: SHA1, actual: null, reason: 'missing' },
    ]);
    const ok = await checkManifest(m.entries.slice(0, 2), (f) => ranges[f] ?? null);
    expect(ok).toEqual({ verified: true, mismatches: [], checked: ['abc'] });
  });
});
