/**
 * ProbeCache's rules on real files (stat(2) identities) over an in-memory store: what is kept,
 * what is refused, and when a record stops being valid. The qemu-img identity is that of a file
 * of this test standing in as the tool (found on the PATH the cache is given through env).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import type { ImageFacts } from '../../../shared/protocol';
import { ProbeCache, RECENT_NS, filesOfFacts, measureKey, probeClock, type ProbeCacheStore } from '../../../electron/engine/image/probe-cache';

let dir: string;
let image: string;
let extent: string;
const savedPath = process.env.PATH;

/** A store in memory, as the SQLite table behaves (last put wins). */
function memoryStore(): ProbeCacheStore & { rows: Map<string, string> } {
  const rows = new Map<string, string>();
  return { rows, get: (k) => rows.get(k) ?? null, put: (k, v) => void rows.set(k, v) };
}

function factsOf(path: string, extra: Partial<ImageFacts> = {}): ImageFacts {
  return {
    path,
    format: 'vmdk',
    subformat: 'monolithicFlat',
    virtual_size: 1048576,
    actual_size: 1048576,
    file_size: 300,
    cluster_size: null,
    backing_chain: [],
    snapshots: [],
    extents: [{ path: extent, named_as: 'disk-flat.vmdk', kind: 'FLAT', size_bytes: 1048576, exists: true }],
    encrypted: false,
    dirty: false,
    in_use: false,
    integrity: { checked: false, ok: null, corruptions: 0, leaks: 0, check_errors: 0, detail: null },
    measure: null,
    notes: [],
    ...extra,
  };
}

/** A probe that started now: every file here is older than RECENT_NS by then (see beforeAll). */
const since = () => probeClock();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-probe-cache-unit-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'qemu-img'), '#!/bin/sh\n');
  chmodSync(join(dir, 'bin', 'qemu-img'), 0o755);
  image = join(dir, 'disk.vmdk');
  extent = join(dir, 'disk-flat.vmdk');
  writeFileSync(image, '# Disk DescriptorFile\n');
  writeFileSync(extent, Buffer.alloc(4096, 1));
  process.env.PATH = `${join(dir, 'bin')}:${savedPath}`;
  await new Promise((r) => setTimeout(r, Number(RECENT_NS / 1_000_000n) + 100));
});

afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

