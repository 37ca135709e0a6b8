// The real libguestfs appliance probe. Two appliance starts in all: one that must work (TCG here,
// KVM where /dev/kvm works), and one with tiny timeouts (KVM 2 s, TCG 5 s: long enough for qemu to
// be running, far too short for a TCG boot) that must be cut off with the whole process group,
// qemu included. Leftovers are checked with pgrep: by process group, and by the
// probe's private temp folder, which appears on qemu's command line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCapabilities, guestfsEnv, type AttemptStarted, type DetectOptions } from '../../electron/capabilities/detect';
import { liveGroupMembers } from '../../electron/capabilities/appliance';
import { runTool } from '../../electron/tools/spawn';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'h2k-caps-appliance-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function opts(name: string, extra: Partial<DetectOptions> = {}): DetectOptions {
  return { dataDir: join(root, name, 'data'), scratchDir: join(root, name, 'scratch'), cacheDir: join(root, name, 'cache'), ...extra };
}

/** `pgrep ARGS`: the matching pids (pgrep exits 1 when nothing matches). */
async function pgrep(...args: string[]): Promise<string[]> {
  const r = await runTool({ command: 'pgrep', args: ['-a', ...args], timeoutMs: 10_000 });
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`pgrep failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** What pgrep still finds of an attempt: its process group, or anything naming its temp folder. */
async function leftovers(a: AttemptStarted): Promise<string[]> {
  return [...(await pgrep('-g', String(a.pgid))), ...(await pgrep('-f', a.tmpDir))];
}

/** Names (/proc/PID/comm) of the live members of a process group. */
function groupCommands(pgid: number): string[] {
  return liveGroupMembers(pgid).flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/comm`, 'utf8').trim()];
    } catch {
      return [];
    }
  });
}

describe('appliance probe (starts real appliances)', () => {
  it('starts an appliance, picks the accelerator, leaves nothing running, and caches the result', async () => {
    const started: AttemptStarted[] = [];
    const o = opts('ok', { onApplianceAttempt: (a) => started.push(a) });
    const caps = await detectCapabilities(o);
    const a = caps.appliance;

    expect(a.probed).toBe(true);
    expect(a.usable, JSON.stringify(a.attempts, null, 2)).toBe(true);
    expect(a.backend).toBe(process.env.LIBGUESTFS_BACKEND || 'direct');
    expect(a.start_seconds).toBeGreaterThan(0);
    // The chosen accelerator is the one of the last attempt, the only one that worked.
    const last = a.attempts.at(-1);
    expect(last?.outcome).toBe('ok');
    expect(a.attempts.filter((t) => t.outcome === 'ok')).toHaveLength(1);
    expect(a.accelerator).toBe(last?.accelerator);
    expect(a.start_seconds).toBe(last?.seconds);
    expect(caps.kvm.device_present).toBe(existsSync('/dev/kvm'));
    if (caps.kvm.device_accessible) {
      expect(a.attempts[0]?.accelerator).toBe('kvm');
      if (a.accelerator === 'tcg') expect(a.hint).toMatch(/KVM did not start the appliance/);
    } else {
      expect(a.attempts.map((t) => t.accelerator)).toEqual(['tcg']);
      expect(a.accelerator).toBe('tcg');
    }
    if (!existsSync('/dev/kvm')) expect(a.accelerator).toBe('tcg');
    expect(caps.capabilities.find((c) => c.key === 'libguestfs')?.available).toBe(true);
    expect(guestfsEnv(a)).toEqual(a.accelerator === 'tcg' ? { LIBGUESTFS_BACKEND: a.backend, LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' } : { LIBGUESTFS_BACKEND: a.backend });

    expect(started.map((s) => s.accelerator)).toEqual(a.attempts.map((t) => t.accelerator));
    for (const s of started) {
      expect(await leftovers(s)).toEqual([]);
      expect(existsSync(s.tmpDir)).toBe(false);
    }

    // Second call: from the cache, no appliance started, far under the probe time.
    const t = performance.now();
    const again = await detectCapabilities({ ...o, onApplianceAttempt: () => started.push({ accelerator: 'tcg', pgid: -1, tmpDir: '' }) });
    const seconds = (performance.now() - t) / 1000;
    expect(again.cache.hit).toBe(true);
    expect(again.appliance).toEqual(a);
    expect(started).toHaveLength(a.attempts.length);
    expect(seconds).toBeLessThan((a.start_seconds ?? 0) / 4);
  });

  it('times out a probe that takes too long, killing the whole group, qemu included', async () => {
    const started: AttemptStarted[] = [];
    let sawQemu = false;
    const watch = setInterval(() => {
      for (const s of started) if (groupCommands(s.pgid).some((c) => c.startsWith('qemu'))) sawQemu = true;
    }, 100);
    let caps;
    try {
      caps = await detectCapabilities(opts('timeout', { applianceTimeoutS: 5, kvmTimeoutS: 2, onApplianceAttempt: (a) => started.push(a) }));
    } finally {
      clearInterval(watch);
    }
    const a = caps.appliance;
    expect(a).toMatchObject({ probed: true, usable: false, accelerator: null, start_seconds: null });
    expect(a.attempts.length).toBeGreaterThan(0);
    for (const t of a.attempts) {
      const limit = t.accelerator === 'kvm' ? 2 : 5;
      expect(t.outcome).toBe('timeout');
      expect(t.seconds).toBeGreaterThanOrEqual(limit);
      expect(t.seconds).toBeLessThan(limit + 10);
      expect(t.detail).toMatch(new RegExp(`^no answer within ${limit} s`));
    }
    expect(a.attempts.at(-1)?.accelerator).toBe('tcg');
    expect(a.hint).toMatch(/did not start within 5 s.*libguestfs-test-tool/s);
    expect(caps.capabilities.find((c) => c.key === 'libguestfs')).toMatchObject({ available: false });
    // qemu was running when the timeout struck, and nothing of the probe is left.
    expect(sawQemu, 'qemu should have been running when the 5 s timeout struck').toBe(true);
    for (const s of started) {
      expect(await leftovers(s)).toEqual([]);
      expect(existsSync(s.tmpDir)).toBe(false);
    }
  });
});
