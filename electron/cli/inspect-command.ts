/**
 * `h2k-worker inspect <disk>... [--json] [--dest DIR] [--target BUS] [--firmware FW]`: what the
 * disks are, what is inside, and what will break on KVM, through an `inspect` job.
 *
 * Paths are resolved to absolute paths first, so `./-disk.vmdk` or `-- -disk.vmdk` is a file,
 * never an option. Progress goes to stderr; with --json, stdout carries exactly one JSON
 * document: the InspectionReport (docs/protocol/InspectionReport.json), or `{ "error": ErrorInfo,
 * "job_id": … }` when the job failed.
 *
 * Exit codes (main.ts): 0 inspected (findings, blockers included, are in the report); 1 the job
 * failed (an input is missing, not an image, a hostile package, ...), or a disk is unusable (its
 * error code is in the report and on stderr); 2 bad usage or an invalid spec; 3 cancelled
 * (Ctrl-C); 4 this machine cannot run it.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import type { Finding, InspectionReport, JobDetail, JobSpecInput } from '../../shared/protocol';
import { InspectionReport as InspectionReportSchema, isTerminal } from '../../shared/protocol';
import { formatError } from '../../shared/errors';
import { formatBytes, formatDuration } from '../../shared/format';
import { implementedOperations } from '../engine/ops';
import { osDisplayName } from '../../shared/os-name';
import { formatFindingCounts } from '../engine/rules/engine';
import { EXIT, exitCodeForState, waitForJob, type CliContext } from './main';
import { parsePriority } from './convert-command';

type InspectInput = Extract<JobSpecInput, { operation: 'inspect' }>;

export interface InspectCliOptions {
  dest?: string;
  target: 'virtio-blk' | 'virtio-scsi' | 'sata';
  firmware: 'bios' | 'uefi';
  guest: boolean;
  priority?: number;
  timeout?: number;
  id?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more is expected');
  return n;
}

/** The inspect spec for the command line; paths resolved against `cwd`. Pure. */
export function buildInspectSpec(paths: string[], o: InspectCliOptions, cwd = process.cwd()): InspectInput {
  return {
    operation: 'inspect',
    params: {
      disks: paths.map((p) => resolve(cwd, p)),
      target: { disk_bus: o.target, firmware: o.firmware },
      guest: o.guest,
      ...(o.dest ? { dest: resolve(cwd, o.dest) } : {}),
    },
    ...(o.id ? { id: o.id } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.timeout ? { timeout_s: o.timeout } : {}),
  };
}

const SEVERITY_ORDER: Record<Finding['severity'], number> = { blocker: 0, warning: 1, info: 2 };

function renderFinding(f: Finding, implemented: ReadonlySet<string>): string[] {
  const out = [`  [${f.severity.toUpperCase()}] ${f.id}: ${f.title}${f.disk ? `  (${f.disk})` : ''}${f.root ? `  (${f.root})` : ''}`];
  for (const e of f.evidence.slice(0, 8)) {
    // Multi-line evidence (qemu-img check's lines) stays indented under its finding.
    out.push(`      ${e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : ''}${e.text.trim().split('\n').join('\n        ')}`);
  }
  if (f.evidence.length > 8) out.push(`      … ${f.evidence.length - 8} more`);
  const r = f.remediation;
  if (r.kind === 'operation') {
    const later = implemented.has(r.operation) ? '' : `  (${r.operation} — not in this version)`;
    out.push(`    fix: ${r.operation} ${JSON.stringify(r.params)} on the converted copy — ${r.summary}${later}`);
  } else {
    out.push(`    fix (manual): ${r.summary}`);
    for (const s of r.steps) out.push(`      - ${s}`);
  }
  return out;
}

/**
 * The human report: target, packages, disks, guest, findings (blockers first, each with its
 * evidence and fix), the time taken, and last the counts ("3 blockers, 5 warnings, 2 info").
 * A disk's error detail (qemu-img's lines) is printed once, in its finding's evidence. A fix
 * whose operation is not in `implemented` (the worker's operation registry,
 * electron/engine/ops: a repair that would end `not_implemented`) is marked
 * "(offline_fix — not in this version)". Pure.
 */
