/**
 * The `inspect` operation: what the disks are (image layer, seconds), what is inside them and
 * what will break on KVM (one libguestfs appliance, the time it takes to start), as an
 * InspectionReport (shared/protocol/inspection.ts) in the job result's payload.
 *
 * Order: each input is opened (an .ova/.ovf package: descriptor, manifest checked, disks) and
 * every disk probed (probeImage / probePackageDisk: qemu-img info, check, measure); the image
 * facts are logged as they arrive. Then the destination's free space (when `dest` is given),
 * then the guest through ONE appliance with every disk, then the rules (electron/engine/rules).
 *
 * Errors: the job fails (WorkerError) when an input cannot be taken at all — source_missing,
 * source_unreadable, not_an_image (also a folder without exactly one .ovf), package_invalid, package_unsupported, unsafe_package,
 * ovf_invalid, xml_entity_refused, manifest_mismatch, dest_not_writable, tool_missing. A disk
 * that is an image but damaged (image_truncated, image_corrupt, extent_missing,
 * backing_missing, backing_refused, image_encrypted) is a diagnosis, not a failure: its
 * DiskReport carries the error, a blocker finding says what to do, the guest part is skipped.
 * A disk another process holds open for writing is read anyway (image/lock.ts) and reported
 * `in_use`, with the `image-in-use` blocker.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DiskReport, ImageFacts, InspectSpec, PackageReport } from '../../../../shared/protocol';
import { InspectionReport } from '../../../../shared/protocol';
import { WorkerError, toErrorInfo, type ErrorCode } from '../../../../shared/errors';
import { formatBytes } from '../../../../shared/format';
import { INSPECT_QCOW2_OPTIONS, probeImage, probePackageDisk } from '../../image/facts';
import { filesOfFacts, measureKey, probeClock, type Measured } from '../../image/probe-cache';
import { openPackage, type OvfPackage } from '../../ova/package';
import { evaluateRules, formatFindingCounts, summarize } from '../../rules/engine';
import { osDisplayName } from '../../../../shared/os-name';
import type { ToolRun } from '../../../tools/spawn';
import type { OperationContext, OperationOutput } from '../../types';
import { applianceUnavailable, emptyGuest, inspectGuest, type DriveSpec, type GuestDrive } from './guest';

/** Disk-level errors: the image exists but is damaged or unusable; reported, not thrown. */
const DISK_LEVEL_ERRORS: ReadonlySet<ErrorCode> = new Set(['image_truncated', 'image_corrupt', 'extent_missing', 'backing_missing', 'backing_refused', 'image_encrypted']);

/**
 * Whether an input is a package: an .ova or .ovf file, or a folder holding exactly one .ovf (an
 * unpacked package, opened through that .ovf). Anything else is a disk for probeImage. A folder
 * without exactly one .ovf is no disk and no package: throws WorkerError `not_an_image`, its
 * detail naming the folder and the .ovf files found (several: pick one).
 */
async function isPackageInput(path: string): Promise<boolean> {
  if (/\.(ova|ovf)$/i.test(path)) return true;
  const st = await stat(path).catch(() => null);
  if (!st?.isDirectory()) return false;
  const ovfs = (await readdir(path).catch(() => [] as string[])).filter((n) => /\.ovf$/i.test(n)).sort();
  if (ovfs.length === 1) return true;
  throw new WorkerError('not_an_image', {
    message: 'A folder is not a disk image.',
    detail:
      ovfs.length === 0
        ? `${path} is a folder, not a disk image (and it holds no .ovf descriptor)`
        : `${path} is a folder, not a disk image, and it holds ${ovfs.length} .ovf descriptors (${ovfs.join(', ')}): which VM is meant is not clear`,
    hint: ovfs.length === 0 ? 'Give the disk files inside the folder (e.g. web01.vmdk), or the .ova/.ovf of the VM.' : `Give the .ovf of the VM itself, e.g. ${join(path, ovfs[0]!)}.`,
  });
}

