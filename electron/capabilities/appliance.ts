/**
 * The libguestfs appliance probe: starts a REAL appliance (`guestfish --ro --format=raw -a
 * /dev/null run : list-devices`), first with KVM when /dev/kvm is accessible, then with TCG.
 * Each attempt runs in its own process group with a timeout that kills the whole group (qemu
 * included) and checks afterwards that nothing of the group is left running.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplianceAttempt, ApplianceStatus } from '../../shared/protocol/capabilities';
import { killGroup, runTool } from '../tools/spawn';

export type Accelerator = ApplianceAttempt['accelerator'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prefix of the private LIBGUESTFS_TMPDIR of each attempt; qemu's command line contains it. */
export const PROBE_TMP_PREFIX = 'h2k-appliance-probe-';

/** Arguments of the probe: a read-only appliance with /dev/null as its disk, and one daemon call. */
export const PROBE_ARGS: readonly string[] = ['--ro', '--format=raw', '-a', '/dev/null', 'run', ':', 'list-devices'];

/** Told when an attempt's guestfish has started: its process group and its private temp folder. */
export interface AttemptStarted {
  accelerator: Accelerator;
  pgid: number;
  tmpDir: string;
}

export interface ApplianceProbeOptions {
  /** Absolute path of guestfish. */
  guestfish: string;
  /** /dev/kvm opens read-write: try KVM first. */
  kvmAccessible: boolean;
  /** The complete environment of the probe (the caller's view, not necessarily process.env). */
  env: Record<string, string | undefined>;
  /** Seconds before a KVM attempt counts as hung. */
  kvmTimeoutS: number;
  /** Seconds before the TCG attempt counts as hung. */
  tcgTimeoutS: number;
  onAttemptStarted?: (info: AttemptStarted) => void;
}

/** The libguestfs backend of the probe and of later jobs: LIBGUESTFS_BACKEND when set, else direct. */
export function chosenBackend(env: Record<string, string | undefined>): string {
  const b = env.LIBGUESTFS_BACKEND?.trim();
  return b ? b : 'direct';
}

/** LIBGUESTFS_BACKEND_SETTINGS for an attempt: the user's settings without force_*, plus force_<accel>. */
export function backendSettings(user: string | undefined, accel: Accelerator): string {
  const kept = (user ?? '').split(':').filter((s) => s !== '' && s !== 'force_kvm' && s !== 'force_tcg');
  return [...kept, accel === 'kvm' ? 'force_kvm' : 'force_tcg'].join(':');
}

/**
 * Pids of the live members (not zombies) of process group `pgid`, from field 5 (pgrp) and field
 * 3 (state) of /proc/PID/stat. Empty when the group is gone.
 */
export function liveGroupMembers(pgid: number): number[] {
  const found: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state), rest[2] field 5 (pgrp).
    if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') found.push(Number(pid));
  }
  return found;
}

/** Wait up to `ms` for the group to empty; SIGKILL what is left. Returns the pids that had to be killed. */
async function reapGroup(pgid: number, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = liveGroupMembers(pgid);
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    left = liveGroupMembers(pgid);
  }
  if (left.length > 0) {
    killGroup(pgid, 'SIGKILL');
    const end = Date.now() + 3000;
    while (liveGroupMembers(pgid).length > 0 && Date.now() < end) await sleep(100);
  }
  return left;
}

/** The last `n` non-empty lines of a tool's output, at most 2000 characters. */
export function tail(text: string, n = 8): string {
  const lines = text.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  const t = lines.slice(-n).join('\n');
  return t.length > 2000 ? t.slice(-2000) : t;
}

const round = (s: number) => Math.round(s * 100) / 100;

/**
 * SIGTERM every live member of the group but its leader (qemu, supermin, libguestfs' recovery
 * process), then wait up to 5 s for the leader (guestfish) to exit by itself. Never throws.
 */
