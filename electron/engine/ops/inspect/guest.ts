/**
 * The guest part of `inspect`: decide whether the appliance can run here (capabilities), expose
 * disks that live inside an .ova through qemu-nbd (read-only, no copy), start ONE guestfish
 * session with every disk added read-only in its probed format, launch the appliance once,
 * collect the facts (electron/engine/guest/collect.ts), and always shut everything down: the
 * session, qemu-nbd and their process groups, also on cancel.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestFacts, ImageFormat, InspectSpec, WorkerCapabilities } from '../../../../shared/protocol';
import { nbdExportArgs } from '../../ova/source';
import type { PackageDisk } from '../../ova/package';
import { collectGuest } from '../../guest/collect';
import { GuestfishExitedError, GuestfishSession } from '../../guest/session';
import { opt } from '../../guest/quote';
import { killGroup } from '../../../tools/spawn';
import type { OperationContext } from '../../types';

/** A disk as the appliance gets it: a file in its probed format, or a package member over NBD. */
/** `size`: the virtual size the image layer measured (bytes), what the guest sees. */
export type DriveSpec = { kind: 'file'; path: string; format: ImageFormat; size: number } | { kind: 'nbd'; disk: PackageDisk; format: ImageFormat; size: number };
export type GuestDrive = DriveSpec & { disk_id: string };

export const emptyGuest = (status: GuestFacts['status'], reason: string | null): GuestFacts => ({
  status,
  reason,
  appliance: null,
  devices: [],
  filesystems: [],
  lvm: { pvs: [], vgs: [], lvs: [] },
  roots: [],
  multiboot: false,
  notes: [],
});

/** Why the appliance cannot run here, from the capabilities report; null when it can. */
export function applianceUnavailable(caps: WorkerCapabilities): string | null {
  const gf = caps.tools.find((t) => t.name === 'guestfish');
  if (!gf?.available) return `guestfish is not installed${gf?.hint ? ` (${gf.hint})` : ''}`;
  const a = caps.appliance;
  if (!a.probed) return 'the libguestfs appliance has not been probed';
  if (!a.usable) {
    const tried = a.attempts.map((t) => `${t.accelerator} ${t.outcome} after ${t.seconds} s`).join(', ');
    return `the libguestfs appliance does not start on this machine${tried ? ` (${tried})` : ''}${a.hint ? `: ${a.hint}` : ''}`;
  }
  return null;
}

interface NbdServer {
  socket: string;
  pgid: number | null;
  done: Promise<unknown>;
}

