// formatCapabilities on the report captured from a real run on the Debian 12 development machine.
import { describe, expect, it } from 'vitest';
import { WorkerCapabilities } from '../../../shared/protocol/capabilities';
import { formatCapabilities, humanBytes, humanSeconds } from '../../../electron/capabilities/format';
import { deriveCapabilities, deriveOperations, IMPLEMENTED_OPERATIONS } from '../../../electron/capabilities/supports';
import captured from './captured-capabilities.json';

const real = WorkerCapabilities.parse(captured);
const text = formatCapabilities(real);
const lines = text.split('\n');

/** The lines of one section: after its title line, up to the next empty line. */
function section(title: string, of: string[] = lines): string[] {
  const start = of.indexOf(title);
  if (start < 0) throw new Error(`no section ${title}`);
  const end = of.indexOf('', start);
  return of.slice(start + 1, end < 0 ? undefined : end);
}

describe('humanBytes / humanSeconds', () => {
  it('uses binary units with one decimal', () => {
    expect(humanBytes(0)).toBe('0 B');
    expect(humanBytes(1023)).toBe('1023 B');
    expect(humanBytes(1536)).toBe('1.5 KiB');
    expect(humanBytes(20 * 1024 ** 3)).toBe('20.0 GiB');
    expect(humanBytes(3.5 * 1024 ** 4)).toBe('3.5 TiB');
    expect(humanBytes(null)).toBe('unknown');
  });
  it('prints seconds, and minutes past one', () => {
    expect(humanSeconds(0.42)).toBe('0.4 s');
    expect(humanSeconds(29.19)).toBe('29 s');
    expect(humanSeconds(83)).toBe('1 min 23 s');
  });
});

describe('formatCapabilities', () => {
  it('names the host, the execution mode and the cache', () => {
    expect(lines[0]).toBe(`Capabilities of ${real.host.hostname} — ${real.host.os}, kernel ${real.host.kernel}, ${real.host.arch}`);
    expect(text).toContain('Execution mode: privileged container (/.dockerenv exists; CapEff has CAP_SYS_ADMIN');
    expect(text).toContain(`Cache: ${real.cache.path}`);
  });

  it('lists every tool, OK with version and path, MISSING with the package to install', () => {
    const tools = section('Tools').filter((l) => /^ {2}(OK|MISSING) /.test(l));
    expect(tools).toHaveLength(real.tools.length);
    expect(tools).toContain('  OK       qemu-img        7.2.22     /usr/bin/qemu-img');
    expect(tools).toContain('  OK       lvm             2.03.16    /usr/sbin/lvm');
    expect(tools).toContain('  MISSING  virt-v2v        -          install the virt-v2v package: apt-get install virt-v2v');
    expect(tools).toContain('  MISSING  setfiles        -          install the policycoreutils package: apt-get install policycoreutils');
  });

  it('aligns the tool columns', () => {
    const rows = section('Tools');
    const starts = real.tools.map((t) => {
      const line = rows.find((l) => l.includes(` ${t.name} `)) ?? '';
      const name = line.indexOf(` ${t.name} `) + 1;
      const third = t.available ? (t.version ?? '(version unknown)') : '-';
      const version = line.indexOf(` ${third} `, name + t.name.length) + 1;
      const last = line.indexOf(t.available ? (t.path ?? '') : (t.hint ?? ''), version + third.length);
      return `${name}/${version}/${last}`;
    });
    expect(new Set(starts).size).toBe(1);
  });

  it('lists the qemu-img formats', () => {
    const f = section('Tools').join(' ');
    for (const fmt of ['qcow2', 'raw', 'vdi', 'vhdx', 'vmdk', 'vpc']) expect(f).toMatch(new RegExp(`\\b${fmt}\\b`));
    expect(f).toContain(`qemu-img formats (${real.qemu_img_formats.length})`);
  });

  it('gives the appliance accelerator, start time and attempts', () => {
    const a = section('libguestfs appliance');
    expect(a[0]).toBe(`  OK       accelerator tcg, starts in ${humanSeconds(real.appliance.start_seconds ?? 0)}, backend direct`);
    expect(a.join('\n')).toMatch(/attempts:\n\s+tcg\s+ok\s+\d+(\.\d)? s\s+appliance started/);
  });

  it('says why KVM and NBD are missing and what to do', () => {
    const kvm = section('KVM').join(' ');
    expect(kvm).toMatch(/^ {2}MISSING\s+\/dev\/kvm absent/);
    expect(kvm).toContain('hint:');
    expect(kvm).toContain('TCG');
    expect(section('NBD').join(' ')).toContain('modprobe nbd max_part=16');
  });

  it('prints memory and free space in human units', () => {
    const r = section('Resources');
    expect(r).toContain(`  CPUs            ${real.resources.cpus}`);
    expect(r.join('\n')).toContain(`${humanBytes(real.resources.memory_available_bytes)} available of ${humanBytes(real.resources.memory_total_bytes)}`);
    const data = r.find((l) => l.includes('data folder'));
    expect(data).toMatch(/data folder\s+\d+\.\d GiB free of \d+\.\d GiB\s+at \//);
    expect(data).toContain(`at ${real.resources.data_dir.path}`);
  });

  it('lists capabilities with the hints for what is missing, and the operations', () => {
    const caps = section('Capabilities (for job requirements)');
    expect(caps.filter((l) => /^ {2}(OK|MISSING) /.test(l))).toHaveLength(real.capabilities.length);
    expect(caps.join('\n')).toContain('virt_v2v: install the virt-v2v package: apt-get install virt-v2v');
    const ops = section('Operations');
    expect(ops[0]).toMatch(/^ {2}RUNNABLE\s+inspect$/);
    expect(ops[1]).toMatch(/^ {2}RUNNABLE\s+convert$/);
    expect(ops.filter((l) => l.includes('not in this version'))).toHaveLength(6);
  });

  it('shows an unprobed appliance and a blocked operation plainly', () => {
    const c = structuredClone(real);
    c.appliance = { ...c.appliance, probed: false, usable: false, accelerator: null, start_seconds: null, attempts: [], hint: 'not probed yet: run `h2k-worker capabilities`' };
    const qemuImg = c.tools.find((t) => t.name === 'qemu-img');
    if (qemuImg) Object.assign(qemuImg, { available: false, path: null, version: null, hint: 'install the qemu-utils package: apt-get install qemu-utils' });
    c.capabilities = deriveCapabilities(c);
    c.operations = deriveOperations(c.capabilities, IMPLEMENTED_OPERATIONS);
    const out = formatCapabilities(WorkerCapabilities.parse(c)).split('\n');
    expect(section('libguestfs appliance', out)).toEqual(['  NOT PROBED  not probed yet: run `h2k-worker capabilities`']);
    const convert = section('Operations', out).find((l) => /\bconvert\b/.test(l));
    expect(convert).toMatch(/^ {2}BLOCKED\s+convert\s+qemu-img is not available .*apt-get install qemu-utils$/);
  });
});