async function stopGently(pgid: number | undefined): Promise<void> {
  if (pgid === undefined) return;
  try {
    for (const pid of liveGroupMembers(pgid)) {
      if (pid === pgid) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    const end = Date.now() + 5000;
    while (Date.now() < end && liveGroupMembers(pgid).includes(pgid)) await sleep(100);
  } catch {
    // the abort that follows stops the group anyway
  }
}

/** One appliance start with one accelerator. Never throws. */
async function attempt(o: ApplianceProbeOptions, accelerator: Accelerator, timeoutS: number): Promise<ApplianceAttempt> {
  const tmpDir = await mkdtemp(join(tmpdir(), PROBE_TMP_PREFIX));
  const env = {
    ...o.env,
    LC_ALL: 'C',
    LIBGUESTFS_BACKEND: chosenBackend(o.env),
    LIBGUESTFS_BACKEND_SETTINGS: backendSettings(o.env.LIBGUESTFS_BACKEND_SETTINGS, accelerator),
    // Sockets and the console log go to a private folder, removed afterwards; the appliance
    // cache (LIBGUESTFS_CACHEDIR, /var/tmp by default) is shared with later jobs on purpose.
    LIBGUESTFS_TMPDIR: tmpDir,
  };
  const started = performance.now();
  const spawned: { pgid?: number } = {};
  const abort = new AbortController();
  let timedOut = false;
  // At the timeout, stop qemu (and the rest of the group) first and give guestfish a moment to
  // notice, clean up and reap its children; only then stop the group with runTool's abort
  // (SIGTERM, then SIGKILL). Killing guestfish first would orphan qemu, and where PID 1 does not
  // reap (some container inits) the orphans stay as zombies.
  const timer = setTimeout(() => {
    timedOut = true;
    void stopGently(spawned.pgid).finally(() => abort.abort());
  }, timeoutS * 1000);
  try {
    const r = await runTool({
      command: o.guestfish,
      args: PROBE_ARGS,
      env,
      signal: abort.signal,
      // Backstop only: the timer above stops the attempt first.
      timeoutMs: (timeoutS + 30) * 1000,
      graceMs: 2000,
      onSpawn: (p) => {
        spawned.pgid = p.pgid;
        o.onAttemptStarted?.({ accelerator, pgid: p.pgid, tmpDir });
      },
    });
    clearTimeout(timer);
    const seconds = round((performance.now() - started) / 1000);
    const left = spawned.pgid !== undefined ? await reapGroup(spawned.pgid, 5000) : [];
    const leftNote = left.length ? `\n(${left.length} process(es) of the probe outlived guestfish and were killed: ${left.join(', ')})` : '';
    // libguestfs ends every error with the same advice on debugging; the error is above it.
    const cut = r.stderr.search(/^(To see full error messages|Do:\s*$)/m);
    const stderr = tail(cut >= 0 ? r.stderr.slice(0, cut) : r.stderr);
    if (timedOut || r.timedOut) {
      return { accelerator, outcome: 'timeout', seconds, detail: `no answer within ${timeoutS} s; the probe's process group (guestfish and qemu) was killed${stderr ? '\n' + stderr : ''}${leftNote}` };
    }
    if (r.exitCode === 0 && /\/dev\/[sv]da/.test(r.stdout)) {
      return { accelerator, outcome: 'ok', seconds, detail: `appliance started and answered list-devices (${r.stdout.trim().split('\n').join(' ')})${leftNote}` };
    }
    const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`;
    return { accelerator, outcome: 'error', seconds, detail: `guestfish failed (${how})${stderr ? '\n' + stderr : ''}${leftNote}` };
  } catch (err) {
    clearTimeout(timer);
    return { accelerator, outcome: 'error', seconds: round((performance.now() - started) / 1000), detail: `guestfish could not be started: ${(err as Error).message}` };
  } finally {
    await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Plain-language advice for a probe where no attempt worked. When every attempt timed out it
 * says so (`timeoutS` is the TCG attempt's limit); otherwise it reads the stderr of the attempts
 * that failed by themselves (a timed-out attempt's stderr only shows what the kill interrupted).
 */
export function failureHint(attempts: readonly ApplianceAttempt[], timeoutS?: number): string {
  const tool = 'Run `libguestfs-test-tool` for the full story, then `h2k-worker capabilities --refresh`.';
  if (attempts.length > 0 && attempts.every((a) => a.outcome === 'timeout')) {
    const limit = timeoutS ?? Math.round(Math.max(...attempts.map((a) => a.seconds)));
    return `The appliance did not start within ${limit} s. The machine may be overloaded or too slow; close other work and retry. ${tool}`;
  }
  const text = attempts
    .filter((a) => a.outcome === 'error')
    .map((a) => a.detail ?? '')
    .join('\n');
  if (/suitable kernel|find any.*kernel|no kernel|vmlinuz/i.test(text))
    return `libguestfs found no kernel to build its appliance from: install one (apt-get install linux-image-amd64). ${tool}`;
  if (/Permission denied/i.test(text) && /boot/.test(text))
    return `libguestfs cannot read the kernel in /boot: make it readable (chmod 0644 /boot/vmlinuz-*). ${tool}`;
  if (/supermin/i.test(text)) return `supermin could not build the appliance. ${tool}`;
  return `The libguestfs appliance could not start. ${tool}`;
}

/**
 * Probe the appliance: KVM first (when /dev/kvm is accessible, with LIBGUESTFS_BACKEND_SETTINGS
 * =force_kvm so that it cannot silently fall back), then TCG (force_tcg). Stops at the first
 * attempt that works. `start_seconds` is that attempt's wall time (seconds), which includes a
 * first-time supermin build of the appliance. Never throws.
 */
export async function probeAppliance(o: ApplianceProbeOptions): Promise<ApplianceStatus> {
  const backend = chosenBackend(o.env);
  const attempts: ApplianceAttempt[] = [];
  const accels: Accelerator[] = o.kvmAccessible ? ['kvm', 'tcg'] : ['tcg'];
  for (const accel of accels) {
    const a = await attempt(o, accel, accel === 'kvm' ? o.kvmTimeoutS : o.tcgTimeoutS);
    attempts.push(a);
    if (a.outcome === 'ok') {
      const kvmFailed = attempts.find((x) => x.accelerator === 'kvm' && x.outcome !== 'ok');
      const hint = kvmFailed
        ? `KVM did not start the appliance (${kvmFailed.outcome === 'timeout' ? `hung for ${Math.round(kvmFailed.seconds)} s` : 'error'}), so jobs use TCG, which is slower. Nested virtualization or the KVM module may be at fault; \`libguestfs-test-tool\` shows details.`
        : null;
      return { probed: true, usable: true, accelerator: accel, start_seconds: a.seconds, backend, attempts, hint };
    }
  }
  return { probed: true, usable: false, accelerator: null, start_seconds: null, backend, attempts, hint: failureHint(attempts, o.tcgTimeoutS) };
}