async function startNbd(ctx: OperationContext<InspectSpec>, disk: PackageDisk, format: ImageFormat, sockDir: string, n: number): Promise<NbdServer> {
  const socket = join(sockDir, `d${n}.sock`);
  const server: NbdServer = { socket, pgid: null, done: Promise.resolve() };
  const args = nbdExportArgs(disk, { socket, persistent: true, shared: 2, format });
  let exited: string | null = null;
  server.done = ctx
    .run({ command: 'qemu-nbd', args, onSpawn: (p) => (server.pgid = p.pgid) })
    .then((r) => {
      exited = r.stderr.trim() || `exit code ${r.exitCode}`;
    })
    .catch((err: unknown) => {
      exited = String(err);
    });
  // Wait for the socket (qemu-nbd creates it once it listens).
  const end = Date.now() + 15_000;
  for (;;) {
    if (exited !== null) throw new Error(`qemu-nbd could not serve ${disk.file}: ${exited}`);
    if (await stat(socket).then(() => true, () => false)) return server;
    if (Date.now() > end) throw new Error(`qemu-nbd did not open ${socket} within 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface GuestRunOptions {
  drives: GuestDrive[];
  caps: WorkerCapabilities;
  /** Percent range of the job the guest part fills. */
  from: number;
  to: number;
}

/**
 * Inspect the guest with ONE appliance. Never throws for what the guest or the appliance does
 * (the facts say `failed` and why); rethrows the abort reason when the job is cancelled.
 */
export async function inspectGuest(ctx: OperationContext<InspectSpec>, o: GuestRunOptions): Promise<GuestFacts> {
  const env = await ctx.guestfsEnv();
  const sessionDir = join(ctx.scratchDir, 'guestfish');
  const sockDir = o.drives.some((d) => d.kind === 'nbd') ? await mkdtemp(join(tmpdir(), 'h2k-nbd-')) : null;
  const servers: NbdServer[] = [];
  let session: GuestfishSession | null = null;
  const pct = (f: number) => o.from + (o.to - o.from) * Math.max(0, Math.min(1, f));
  const startShare = 0.45;
  try {
    for (const [i, d] of o.drives.entries()) if (d.kind === 'nbd') servers[i] = await startNbd(ctx, d.disk, d.format, sockDir!, i);
    session = await GuestfishSession.open({ run: (r) => ctx.run(r), env, workDir: sessionDir, onStderr: (l) => ctx.log('warn', l, 'guestfish') });
    for (const [i, d] of o.drives.entries()) {
      const r = d.kind === 'file' ? await session.addDrive(d.path, d.format) : await session.addDrive('', 'raw', [opt('protocol', 'nbd'), opt('server', `unix:${servers[i]!.socket}`)]);
      if (!r.ok) return emptyGuest('failed', `libguestfs refused ${d.disk_id}: ${r.error}`);
    }

    // The appliance start: the slow part (20-60 s under TCG). Progress is estimated from the
    // start time the capability probe measured.
    const expected = o.caps.appliance.start_seconds ?? 45;
    const accel = o.caps.appliance.accelerator;
    ctx.progress({ stage: 'appliance-start', percent: pct(0), message: `starting the libguestfs appliance (${accel ?? 'default'} accelerator, about ${Math.round(expected)} s)` });
    const t0 = performance.now();
    const ticker = setInterval(() => {
      const f = Math.min(0.95, (performance.now() - t0) / 1000 / expected);
      ctx.progress({ stage: 'appliance-start', percent: pct(startShare * f), message: 'starting the libguestfs appliance' });
    }, 1000);
    let launched;
    try {
      launched = await session.launch(Math.max(600_000, expected * 10_000));
    } finally {
      clearInterval(ticker);
    }
    const appliance = { backend: env.LIBGUESTFS_BACKEND ?? o.caps.appliance.backend ?? null, accelerator: accel, start_seconds: Math.round(launched.seconds * 100) / 100 };
    if (!launched.reply.ok) return { ...emptyGuest('failed', `the appliance did not start: ${launched.reply.error}`), appliance };
    ctx.log('info', `appliance started in ${appliance.start_seconds} s (${appliance.accelerator ?? '?'}, backend ${appliance.backend ?? '?'})`, 'guestfish');
    ctx.progress({ stage: 'appliance-start', percent: pct(startShare), message: `appliance up in ${appliance.start_seconds} s` });

    // The engine keeps at most ~10 progress events a second and drops the ones in between; the
    // current stage is repeated every second so a long step (inspect-os: tens of seconds under
    // TCG) is always visible.
    let current: Parameters<typeof ctx.progress>[0] | null = null;
    const heartbeat = setInterval(() => current && ctx.progress(current), 1000);
    try {
      const facts = await collectGuest({
        s: session,
        run: (r) => ctx.run(r),
        diskIds: o.drives.map((d) => d.disk_id),
        diskSizes: o.drives.map((d) => d.size),
        progress: (stage, f, message) => {
          current = { stage, percent: pct(startShare + (1 - startShare) * f), ...(message ? { message } : {}) };
          ctx.progress(current);
        },
        log: (level, m) => ctx.log(level, m, 'guestfish'),
      });
      return { status: 'inspected', reason: null, appliance, ...facts };
    } finally {
      clearInterval(heartbeat);
    }
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (err instanceof GuestfishExitedError) return emptyGuest('failed', err.message);
    if ((err as { code?: string }).code === 'ENOENT') return emptyGuest('unavailable', `a tool is missing: ${(err as Error).message}`);
    throw err;
  } finally {
    await session?.close(20_000);
    for (const s of servers) if (s?.pgid) killGroup(s.pgid, 'SIGTERM');
    await Promise.all(servers.map((s) => s?.done));
    if (sockDir) await rm(sockDir, { recursive: true, force: true });
    await rm(sessionDir, { recursive: true, force: true });
  }
}