/** PackageReport of an opened package. */
function packageReport(pkg: OvfPackage): PackageReport {
  const d = pkg.descriptor;
  const m = pkg.manifest;
  return {
    path: pkg.path,
    kind: pkg.kind,
    dialect: pkg.dialect,
    manifest: {
      present: m.present,
      checked: m.verified !== null,
      ok: m.verified,
      detail: !m.present
        ? 'no manifest'
        : m.mismatches.length
          ? m.mismatches.map((x) => JSON.stringify(x)).join('; ')
          : `${m.entries.length} file(s), ${m.algorithms.join('/')}${m.verified ? ', all match' : ''}`,
    },
    hardware: {
      name: d.name,
      cpus: d.hardware.cpus,
      memory_bytes: d.hardware.memory_bytes,
      firmware: d.firmware.stated ? (d.firmware.type === 'efi' ? 'uefi' : 'bios') : null,
      os_type: d.os.vmware_os_type ?? d.os.vbox_os_type ?? d.os.description ?? (d.os.cim_id !== null ? `CIM OsType ${d.os.cim_id}` : null),
      nics: d.hardware.nics.map((n) => ({ type: n.model === 'other' ? (n.resource_subtype ?? 'other') : n.model, mac: n.mac, network: n.connection })),
      controllers: d.hardware.controllers.map((c) => ({ type: c.type, subtype: c.subtype })),
    },
    disks: pkg.disks.map((x) => ({ disk_id: x.disk_id, file: x.file, capacity_bytes: x.capacity_bytes, format: x.format, location: x.location })),
    notes: [...pkg.notes, ...d.notes],
  };
}

function describe(f: ImageFacts): string {
  const parts = [`${f.format}${f.subformat ? ` ${f.subformat}` : ''}`, `${formatBytes(f.virtual_size)} virtual (${f.virtual_size} bytes)`, `${formatBytes(f.actual_size)} allocated`];
  if (f.backing_chain.length) parts.push(`backing chain of ${f.backing_chain.length}`);
  if (f.extents.length > 1) parts.push(`${f.extents.length} extents`);
  if (f.dirty) parts.push('DIRTY');
  if (f.in_use) parts.push('IN USE by another process');
  if (f.integrity.checked) parts.push(f.integrity.ok ? 'check ok' : 'check FAILED');
  if (f.measure) parts.push(`qcow2 copy needs ${formatBytes(f.measure.qcow2.required_bytes)}`);
  return parts.join(', ');
}

