/**
 * The cheap facts of capability detection, read live on every call: execution mode, privileges,
 * SELinux, NBD, KVM, memory and free space. Each function names the file or tool its facts come
 * from; none of them throws (an unreadable source reads as "not there").
 */
import { existsSync, openSync, closeSync, readdirSync, readFileSync, statSync, constants } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { hostname, release, machine, availableParallelism, totalmem, freemem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { WorkerCapabilities } from '../../shared/protocol/capabilities';
import { runTool } from '../tools/spawn';

type Caps = WorkerCapabilities;

/** Bit number of CAP_SYS_ADMIN in the capability sets (linux/capability.h). */
export const CAP_SYS_ADMIN_BIT = 21;

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** Host name, kernel release (uname -r, os.release()), machine (uname -m, os.machine()) and PRETTY_NAME of /etc/os-release. */
export function hostFacts(): Caps['host'] {
  const osRelease = readText('/etc/os-release') ?? '';
  const pretty = /^PRETTY_NAME=(.*)$/m.exec(osRelease)?.[1]?.replace(/^["']|["']$/g, '') ?? 'unknown';
  return { hostname: hostname(), kernel: release(), arch: machine(), os: pretty };
}

/** The effective capability set (CapEff, hex) of this process from /proc/self/status, or null. */
export function effectiveCaps(): bigint | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(readText('/proc/self/status') ?? '');
  return m?.[1] ? BigInt('0x' + m[1]) : null;
}

/** True when CapEff in /proc/self/status has CAP_SYS_ADMIN (bit 21). */
export function hasCapSysAdmin(): boolean {
  const eff = effectiveCaps();
  return eff !== null && ((eff >> BigInt(CAP_SYS_ADMIN_BIT)) & 1n) === 1n;
}

/** Cgroup path fragments that container engines use (docker, podman/libpod, containerd, kubernetes, lxc). */
const CONTAINER_CGROUP = /docker|kubepods|containerd|libpod|podman|lxc|crio|garden/;

/** Whether /sys is mounted read-write, from the /sys line of /proc/self/mounts. */
function sysWritable(): boolean {
  const mounts = readText('/proc/self/mounts') ?? '';
  const line = mounts.split('\n').find((l) => l.split(' ')[1] === '/sys');
  if (!line) return false;
  const opts = line.split(' ')[3]?.split(',') ?? [];
  return opts.includes('rw');
}

/**
 * Host, container, or privileged container. A container is recognised from any of: /.dockerenv
 * (Docker), /run/.containerenv (Podman), `container=` in /proc/1/environ (systemd-nspawn, LXC,
 * Podman), a container engine's path in /proc/1/cgroup. It is privileged when CapEff in
 * /proc/self/status has CAP_SYS_ADMIN and real devices are reachable: /dev/kvm, /dev/loop-control
 * or /dev/nbd0 present, or /sys mounted read-write (/proc/self/mounts). `evidence` lists the facts.
 */
export function executionMode(): Caps['execution_mode'] {
  const container: string[] = [];
  if (existsSync('/.dockerenv')) container.push('/.dockerenv exists');
  if (existsSync('/run/.containerenv')) container.push('/run/.containerenv exists');
  const environ = readText('/proc/1/environ');
  const containerVar = environ?.split('\0').find((v) => v.startsWith('container='));
  if (containerVar) container.push(`/proc/1/environ has ${containerVar}`);
  const cgroup = readText('/proc/1/cgroup') ?? '';
  const cgLine = cgroup.split('\n').find((l) => CONTAINER_CGROUP.test(l));
  if (cgLine) container.push(`/proc/1/cgroup has ${cgLine.trim()}`);
  if (container.length === 0) {
    const evidence = ['no /.dockerenv, no /run/.containerenv, no container cgroup in /proc/1/cgroup'];
    evidence.push(environ === null ? '/proc/1/environ not readable' : 'no container= in /proc/1/environ');
    return { mode: 'host', evidence };
  }
  const priv: string[] = [];
  const capAdmin = hasCapSysAdmin();
  for (const dev of ['/dev/kvm', '/dev/loop-control', '/dev/nbd0']) if (existsSync(dev)) priv.push(`${dev} present`);
  if (sysWritable()) priv.push('/sys mounted read-write');
  if (capAdmin && priv.length > 0) {
    return { mode: 'privileged_container', evidence: [...container, 'CapEff has CAP_SYS_ADMIN', ...priv] };
  }
  const why = capAdmin ? 'CapEff has CAP_SYS_ADMIN but no /dev/kvm, /dev/loop-control, /dev/nbd0 and /sys is read-only' : 'CapEff lacks CAP_SYS_ADMIN';
  return { mode: 'container', evidence: [...container, why] };
}

/**
 * uid (process.getuid), root, passwordless sudo (`sudo -n true`, 5 s timeout, tried only when
 * `sudoPath` is given), pkexec found, CAP_SYS_ADMIN from CapEff in /proc/self/status.
 */
export async function privileges(sudoPath: string | null, pkexecPath: string | null, env: Record<string, string | undefined>): Promise<Caps['privileges']> {
  const uid = process.getuid?.() ?? -1;
  let passwordless = false;
  if (sudoPath) {
    try {
      const r = await runTool({ command: sudoPath, args: ['-n', 'true'], env, timeoutMs: 5000, graceMs: 500 });
      passwordless = r.exitCode === 0 && !r.timedOut;
    } catch {
      passwordless = false;
    }
  }
  return { uid, root: uid === 0, passwordless_sudo: passwordless, pkexec: pkexecPath !== null, cap_sys_admin: hasCapSysAdmin() };
}

/**
 * SELinux state: /sys/fs/selinux/enforce (1 enforcing, 0 permissive) when selinuxfs is mounted,
 * else `getenforce` (when found), else 'absent'.
 */
export async function selinuxState(getenforcePath: string | null, env: Record<string, string | undefined>): Promise<Caps['selinux']> {
  const enforce = readText('/sys/fs/selinux/enforce')?.trim();
  if (enforce === '1') return { state: 'enforcing', detail: '/sys/fs/selinux/enforce is 1' };
  if (enforce === '0') return { state: 'permissive', detail: '/sys/fs/selinux/enforce is 0' };
  if (getenforcePath) {
    try {
      const r = await runTool({ command: getenforcePath, args: [], env: { ...env, LC_ALL: 'C' }, timeoutMs: 5000, graceMs: 500 });
      const word = r.stdout.trim().toLowerCase();
      if (word === 'enforcing' || word === 'permissive' || word === 'disabled') return { state: word, detail: `getenforce says ${r.stdout.trim()}` };
    } catch {
      // fall through
    }
  }
  if (existsSync('/sys/fs/selinux')) return { state: 'disabled', detail: '/sys/fs/selinux exists without an enforce file' };
  return { state: 'absent', detail: getenforcePath ? 'no /sys/fs/selinux and getenforce gave no answer' : 'no /sys/fs/selinux and no getenforce' };
}

/** /sys/module/<name> exists: the module is loaded (or built in). */
export function moduleLoaded(name: string): boolean {
  return existsSync(`/sys/module/${name}`);
}

/** Whether the running kernel ships a loadable module `name` (/lib/modules/$(uname -r), modules.dep or modules.builtin). */
function kernelHasModule(name: string): boolean | null {
  const dir = `/lib/modules/${release()}`;
  const dep = readText(join(dir, 'modules.dep'));
  const builtin = readText(join(dir, 'modules.builtin')) ?? '';
  if (dep === null) return null;
  const re = new RegExp(`(^|/)${name}\\.ko`, 'm');
  return re.test(dep) || re.test(builtin);
}

/** NBD: module loaded (/sys/module/nbd), count of /dev/nbdN, and a hint when unusable. */
export function nbdFacts(): Caps['nbd'] {
  const loaded = moduleLoaded('nbd');
  let devices: number;
  try {
    devices = readdirSync('/dev').filter((n) => /^nbd\d+$/.test(n)).length;
  } catch {
    devices = 0;
  }
  let hint: string | null = null;
  if (!loaded || devices === 0) {
    const has = kernelHasModule('nbd');
    hint =
      has === false
        ? `the running kernel (${release()}) has no nbd module; qemu-nbd cannot attach disks here (inspection and conversion do not need it)`
        : 'load the module as root: modprobe nbd max_part=16' + (has === null ? ` (no module list found for kernel ${release()}; it may be missing)` : '');
  }
  return { module_loaded: loaded, devices, hint };
}

/** CPU flags from /proc/cpuinfo that say hardware virtualization is offered (vmx Intel, svm AMD). */
function cpuVirtFlag(): 'vmx' | 'svm' | null {
  const flags = /^flags\s*:(.*)$/m.exec(readText('/proc/cpuinfo') ?? '')?.[1]?.split(/\s+/) ?? [];
  if (flags.includes('vmx')) return 'vmx';
  if (flags.includes('svm')) return 'svm';
  return null;
}

/**
 * KVM: /dev/kvm present, accessible (opened O_RDWR and closed again), and a hint when not usable:
 * kvm group, BIOS/UEFI virtualization (no vmx/svm in /proc/cpuinfo), nested virtualization,
 * kvm_intel/kvm_amd module, or passing the device into a container.
 */
export function kvmFacts(mode: Caps['execution_mode']['mode']): Caps['kvm'] {
  const present = existsSync('/dev/kvm');
  let accessible = false;
  let openError = '';
  if (present) {
    try {
      closeSync(openSync('/dev/kvm', constants.O_RDWR));
      accessible = true;
    } catch (err) {
      openError = (err as NodeJS.ErrnoException).code ?? String(err);
    }
  }
  let hint: string | null = null;
  const slower = 'Without KVM the libguestfs appliance runs in TCG (software emulation): it works, only slower.';
  if (present && !accessible) {
    hint =
      openError === 'EACCES' || openError === 'EPERM'
        ? `/dev/kvm cannot be opened (${openError}): add this user to the kvm group (sudo usermod -aG kvm $USER) and log in again. ${slower}`
        : `/dev/kvm cannot be opened (${openError}). ${slower}`;
  } else if (!present) {
    const flag = cpuVirtFlag();
    const cpu =
      flag === null
        ? 'the CPU offers no virtualization (no vmx/svm in /proc/cpuinfo): enable Intel VT-x / AMD-V in the BIOS/UEFI, or nested virtualization when this is a virtual machine'
        : `the CPU has ${flag}: load the module as root (modprobe ${flag === 'vmx' ? 'kvm_intel' : 'kvm_amd'})`;
    hint = mode !== 'host' ? `No /dev/kvm in this container: start it with --device /dev/kvm when the host has KVM; here ${cpu}. ${slower}` : `No /dev/kvm: ${cpu}. ${slower}`;
  }
  return { device_present: present, device_accessible: accessible, hint };
}

/** Memory total and available, bytes, from /proc/meminfo (MemTotal, MemAvailable); os.totalmem/freemem as a fallback. */
export function memoryFacts(): { total: number; available: number } {
  const info = readText('/proc/meminfo') ?? '';
  const kb = (key: string): number | null => {
    const m = new RegExp(`^${key}:\\s*(\\d+) kB$`, 'm').exec(info);
    return m?.[1] ? Number(m[1]) * 1024 : null;
  };
  return { total: kb('MemTotal') ?? totalmem(), available: kb('MemAvailable') ?? freemem() };
}

/** Logical CPUs this process may use (os.availableParallelism). */
export function cpuCount(): number {
  return Math.max(1, availableParallelism());
}

/** The path itself when it exists, else its nearest existing parent (a folder is never created). */
export function nearestExisting(path: string): string {
  let p = resolve(path);
  for (;;) {
    try {
      statSync(p);
      return p;
    } catch {
      const parent = dirname(p);
      if (parent === p) return p;
      p = parent;
    }
  }
}

/**
 * Free (available to this user, f_bavail) and total bytes of the file system holding `path`
 * (fs.statfs), measured at its nearest existing parent, which `path` in the result names. Nulls
 * when statfs fails.
 */
export async function spaceFacts(path: string): Promise<Caps['resources']['data_dir']> {
  const at = nearestExisting(path);
  try {
    const s = await statfs(at);
    return { path: at, free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
  } catch {
    return { path: at, free_bytes: null, total_bytes: null };
  }
}

/** The sorted names of kernels in /boot (vmlinuz-*), which supermin builds the appliance from. */
export function bootKernels(): string[] {
  try {
    return readdirSync('/boot')
      .filter((n) => n.startsWith('vmlinuz-'))
      .sort();
  } catch {
    return [];
  }
}
