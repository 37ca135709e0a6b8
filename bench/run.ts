/**
 * `npm run bench [-- NAME...]`: run the benchmark modules and write docs/benchmarks.md.
 *
 * The registry is the folder: every `bench/NAME.bench.ts` is a module that exports
 *   run(ctx: BenchContext): Promise<BenchRow[] | { rows: BenchRow[]; notes?: string[] }>
 * and optionally `title` and `description` strings. Adding a benchmark is adding a file.
 * Results are reported, never asserted: a row says whether it met its target.
 *
 * The report describes the machine the numbers come from (CPUs, memory, kernel, the bench
 * folder's filesystem, qemu-img and Node versions, load average before and after), since a
 * ratio means little without it. Each module's section sits between markers, so running one
 * module (`npm run bench -- convert`) replaces its section and keeps the others.
 *
 * Environment: H2K_BENCH_DIR (scratch folder, default /var/tmp/h2k-bench; it needs several
 * GiB), H2K_BENCH_RUNS (runs per measurement where a module repeats, default 5).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { runTool } from '../electron/tools/spawn';

/** One measured value. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** The target, in words, e.g. "≤ 1.05 ×" (or "" when informative only). */
  target: string;
  ok: boolean;
  detail?: string;
}

/** What the harness gives a module. */
export interface BenchContext {
  /** A scratch folder of the module's own (created), on the bench filesystem. */
  dir: string;
  /** Runs per measurement (H2K_BENCH_RUNS, default 5). */
  runs: number;
  /** Progress lines for the operator (stderr). */
  log(line: string): void;
}

export interface BenchModule {
  title?: string;
  description?: string;
  run(ctx: BenchContext): Promise<BenchRow[] | { rows: BenchRow[]; notes?: string[] }>;
}

const BENCH_DIR = import.meta.dirname;
const REPORT = join(BENCH_DIR, '..', 'docs', 'benchmarks.md');

async function sh(command: string, args: string[]): Promise<string> {
  try {
    const r = await runTool({ command, args, timeoutMs: 30_000 });
    return r.exitCode === 0 ? r.stdout.trim() : '';
  } catch {
    return '';
  }
}

/** The machine, as a Markdown table. */
async function describeMachine(dir: string): Promise<string> {
  const fs = await sh('findmnt', ['-n', '-o', 'FSTYPE,SOURCE,OPTIONS', '--target', dir]);
  const qemu = (await sh('qemu-img', ['--version'])).split('\n')[0] ?? '';
  const cpu = cpus();
  const virt = await sh('systemd-detect-virt', []);
  const rows: [string, string][] = [
    ['CPUs (nproc)', `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`],
    ['Memory', `${(totalmem() / 1024 ** 3).toFixed(1)} GiB (${(freemem() / 1024 ** 3).toFixed(1)} GiB free at start)`],
    ['Kernel', `Linux ${release()}${virt && virt !== 'none' ? ` (virtualised: ${virt})` : ''}`],
    ['Bench folder', `${dir} on ${fs || 'unknown filesystem'}`],
    ['qemu-img', qemu || 'not found'],
    ['Node', process.version],
    ['Load average at start', loadavg().map((l) => l.toFixed(2)).join(', ')],
  ];
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`)].join('\n');
}

function section(name: string, mod: BenchModule, rows: BenchRow[], notes: string[], seconds: number): string {
  const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));
  const out = [`<!-- bench:${name}:start -->`, `## ${mod.title ?? name}`, ''];
  if (mod.description) out.push(mod.description, '');
  out.push('| Measure | Value | Target | Met | Detail |', '|---|---:|---|:-:|---|');
  for (const r of rows) out.push(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.target || '—'} | ${r.target ? (r.ok ? 'yes' : '**no**') : ''} | ${(r.detail ?? '').replace(/\|/g, '\\|')} |`);
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  out.push('', `_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s._`, `<!-- bench:${name}:end -->`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const dir = process.env.H2K_BENCH_DIR ?? '/var/tmp/h2k-bench';
  const runs = Math.max(1, Number(process.env.H2K_BENCH_RUNS ?? 5) || 5);
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const names = files.map((f) => basename(f, '.bench.ts'));
  const chosen = wanted.length ? names.filter((n) => wanted.includes(n)) : names;
  const unknown = wanted.filter((w) => !names.includes(w));
  if (unknown.length) throw new Error(`no bench module named ${unknown.join(', ')}; there are: ${names.join(', ')}`);

  const machine = await describeMachine(dir);
  const sections = new Map<string, string>();
  for (const name of chosen) {
    const mod = (await import(join(BENCH_DIR, `${name}.bench.ts`))) as BenchModule;
    const log = (line: string) => process.stderr.write(`[${name}] ${line}\n`);
    const modDir = join(dir, name);
    mkdirSync(modDir, { recursive: true });
    log(`running (${runs} runs per measurement where repeated)`);
    const started = Date.now();
    const res = await mod.run({ dir: modDir, runs, log });
    const rows = Array.isArray(res) ? res : res.rows;
    const notes = Array.isArray(res) ? [] : (res.notes ?? []);
    console.table(rows.map((r) => ({ name: r.name, value: r.value, unit: r.unit, target: r.target, ok: r.ok })));
    sections.set(name, section(name, mod, rows, notes, (Date.now() - started) / 1000));
  }

  // Merge into the report: replace the sections that ran, keep the others.
  const old = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '';
  const kept = new Map<string, string>();
  for (const m of old.matchAll(/<!-- bench:([\w-]+):start -->[\s\S]*?<!-- bench:\1:end -->/g)) kept.set(m[1]!, m[0]);
  for (const [k, v] of sections) kept.set(k, v);
  const body = [...kept.keys()].sort().map((k) => kept.get(k)!);
  const report = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts): every `bench/*.bench.ts` module, reported and never asserted.',
    'Timings depend on the machine below and on what else it was doing (its load average is given);',
    'ratios between runs made side by side on the same machine are what to read.',
    '',
    '## Machine (last run)',
    '',
    machine,
    `| Load average at end | ${loadavg().map((l) => l.toFixed(2)).join(', ')} |`,
    '',
    ...body.flatMap((b) => [b, '']),
  ].join('\n');
  mkdirSync(join(BENCH_DIR, '..', 'docs'), { recursive: true });
  writeFileSync(REPORT, report);
  process.stderr.write(`wrote ${REPORT}\n`);
}

await main();