export async function inspectOperation(ctx: OperationContext<InspectSpec>): Promise<OperationOutput> {
  const t0 = performance.now();
  const p = ctx.spec.params;
  const run = (r: ToolRun) => {
    const { signal: _signal, ...rest } = r;
    return ctx.run(rest);
  };
  const secs = (from: number) => Math.round((performance.now() - from) / 10) / 100;

  // --- 1. image facts ----------------------------------------------------------------------------
  const disks: DiskReport[] = [];
  const packages: PackageReport[] = [];
  const drives: GuestDrive[] = [];
  ctx.progress({ stage: 'image', percent: 0, message: `probing ${p.disks.length} input(s)` });
  const total = p.disks.length;
  for (const [ii, input] of p.disks.entries()) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const record = (d: Omit<DiskReport, 'disk_id'>, drive: DriveSpec | null) => {
      const disk_id = `disk-${disks.length + 1}`;
      disks.push({ disk_id, ...d });
      if (drive) drives.push({ disk_id, ...drive });
      if (d.image) ctx.log('info', `${disk_id} ${d.source.kind === 'file' ? d.source.path : `${d.source.package} [${d.source.member}]`}: ${describe(d.image)}`, 'image');
      // The detail (qemu-img check's lines, maybe hundreds) is in the report, printed once there.
      else if (d.error) ctx.log('warn', `${disk_id}: ${d.error.code}: ${d.error.message} (the detail is in the report)`, 'image');
    };
    const guarded = async <T>(f: () => Promise<T>): Promise<{ value: T } | { error: ReturnType<typeof toErrorInfo> }> => {
      try {
        return { value: await f() };
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (err instanceof WorkerError && DISK_LEVEL_ERRORS.has(err.code)) return { error: err.info };
        throw err;
      }
    };
    if (await isPackageInput(input)) {
      const pkg = await openPackage(input, { verifyManifest: true, signal: ctx.signal, workDir: `${ctx.scratchDir}/ova` });
      packages.push(packageReport(pkg));
      ctx.log('info', `${basename(pkg.path)}: ${pkg.kind} (${pkg.dialect}), ${pkg.disks.length} disk(s), manifest ${pkg.manifest.present ? (pkg.manifest.verified ? 'verified' : 'not verified') : 'absent'}`, 'ova');
      for (const disk of pkg.disks) {
        const r = await guarded(() => probePackageDisk(run, disk));
        const source = { kind: 'package' as const, package: pkg.path, member: disk.file, location: disk.location };
        if ('value' in r) {
          const size = r.value.virtual_size;
          const drive: DriveSpec = disk.location.kind === 'file' ? { kind: 'file', path: disk.location.path, format: r.value.format, size } : { kind: 'nbd', disk, format: r.value.format, size };
          record({ source, guest_device: null, image: r.value, error: null }, drive);
        } else record({ source, guest_device: null, image: null, error: r.error }, null);
      }
    } else {
      const since = probeClock();
      const r = await guarded(() => probeImage(run, input));
      // Kept for a convert of this disk that follows while its files are unchanged (probe-cache.ts).
      if ('value' in r && ctx.probeCache) {
        // A chain whose descriptor lost an extent is not kept (the convert will say extent_missing).
        const files = await filesOfFacts(r.value).catch(() => null);
        if (files) await ctx.probeCache.record(input, r.value, files, since, keptMeasures(r.value));
      }
      if ('value' in r) record({ source: { kind: 'file', path: input }, guest_device: null, image: r.value, error: null }, { kind: 'file', path: input, format: r.value.format, size: r.value.virtual_size });
      else record({ source: { kind: 'file', path: input }, guest_device: null, image: null, error: r.error }, null);
    }
    ctx.progress({ stage: 'image', percent: (20 * (ii + 1)) / total, message: `${ii + 1} of ${total} input(s) probed` });
  }
  const imageS = secs(t0);
  ctx.log('info', `image facts for ${disks.length} disk(s) in ${imageS} s`, 'image');

  // --- 2. destination ---------------------------------------------------------------------------
  let destination: InspectionReport['destination'] = null;
  if (p.dest) {
    const st = await stat(p.dest).catch(() => null);
    if (!st?.isDirectory()) throw new WorkerError('dest_not_writable', { detail: `${p.dest} is not a folder` });
    const fs = await statfs(p.dest);
    const free = fs.bavail * fs.bsize;
    const known = disks.every((d) => d.image?.measure);
    const required = disks.reduce((n, d) => n + (d.image?.measure?.qcow2.required_bytes ?? 0), 0);
    destination = { path: p.dest, free_bytes: free, required_bytes: required, enough: known ? free >= required : null };
  }

  // --- 3. the guest --------------------------------------------------------------------------------
  const tg = performance.now();
  let guest = emptyGuest('skipped', 'not asked for (guest: false)');
  const unusable = disks.filter((d) => d.error);
  if (p.guest && unusable.length) {
    guest = emptyGuest('skipped', `${unusable.map((d) => `${d.disk_id} (${d.error!.code})`).join(', ')} cannot be read, and the guest needs every disk of the VM`);
  } else if (p.guest) {
    ctx.progress({ stage: 'capabilities', percent: 20, message: 'checking the libguestfs appliance' });
    const caps = await ctx.capabilities({ appliance: true });
    const why = applianceUnavailable(caps);
    if (why) guest = emptyGuest('unavailable', why);
    else guest = await inspectGuest(ctx, { drives, caps, from: 21, to: 95 });
  }
  const guestS = p.guest && guest.status !== 'skipped' ? secs(tg) : null;
  // Which appliance device each disk became (drives are added in disk order).
  guest.devices.forEach((dev) => {
    const d = disks.find((x) => x.disk_id === dev.disk_id);
    if (d) d.guest_device = dev.device;
  });
  if (guest.status === 'inspected') ctx.log('info', `guest: ${guest.roots.length ? guest.roots.map((r) => `${r.root} ${osDisplayName(r)}`).join('; ') : 'no operating system'}`, 'guestfish');
  else ctx.log(guest.status === 'skipped' ? 'info' : 'warn', `guest not inspected: ${guest.reason}`, 'guestfish');

  // --- 4. rules ---------------------------------------------------------------------------------------
  ctx.progress({ stage: 'rules', percent: 96, message: 'evaluating the rules' });
  const base = { disks, packages, guest, destination };
  const findings = evaluateRules(base, p.target);
  const report = InspectionReport.parse({
    inspected_at: new Date().toISOString(),
    target: p.target,
    ...base,
    findings,
    summary: summarize(findings),
    timings: { image_s: imageS, appliance_start_s: guest.appliance?.start_seconds ?? null, guest_s: guestS, total_s: secs(t0) },
  });
  ctx.progress({ stage: 'done', percent: 100, message: formatFindingCounts(report.summary) });
  const stages: Record<string, number> = { image: imageS };
  if (guestS !== null) stages.guest = guestS;
  if (guest.appliance) stages.appliance_start = guest.appliance.start_seconds;
  return { artifacts: [], payload: report, stages };
}

/** A probe's qcow2 measure under the key a convert with default settings looks it up by. */
function keptMeasures(facts: ImageFacts): Record<string, Measured> {
  const q = facts.measure?.qcow2;
  return q ? { [measureKey('qcow2', INSPECT_QCOW2_OPTIONS)]: { required: q.required_bytes, fully_allocated: q.fully_allocated_bytes } } : {};
}
