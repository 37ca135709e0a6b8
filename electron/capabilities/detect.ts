/**
 * Capability detection: what this machine can do, as a WorkerCapabilities report
 * (shared/protocol/capabilities.ts). Cheap facts (space, memory, privileges, NBD, SELinux, KVM,
 * execution mode, where the tools are) are read live on every call; slow probes (tool versions,
 * qemu-img formats, a real libguestfs appliance start) come from a host-wide cache (cache.ts)
 * keyed by the binaries they depend on. See docs/capabilities.md.
 */
import { machine, release } from 'node:os';
import { join } from 'node:path';
import { WorkerCapabilities, type ApplianceStatus, type ToolInfo } from '../../shared/protocol/capabilities';
import type { OperationType } from '../../shared/protocol/job-spec';
import { probeAppliance, chosenBackend, type AttemptStarted } from './appliance';
import { CACHE_FILE_NAME, readCache, resolveCacheDir, sameKey, stamp, writeCache, type ApplianceKey, type CacheFile } from './cache';
import { deriveCapabilities, deriveOperations, IMPLEMENTED_OPERATIONS, type CapabilityFacts } from './supports';
import {
  bootKernels,
  cpuCount,
  executionMode,
  hostFacts,
  kvmFacts,
  memoryFacts,
  nbdFacts,
  privileges,
  selinuxState,
  spaceFacts,
} from './system';
import { findExecutable, probeQemuImgFormats, probeToolVersion, searchDirs, TOOL_SPECS, toolInfo } from './tools';

export { IMPLEMENTED_OPERATIONS } from './supports';
export type { AttemptStarted } from './appliance';

/** Default seconds a KVM appliance attempt may take before it counts as hung (KVM starts in < 10 s; a first run also builds the appliance). */
export const DEFAULT_KVM_TIMEOUT_S = 60;
/** Default seconds the TCG attempt may take (TCG starts in 20-60 s on a 2-core machine). */
export const DEFAULT_TCG_TIMEOUT_S = 300;

export interface DetectOptions {
  /** The worker's data folder: its free space is reported (never created). */
  dataDir: string;
  /** Where conversions write temporary files: its free space is reported (never created). */
  scratchDir: string;
  /** Ignore the cache: probe again everything this call probes. */
  refresh?: boolean;
  /** Cache folder; default $H2K_CACHE_DIR, $XDG_CACHE_HOME/hyper2kvm-workbench or ~/.cache/hyper2kvm-workbench. */
  cacheDir?: string;
  /** Environment to detect with (PATH, HOME, LIBGUESTFS_*, H2K_CACHE_DIR); default process.env. It is passed whole to every probe. */
  env?: NodeJS.ProcessEnv;
  /** Seconds the TCG appliance attempt may take (default 300); also caps the KVM attempt. */
  applianceTimeoutS?: number;
  /** Seconds the KVM appliance attempt may take (default min(60, applianceTimeoutS)). */
  kvmTimeoutS?: number;
  /** false: never start an appliance; report a cached probe, or `probed: false` ("not probed yet"). Default true. */
  probeAppliance?: boolean;
  /** Operations this build implements (default inspect and convert). */
  implemented?: ReadonlySet<OperationType>;
  /** Also search /usr/local/sbin, /usr/sbin, /sbin after PATH (default true; tests turn it off). */
  searchSbin?: boolean;
  /** Called when an appliance attempt has started, with its process group (for logs and tests). */
  onApplianceAttempt?: (info: AttemptStarted) => void;
}

/** The environment exactly as given: variables of process.env that `env` lacks are removed (runTool extends process.env). */
function exactEnv(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const k of Object.keys(process.env)) out[k] = undefined;
  for (const [k, v] of Object.entries(env)) out[k] = v;
  return out;
}

/** qemu-system binary name for this CPU (libguestfs runs it), e.g. qemu-system-x86_64. */
function qemuSystemName(): string {
  const m = machine();
  return `qemu-system-${m === 'ppc64le' ? 'ppc64' : m.startsWith('armv') ? 'arm' : m}`;
}

/** Concurrent appliance probes in this process that share a cache file and key run once. */
const inflight = new Map<string, Promise<ApplianceStatus>>();