export function renderInspectionReport(r: InspectionReport, implemented: ReadonlySet<string> = implementedOperations()): string {
  const out: string[] = [];
  out.push(`Target: ${r.target.disk_bus}, ${r.target.firmware}`);
  for (const p of r.packages) {
    const h = p.hardware;
    out.push(`Package ${p.path} (${p.kind}, ${p.dialect ?? 'unknown exporter'}): ${h.name ?? ''}`);
    out.push(`  ${h.cpus ?? '?'} vCPU, ${formatBytes(h.memory_bytes)}, firmware ${h.firmware ?? 'not stated'}, OS ${h.os_type ?? '?'}`);
    out.push(`  NICs: ${h.nics.map((n) => `${n.type ?? '?'}${n.mac ? ` ${n.mac}` : ''}`).join(', ') || 'none'}; controllers: ${h.controllers.map((c) => `${c.type}${c.subtype ? `/${c.subtype}` : ''}`).join(', ') || 'none'}`);
    out.push(`  manifest: ${p.manifest.present ? (p.manifest.ok ? 'verified' : `not verified (${p.manifest.detail ?? ''})`) : 'none'}`);
  }
  out.push('Disks');
  for (const d of r.disks) {
    const src = d.source.kind === 'file' ? d.source.path : `${d.source.package} [${d.source.member}]`;
    if (d.image) {
      const i = d.image;
      out.push(`  ${d.disk_id}${d.guest_device ? ` (${d.guest_device})` : ''}  ${src}${i.in_use ? '  IN USE by another process' : ''}`);
      out.push(`    ${i.format}${i.subformat ? ` ${i.subformat}` : ''}, ${formatBytes(i.virtual_size)} virtual (${i.virtual_size} bytes), ${formatBytes(i.actual_size)} allocated${i.backing_chain.length ? `, backing: ${i.backing_chain.map((b) => b.path).join(' → ')}` : ''}`);
      if (i.measure) out.push(`    a qcow2 copy needs ${formatBytes(i.measure.qcow2.required_bytes)}`);
    } else out.push(`  ${d.disk_id}  ${src}`, `    UNUSABLE: ${d.error ? `${d.error.message} [${d.error.code}]` : ''} (the detail and what to do: its finding below)`);
  }
  const g = r.guest;
  out.push(`Guest: ${g.status}${g.reason ? ` — ${g.reason}` : ''}${g.appliance ? ` (appliance ${g.appliance.accelerator ?? ''} started in ${formatDuration(g.appliance.start_seconds)})` : ''}`);
  for (const root of g.roots) {
    out.push(`  ${root.root}: ${osDisplayName(root)} (${root.distro ?? '?'} ${root.major_version ?? '?'}.${root.minor_version ?? '?'}, ${root.arch ?? '?'}), hostname ${root.hostname ?? '?'}`);
    out.push(`    firmware ${root.firmware.kind}, bootloader ${root.bootloader.kind}, ${root.kernels.length} kernel(s), packages ${root.package_format ?? '?'}/${root.package_management ?? '?'}${root.selinux.mode ? `, SELinux ${root.selinux.mode}` : ''}`);
    for (const k of root.kernels) {
      const d = k.initramfs?.drivers;
      out.push(`    kernel ${k.version}: initramfs ${k.initramfs ? `${k.initramfs.path} [${Object.entries(d ?? {}).map(([n, v]) => `${n}=${v ?? '?'}`).join(' ')}]` : 'none'}`);
    }
    for (const m of root.mountpoints) out.push(`    ${m.mountpoint.padEnd(12)} ${m.device}${m.mounted ? '' : `  (not mounted: ${m.error})`}`);
  }
  if (g.multiboot) out.push('  several operating systems: each is reported; repairs must name the one to change');
  if (r.destination) out.push(`Destination ${r.destination.path}: ${formatBytes(r.destination.free_bytes)} free, ${formatBytes(r.destination.required_bytes)} needed`);
  out.push(r.findings.length ? 'Findings' : 'Findings: none');
  for (const f of [...r.findings].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])) out.push(...renderFinding(f, implemented));
  out.push(`Took ${formatDuration(r.timings.total_s)} (image ${formatDuration(r.timings.image_s)}${r.timings.guest_s !== null ? `, guest ${formatDuration(r.timings.guest_s)}` : ''})`);
  out.push(formatFindingCounts(r.summary));
  return out.join('\n');
}

/** The report of a finished inspect job, or null (the job failed or was cancelled). */
export function reportOf(d: JobDetail): InspectionReport | null {
  if (d.result?.outcome !== 'completed' || d.result.payload == null) return null;
  return InspectionReportSchema.parse(d.result.payload);
}

/** Register `inspect` on the program. */
export function registerInspectCommand(program: Command, ctxOf: (cmd: Command) => CliContext): void {
  program
    .command('inspect')
    .description('What the disks are, what is inside, and what will break on KVM (all disks of one VM in one appliance).')
    .argument('<disks...>', 'disk images of one VM (vmdk, vhd, vhdx, vdi, qcow2, raw) or its .ova/.ovf')
    .option('--dest <dir>', 'destination folder: check it has room for the converted disks')
    .addOption(new Option('--target <bus>', 'disk bus on KVM').choices(['virtio-blk', 'virtio-scsi', 'sata']).default('virtio-blk'))
    .addOption(new Option('--firmware <fw>', 'firmware on KVM (uefi: OVMF is available)').choices(['bios', 'uefi']).default('bios'))
    .option('--no-guest', 'image-level inspection only (no appliance)')
    .option('--priority <n>', 'queue priority 0-100 (default 50)', parsePriority)
    .option('--timeout <seconds>', 'stop the job after this long', positiveInt)
    .option('--id <id>', 'job id (default: chosen by the worker)')
    .option('--json', 'print the InspectionReport as JSON')
    .action(async (paths: string[], o: InspectCliOptions, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const spec = buildInspectSpec(paths, o);
      const job = await ctx.client().call('jobs.submit', { spec });
      if (!ctx.json) ctx.err(`job ${job.id} ${job.state}: inspecting ${spec.params.disks.join(', ')}`);
      const final = isTerminal(job.state) ? job : await waitForJob(ctx, job.id);
      const detail = await ctx.client().call('jobs.get', { id: final.id });
      const report = reportOf(detail);
      if (!report) {
        const err = detail.result?.error ?? detail.summary.error;
        if (ctx.json) ctx.out(JSON.stringify({ error: err, job_id: final.id }, null, 2));
        else ctx.err(err ? `error: ${formatError(err)}` : `job ${final.id} ${final.state}`);
        ctx.setExit(final.state === 'FAILED' && err?.kind === 'environment' ? EXIT.environment : exitCodeForState(final.state));
        return;
      }
      ctx.out(ctx.json ? JSON.stringify(report, null, 2) : renderInspectionReport(report));
      const unusable = report.disks.filter((d) => d.error);
      // One line per unusable disk: its detail is printed once, in the report (or the JSON).
      for (const d of unusable) ctx.err(`${d.disk_id}: ${d.error!.code}: ${d.error!.message}`);
      ctx.setExit(unusable.length ? EXIT.failed : EXIT.ok);
    });
}
