/**
 * Parsers for what guestfish prints (guestfish(1), generated printers of fish/run-*.c): pure
 * functions over the text of one reply, unit-tested on replies captured from real sessions.
 *
 * - string lists (list-devices, ls, inspect-os): one item per line;
 * - hashes (list-filesystems, inspect-get-mountpoints): `key: value` per line;
 * - one struct (statvfs, blkid, tune2fs-l): `field: value` per line;
 * - struct lists (part-list, lvs-full, inspect-list-applications2): `[N] = {` blocks of
 *   two-space-indented `field: value` lines, closed by `}`.
 */
import { linesOf } from './session';

/** `key: value` lines as ordered pairs, split at the first ": " (keys may contain spaces). */
export function parsePairs(out: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const line of linesOf(out)) {
    const at = line.indexOf(': ');
    if (at > 0) pairs.push([line.slice(0, at), line.slice(at + 2)]);
    else if (line.endsWith(':')) pairs.push([line.slice(0, -1), '']);
  }
  return pairs;
}

/** `key: value` lines as a record (the last value of a repeated key wins). */
export function parseRecord(out: string): Record<string, string> {
  const rec: Record<string, string> = {};
  for (const [k, v] of parsePairs(out)) rec[k] = v;
  return rec;
}

/**
 * A struct list. `fields` (when given) are the struct's field names: a line that does not
 * start one of them continues the previous field's value (strings with newlines, e.g.
 * application descriptions, are printed raw).
 */
export function parseStructList(out: string, fields?: readonly string[]): Array<Record<string, string>> {
  const list: Array<Record<string, string>> = [];
  let cur: Record<string, string> | null = null;
  let last: string | null = null;
  const known = fields ? new Set(fields) : null;
  for (const line of linesOf(out)) {
    if (/^\[\d+\] = \{$/.test(line)) {
      cur = {};
      list.push(cur);
      last = null;
      continue;
    }
    if (line === '}' && cur) {
      cur = null;
      continue;
    }
    if (!cur) continue;
    const m = /^ {2}([a-z0-9_]+): ?(.*)$/.exec(line);
    if (m && (!known || known.has(m[1]!))) {
      cur[m[1]!] = m[2]!;
      last = m[1]!;
    } else if (last) cur[last] += '\n' + line;
  }
  return list;
}

/** "true" / "false" replies. Throws on anything else (a protocol change is an error here). */
export function parseBool(out: string): boolean {
  const t = out.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new Error(`expected true or false, got ${JSON.stringify(t.slice(0, 80))}`);
}

/** An integer reply (int, int64). Throws when it is not one. */
export function parseIntReply(out: string): number {
  const t = out.trim();
  if (!/^-?\d+$/.test(t)) throw new Error(`expected an integer, got ${JSON.stringify(t.slice(0, 80))}`);
  return Number(t);
}

/** A number field of a struct, or null when absent or not a number. */
export function num(rec: Record<string, string> | undefined, key: string): number | null {
  const v = rec?.[key];
  if (v === undefined || !/^-?\d+$/.test(v.trim())) return null;
  return Number(v.trim());
}

/** A string reply without its final newline; null for an empty reply. */
export function parseString(out: string): string | null {
  const t = out.endsWith('\n') ? out.slice(0, -1) : out;
  return t === '' ? null : t;
}