/**
 * Detect this machine's capabilities. Resolves to a report validated by
 * `WorkerCapabilities.parse`. Slow probes are cached host-wide (see DetectOptions.cacheDir) and
 * `cache.hit` says whether this report ran none of them. With `probeAppliance` (default) and no
 * valid cached probe this starts a real libguestfs appliance: up to kvmTimeoutS + applianceTimeoutS
 * seconds. Throws only when the report fails its schema (a bug) — a failing cache write is ignored.
 */
export async function detectCapabilities(opts: DetectOptions): Promise<WorkerCapabilities> {
  const detectedAt = new Date().toISOString();
  const env = opts.env ?? process.env;
  const childEnv = exactEnv(env);
  const cacheDir = resolveCacheDir(env, opts.cacheDir);
  const cachePath = join(cacheDir, CACHE_FILE_NAME);
  const dirs = searchDirs(env.PATH, opts.searchSbin !== false);
  const tcgTimeoutS = opts.applianceTimeoutS ?? DEFAULT_TCG_TIMEOUT_S;
  const kvmTimeoutS = opts.kvmTimeoutS ?? Math.min(DEFAULT_KVM_TIMEOUT_S, tcgTimeoutS);

  // Where the tools are: cheap, always live.
  const paths = new Map(TOOL_SPECS.map((s) => [s.name, findExecutable(s.name, dirs)]));
  const sudoPath = findExecutable('sudo', dirs);
  const pkexecPath = findExecutable('pkexec', dirs);
  const getenforcePath = findExecutable('getenforce', dirs);

  // Cheap facts, live.
  const mode = executionMode();
  const kvm = kvmFacts(mode.mode);
  const mem = memoryFacts();
  const [privs, selinux, dataSpace, scratchSpace] = await Promise.all([
    privileges(sudoPath, pkexecPath, childEnv),
    selinuxState(getenforcePath, childEnv),
    spaceFacts(opts.dataDir),
    spaceFacts(opts.scratchDir),
  ]);

  // Slow facts, from the cache when their key matches.
  const cache: CacheFile = opts.refresh ? { version: 1, tools: {}, qemu_img_formats: null, appliance: null } : await readCache(cachePath);
  const stored: CacheFile = opts.refresh ? await readCache(cachePath) : cache;
  const next: CacheFile = { version: 1, tools: {}, qemu_img_formats: stored.qemu_img_formats, appliance: stored.appliance };
  let ranSlow = false;
  let usedCache = false;
  const probedTimes: string[] = [];

  const tools: ToolInfo[] = await Promise.all(
    TOOL_SPECS.map(async (spec) => {
      const path = paths.get(spec.name) ?? null;
      const key = stamp(path);
      if (!path || !key) return toolInfo(spec, null, null);
      const hit = cache.tools[spec.name];
      if (hit && sameKey(hit.key, key)) {
        usedCache = true;
        next.tools[spec.name] = hit;
        probedTimes.push(hit.probed_at);
        return toolInfo(spec, path, hit.version);
      }
      if (!spec.versionArgs) {
        // Nothing to run: the version is unknown whatever the cache says.
        next.tools[spec.name] = { key, version: null, probed_at: detectedAt };
        return toolInfo(spec, path, null);
      }
      ranSlow = true;
      const version = await probeToolVersion(spec, path, childEnv);
      next.tools[spec.name] = { key, version, probed_at: detectedAt };
      probedTimes.push(detectedAt);
      return toolInfo(spec, path, version);
    }),
  );

  let formats: string[] = [];
  const qemuImg = paths.get('qemu-img') ?? null;
  const qemuImgKey = stamp(qemuImg);
  if (qemuImg && qemuImgKey) {
    const hit = cache.qemu_img_formats;
    if (hit && sameKey(hit.key, qemuImgKey)) {
      usedCache = true;
      formats = hit.formats;
      probedTimes.push(hit.probed_at);
    } else {
      ranSlow = true;
      formats = await probeQemuImgFormats(qemuImg, childEnv);
      next.qemu_img_formats = { key: qemuImgKey, formats, probed_at: detectedAt };
      probedTimes.push(detectedAt);
    }
  }

  const backend = chosenBackend(childEnv);
  const guestfish = paths.get('guestfish') ?? null;
  const guestfishKey = stamp(guestfish);
  let appliance: ApplianceStatus;
  if (!guestfish || !guestfishKey) {
    appliance = {
      probed: false,
      usable: false,
      accelerator: null,
      start_seconds: null,
      backend,
      attempts: [],
      hint: `guestfish not found: ${tools.find((t) => t.name === 'guestfish')?.hint ?? 'install libguestfs-tools'}`,
    };
  } else {
    const hv = env.LIBGUESTFS_HV || findExecutable(qemuSystemName(), dirs);
    const key: ApplianceKey = {
      kernel: release(),
      boot_kernels: bootKernels(),
      kvm_present: kvm.device_present,
      kvm_accessible: kvm.device_accessible,
      backend,
      guestfish: guestfishKey,
      qemu: stamp(hv ?? null),
    };
    const hit = cache.appliance;
    if (hit && sameKey(hit.key, key)) {
      usedCache = true;
      appliance = hit.status;
      probedTimes.push(hit.probed_at);
    } else if (opts.probeAppliance === false) {
      appliance = { probed: false, usable: false, accelerator: null, start_seconds: null, backend, attempts: [], hint: 'not probed yet: run `h2k-worker capabilities` (it starts a test appliance, up to a minute without KVM)' };
    } else {
      ranSlow = true;
      const flightKey = `${cachePath}\n${JSON.stringify(key)}`;
      let probe = inflight.get(flightKey);
      if (!probe) {
        probe = probeAppliance({
          guestfish,
          kvmAccessible: kvm.device_accessible,
          env: childEnv,
          kvmTimeoutS,
          tcgTimeoutS,
          onAttemptStarted: opts.onApplianceAttempt,
        }).finally(() => inflight.delete(flightKey));
        inflight.set(flightKey, probe);
      }
      appliance = await probe;
      const probedAt = new Date().toISOString();
      next.appliance = { key, status: appliance, probed_at: probedAt };
      probedTimes.push(probedAt);
    }
  }

  if (ranSlow) {
    try {
      await writeCache(cachePath, cacheDir, next);
    } catch {
      // A read-only home or cache folder: the report stands, the next call probes again.
    }
  }

  const facts: CapabilityFacts = {
    detected_at: detectedAt,
    host: hostFacts(),
    cache: {
      hit: !ranSlow && usedCache,
      path: cachePath,
      probed_at: probedTimes.length ? probedTimes.reduce((a, b) => (a > b ? a : b)) : detectedAt,
    },
    execution_mode: mode,
    tools,
    qemu_img_formats: formats,
    nbd: nbdFacts(),
    privileges: privs,
    selinux,
    resources: {
      cpus: cpuCount(),
      memory_total_bytes: mem.total,
      memory_available_bytes: mem.available,
      data_dir: dataSpace,
      scratch_dir: scratchSpace,
    },
    kvm,
    appliance,
  };
  const capabilities = deriveCapabilities(facts);
  const operations = deriveOperations(capabilities, opts.implemented ?? IMPLEMENTED_OPERATIONS);
  return WorkerCapabilities.parse({ ...facts, capabilities, operations });
}

/**
 * The environment every later libguestfs call (guestfish, virt-*) must run with, from a probe:
 * LIBGUESTFS_BACKEND (the probed backend, default direct) and, when the chosen accelerator is
 * tcg, LIBGUESTFS_BACKEND_SETTINGS=force_tcg. force_tcg matters where /dev/kvm exists but hangs
 * the appliance; where /dev/kvm is absent it changes nothing, and it keeps jobs on TCG should
 * /dev/kvm appear after the probe. Pure.
 */
export function guestfsEnv(appliance: ApplianceStatus): Record<string, string> {
  const env: Record<string, string> = { LIBGUESTFS_BACKEND: appliance.backend ?? 'direct' };
  if (appliance.accelerator === 'tcg') env.LIBGUESTFS_BACKEND_SETTINGS = 'force_tcg';
  return env;
}
