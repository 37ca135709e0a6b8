/**
 * OVF manifests (`.mf`, DSP0243 §5.1): one digest per file of the package, in the dialects
 * exporters write:
 *   VMware ovftool / vSphere   `SHA256(disk1.vmdk)= 0123…`  (`SHA1(…)= ` in older vSphere)
 *   VirtualBox (IPRT RTManifest), BSD `sha256`   `SHA256 (disk1.vmdk) = 0123…`
 *   OpenSSL 3 `dgst`           `SHA2-256(disk1.vmdk)= 0123…`
 *   coreutils `sha256sum`      `0123…  disk1.vmdk` (algorithm from the digest length)
 * and the digests are checked by hashing byte ranges (a file, or a member inside an OVA read in
 * place), streaming, with node:crypto. The `.cert` file (a signature over the manifest) is not
 * read here: the worker does not check signatures, it only says one is present.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Digest algorithms, named as node:crypto names them. */
export type HashAlgorithm = 'md5' | 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** One digest line of a manifest. */
export interface ManifestEntry {
  /** The file name as the manifest writes it (relative to the descriptor). */
  file: string;
  algorithm: HashAlgorithm;
  /** Lower-case hex. */
  digest: string;
  /** 1-based line in the manifest. */
  line: number;
  style: 'vmware' | 'bsd' | 'coreutils';
}

/** A manifest's digest lines, and the lines that are not. */
export interface ParsedManifest {
  entries: ManifestEntry[];
  /** Algorithms used, in order of first use. */
  algorithms: HashAlgorithm[];
  /** Lines that are not blank and not a digest line. */
  unparsed: { line: number; text: string }[];
}

const HEX_LENGTH: Record<HashAlgorithm, number> = { md5: 32, sha1: 40, sha224: 56, sha256: 64, sha384: 96, sha512: 128 };

/** `SHA256`, `SHA-256`, `SHA2-256`, `sha1`, `MD5` → the algorithm; null for anything else. */
export function algorithmOf(name: string): HashAlgorithm | null {
  const n = name.toLowerCase().replace(/^sha2-/, 'sha').replace(/^sha-/, 'sha');
  return n === 'md5' || n === 'sha1' || n === 'sha224' || n === 'sha256' || n === 'sha384' || n === 'sha512' ? n : null;
}

/** Parse a manifest's text. Pure; never throws (lines it cannot read are listed in `unparsed`). */
export function parseManifest(text: string): ParsedManifest {
  const entries: ManifestEntry[] = [];
  const unparsed: ParsedManifest['unparsed'] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    // ALGO(name)= hex   or   ALGO (name) = hex; the name may itself hold parentheses.
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)$/.exec(line);
    if (m) {
      const algorithm = algorithmOf(m[1]!);
      const digest = m[3]!.toLowerCase();
      if (algorithm && digest.length === HEX_LENGTH[algorithm]) {
        const style = /\s\(/.test(line.slice(0, m[1]!.length + 2)) ? 'bsd' : 'vmware';
        entries.push({ file: m[2]!, algorithm, digest, line: i + 1, style });
        return;
      }
    }
    // coreutils: "hex  name" or "hex *name" (binary mode).
    const c = /^([0-9A-Fa-f]+) [ *](.+)$/.exec(line);
    if (c) {
      const digest = c[1]!.toLowerCase();
      const algorithm = (Object.keys(HEX_LENGTH) as HashAlgorithm[]).find((a) => HEX_LENGTH[a] === digest.length && a !== 'md5' && a !== 'sha224');
      if (algorithm) {
        entries.push({ file: c[2]!, algorithm, digest, line: i + 1, style: 'coreutils' });
        return;
      }
    }
    unparsed.push({ line: i + 1, text: raw.length > 200 ? raw.slice(0, 200) + '…' : raw });
  });
  const algorithms: HashAlgorithm[] = [];
  for (const e of entries) if (!algorithms.includes(e.algorithm)) algorithms.push(e.algorithm);
  return { entries, algorithms, unparsed };
}

/** Bytes [offset, offset + size) of a file: a whole file, or one member of a tar read in place. */
export interface ByteRange {
  path: string;
  offset: number;
  size: number;
}

/**
 * Digests (lower-case hex) of a byte range, every requested algorithm in one streaming pass.
 * Throws the fs error; aborts with `signal.reason`.
 */
export async function hashRange(
  range: ByteRange,
  algorithms: readonly HashAlgorithm[],
  signal?: AbortSignal,
  /** Called with the bytes read so far of this range, as they are read. */
  onBytes?: (n: number) => void,
): Promise<Partial<Record<HashAlgorithm, string>>> {
  signal?.throwIfAborted();
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  if (range.size > 0) {
    const stream = createReadStream(range.path, { start: range.offset, end: range.offset + range.size - 1, highWaterMark: 1024 * 1024, signal });
    let seen = 0;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        seen += chunk.length;
        for (const [, h] of hashes) h.update(chunk);
        onBytes?.(seen);
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw err;
    }
    if (seen !== range.size) throw new Error(`${range.path}: expected ${range.size} bytes from offset ${range.offset}, read ${seen}`);
  }
  const out: Partial<Record<HashAlgorithm, string>> = {};
  for (const [a, h] of hashes) out[a] = h.digest('hex');
  return out;
}

/** A manifest entry whose file differs from its digest, or is not in the package. */
export interface ManifestMismatch {
  file: string;
  algorithm: HashAlgorithm;
  expected: string;
  /** The digest computed, or null when the file is not in the package. */
  actual: string | null;
  reason: 'digest' | 'missing';
}

/** The outcome of checking a manifest against the package's bytes. */
export interface ManifestCheck {
  /** True when every entry was found and matched. */
  verified: boolean;
  mismatches: ManifestMismatch[];
  /** Files whose digests were computed, in manifest order. */
  checked: string[];
}

/**
 * Check every manifest entry against the bytes `locate` gives for its file name (null: not in
 * the package). Each file is read once, for all the algorithms it is listed with. Reports, never
 * throws for a mismatch; throws fs errors and `signal.reason`. `onBytes` gets the bytes hashed
 * so far over all the files, as they are read.
 */
export async function checkManifest(
  entries: readonly ManifestEntry[],
  locate: (file: string) => ByteRange | null,
  signal?: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<ManifestCheck> {
  const byFile = new Map<string, ManifestEntry[]>();
  for (const e of entries) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const mismatches: ManifestMismatch[] = [];
  const checked: string[] = [];
  let before = 0;
  for (const [file, list] of byFile) {
    const range = locate(file);
    if (!range) {
      for (const e of list) mismatches.push({ file, algorithm: e.algorithm, expected: e.digest, actual: null, reason: 'missing' });
      continue;
    }
    const digests = await hashRange(range, [...new Set(list.map((e) => e.algorithm))], signal, onBytes && ((n) => onBytes(before + n)));
    before += range.size;
    checked.push(file);
    for (const e of list) {
      const actual = digests[e.algorithm]!;
      if (actual !== e.digest) mismatches.push({ file, algorithm: e.algorithm, expected: e.digest, actual, reason: 'digest' });
    }
  }
  return { verified: mismatches.length === 0, mismatches, checked };
}
