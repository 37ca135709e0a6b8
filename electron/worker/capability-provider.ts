/**
 * Capabilities as the worker uses them: one detection at a time, the latest report kept in
 * memory and snapshotted into the store, the appliance probed only when a job needs it (or on
 * request), since a probe starts a real appliance (20-60 s under TCG).
 */
import type { WorkerCapabilities } from '../../shared/protocol';
import { detectCapabilities, guestfsEnv } from '../capabilities/detect';
import type { JobStore } from '../store/store';

export interface CapabilityProvider {
  /**
   * The capabilities of this machine. `appliance: true` probes the appliance when no cached
   * probe exists; `refresh: true` re-runs every slow probe. `maxAgeS` accepts this provider's
   * last report when it is at most that many seconds old (and was detected with at least the
   * appliance wish given), instead of detecting again (a detection spawns sudo, getenforce and
   * the like: tens of milliseconds).
   */
  get(opts?: { refresh?: boolean; appliance?: boolean; maxAgeS?: number }): Promise<WorkerCapabilities>;
  /** Environment for libguestfs tools, from the appliance probe (probing if needed). */
  guestfsEnv(): Promise<Record<string, string>>;
}

export interface ProviderOptions {
  dataDir: string;
  scratchDir: string;
  store?: JobStore;
  cacheDir?: string;
  implemented: ReadonlySet<string>;
}

export function capabilityProvider(opts: ProviderOptions): CapabilityProvider {
  let inflight: Promise<WorkerCapabilities> | null = null;
  let last: { at: number; appliance: boolean; caps: WorkerCapabilities } | null = null;
  const detect = async (o: { refresh?: boolean; appliance?: boolean; maxAgeS?: number }): Promise<WorkerCapabilities> => {
    if (o.maxAgeS !== undefined && !o.refresh && last && Date.now() - last.at <= o.maxAgeS * 1000 && (last.appliance || !o.appliance)) return last.caps;
    // One detection at a time: a second caller waits for the first, then asks again only if it
    // wanted more (a probe) than the first one did.
    while (inflight) await inflight.catch(() => undefined);
    const run = detectCapabilities({
      dataDir: opts.dataDir,
      scratchDir: opts.scratchDir,
      refresh: o.refresh ?? false,
      probeAppliance: o.appliance ?? false,
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
      implemented: opts.implemented as ReadonlySet<never>,
    });
    inflight = run;
    try {
      const caps = await run;
      last = { at: Date.now(), appliance: o.appliance ?? false, caps };
      opts.store?.saveCapabilities(caps);
      return caps;
    } finally {
      inflight = null;
    }
  };
  return {
    get: (o = {}) => detect(o),
    async guestfsEnv() {
      const caps = await detect({ appliance: true });
      return guestfsEnv(caps.appliance);
    },
  };
}