describe('ProbeCache', () => {
  it('keeps facts and measures of unchanged files, with the path asked for', async () => {
    const cache = new ProbeCache(memoryStore());
    const facts = factsOf(image);
    expect(await filesOfFacts(facts)).toEqual([image, extent]);
    const key = measureKey('qcow2', ['compat=1.1']);
    expect(key).toBe('qcow2|compat=1.1');
    expect(await cache.record(image, facts, await filesOfFacts(facts), since(), { [key]: { required: 2, fully_allocated: 3 } })).toBe(true);
    expect(await cache.facts(`${dir}/./disk.vmdk`)).toEqual({ ...facts, path: `${dir}/./disk.vmdk` });
    expect(await cache.measure(image, key)).toEqual({ required: 2, fully_allocated: 3 });
    expect(await cache.measure(image, 'qcow2|')).toBeNull();
    // A second measure of the same files is kept beside the first.
    expect(await cache.record(image, facts, await filesOfFacts(facts), since(), { 'qcow2|': { required: 5, fully_allocated: 6 } })).toBe(true);
    expect(await cache.measure(image, key)).toEqual({ required: 2, fully_allocated: 3 });
    expect(await cache.measure(image, 'qcow2|')).toEqual({ required: 5, fully_allocated: 6 });
  });

  it('a write to any file of the record (an extent here) ends it, and its measures with it', async () => {
    const cache = new ProbeCache(memoryStore());
    const mine = join(dir, 'written.vmdk');
    const mineFlat = join(dir, 'written-flat.vmdk');
    writeFileSync(mine, 'x');
    writeFileSync(mineFlat, 'y');
    await new Promise((r) => setTimeout(r, Number(RECENT_NS / 1_000_000n) + 100));
    const facts = factsOf(mine, { extents: [{ path: mineFlat, named_as: 'written-flat.vmdk', kind: 'FLAT', size_bytes: 512, exists: true }] });
    expect(await cache.record(mine, facts, await filesOfFacts(facts), since(), { a: { required: 1, fully_allocated: 1 } })).toBe(true);
    expect(await cache.facts(mine)).not.toBeNull();
    appendFileSync(mineFlat, Buffer.alloc(512));
    expect(await cache.facts(mine)).toBeNull();
    expect(await cache.measure(mine, 'a')).toBeNull();
  });

  it('does not keep: files changed after (or just before) the probe started, an image in use, missing files, non-files', async () => {
    const store = memoryStore();
    const cache = new ProbeCache(store);
    const recent = join(dir, 'recent.vmdk');
    const started = since();
    writeFileSync(recent, 'x');
    expect(await cache.record(recent, factsOf(recent, { extents: [] }), [recent], started)).toBe(false);
    // Changed less than RECENT_NS before the probe started: still too recent (ctime follows a
    // coarse clock, a tick behind Date.now() at most, so the margin here is 100 ms).
    expect(await cache.record(recent, factsOf(recent, { extents: [] }), [recent], started + RECENT_NS - 100_000_000n)).toBe(false);
    expect(await cache.record(image, factsOf(image, { in_use: true }), [image], since())).toBe(false);
    expect(await cache.record(image, factsOf(image), [image, join(dir, 'gone.vmdk')], since())).toBe(false);
    const fifo = join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
    expect(await cache.record(fifo, factsOf(fifo, { extents: [] }), [fifo], since() + RECENT_NS * 10n)).toBe(false);
    expect(await cache.record(image, factsOf(image), [], since())).toBe(false);
    expect(store.rows.size).toBe(0);
  });

  it('a record read by another qemu-img, of another layout, or unreadable is a miss', async () => {
    const store = memoryStore();
    const cache = new ProbeCache(store);
    const facts = factsOf(image);
    expect(await cache.record(image, facts, await filesOfFacts(facts), since())).toBe(true);
    expect(await new ProbeCache(store, 'qemu-nbd').facts(image)).toBeNull();
    // A file of the tool's name that may not be executed is skipped, as execvp skips it: the
    // record names the executable one; once the first one becomes executable, it is another tool.
    const front = join(dir, 'front');
    mkdirSync(front, { recursive: true });
    writeFileSync(join(front, 'qemu-img'), '#!/bin/sh\n', { mode: 0o644 });
    const path = process.env.PATH;
    process.env.PATH = `${front}:${path}`;
    try {
      expect(await cache.record(image, facts, await filesOfFacts(facts), since())).toBe(true);
      expect(await cache.facts(image)).not.toBeNull();
      chmodSync(join(front, 'qemu-img'), 0o755);
      expect(await cache.facts(image)).toBeNull();
    } finally {
      process.env.PATH = path;
    }
    expect(await cache.record(image, facts, await filesOfFacts(facts), since())).toBe(true);
    const stored = JSON.parse(store.rows.get(image)!) as { v: number };
    store.rows.set(image, JSON.stringify({ ...stored, v: stored.v + 1 }));
    expect(await cache.facts(image)).toBeNull();
    store.rows.set(image, '{not json');
    expect(await cache.facts(image)).toBeNull();
    const failing: ProbeCacheStore = {
      get: () => {
        throw new Error('disk I/O error');
      },
      put: () => {
        throw new Error('disk I/O error');
      },
    };
    expect(await new ProbeCache(failing).facts(image)).toBeNull();
    expect(await new ProbeCache(failing).record(image, facts, await filesOfFacts(facts), since())).toBe(false);
  });
});
