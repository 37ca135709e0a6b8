// The pure helpers of detection: version and format parsing (on output copied from the real tools
// of Debian 12), cache keys, appliance settings and failure hints.
import { describe, expect, it } from 'vitest';
import { parseQemuImgFormats, parseVersion, searchDirs, TOOL_SPECS, toolHint, type ToolSpec } from '../../../electron/capabilities/tools';
import { backendSettings, chosenBackend, failureHint, tail } from '../../../electron/capabilities/appliance';
import { resolveCacheDir, sameKey } from '../../../electron/capabilities/cache';
import { ToolName } from '../../../shared/protocol/capabilities';

const spec = (name: string): ToolSpec => {
  const s = TOOL_SPECS.find((t) => t.name === name);
  if (!s) throw new Error(name);
  return s;
};

describe('tool specs', () => {
  it('cover every ToolName once, each with a Debian package', () => {
    expect(TOOL_SPECS.map((t) => t.name).sort()).toEqual([...ToolName.options].sort());
    for (const t of TOOL_SPECS) expect(toolHint(t)).toMatch(new RegExp(`apt-get install ${t.debianPackage}$`));
  });

  it('parse the versions the real tools print', () => {
    const outputs: Record<string, [string, string]> = {
      'qemu-img': ['qemu-img version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n', '7.2.22'],
      'qemu-nbd': ['qemu-nbd 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nWritten by Anthony Liguori.\n', '7.2.22'],
      guestfish: ['guestfish 1.48.6\n', '1.48.6'],
      'virt-inspector': ['virt-inspector 1.48.2\n', '1.48.2'],
      'virt-v2v': ['virt-v2v 2.2.0\n', '2.2.0'],
      lvm: ['  LVM version:     2.03.16(2) (2022-05-18)\n  Library version: 1.02.185 (2022-05-18)\n', '2.03.16'],
      mount: ['mount from util-linux 2.38.1 (libmount 2.38.1: selinux, smack, btrfs, verity, namespaces, assert, debug)\n', '2.38.1'],
      e2fsck: ['\ne2fsck 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0, 5-Feb-2023\n', '1.47.0'],
      xfs_repair: ['xfs_repair version 6.1.0\n', '6.1.0'],
      ntfsfix: ['ntfsfix v2022.10.3\n\nAttempt to fix an NTFS partition.\n', '2022.10.3'],
    };
    for (const [name, [out, version]] of Object.entries(outputs)) expect(parseVersion(spec(name), out), name).toBe(version);
    expect(parseVersion(spec('qemu-img'), 'qemu-img: command not understood')).toBeNull();
  });

  it('parse the formats of qemu-img --help', () => {
    const help = 'usage: qemu-img [standard options] command [command options]\n\nSupported formats: blkdebug qcow2 raw vdi vhdx vmdk vpc vvfat\n\nSee <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n';
    expect(parseQemuImgFormats(help)).toEqual(['blkdebug', 'qcow2', 'raw', 'vdi', 'vhdx', 'vmdk', 'vpc', 'vvfat']);
    expect(parseQemuImgFormats('no such line')).toEqual([]);
  });

  it('search PATH first, then the sbin folders unless turned off', () => {
    expect(searchDirs('/opt/bin:relative:/usr/bin', true)).toEqual(['/opt/bin', '/usr/bin', '/usr/local/sbin', '/usr/sbin', '/sbin']);
    expect(searchDirs('/usr/sbin', true)).toEqual(['/usr/sbin', '/usr/local/sbin', '/sbin']);
    expect(searchDirs('/empty', false)).toEqual(['/empty']);
    expect(searchDirs(undefined, false)).toEqual([]);
  });
});

describe('cache', () => {
  it('finds its folder: option, H2K_CACHE_DIR, XDG_CACHE_HOME, then ~/.cache', () => {
    expect(resolveCacheDir({ H2K_CACHE_DIR: '/c' }, '/opt')).toBe('/opt');
    expect(resolveCacheDir({ H2K_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(resolveCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/home/t' })).toBe('/x/hyper2kvm-workbench');
    expect(resolveCacheDir({ HOME: '/home/t' })).toBe('/home/t/.cache/hyper2kvm-workbench');
  });

  it('compares keys whatever their key order', () => {
    expect(sameKey({ path: '/a', size: 1, mtime_ms: 2 }, { mtime_ms: 2, size: 1, path: '/a' })).toBe(true);
    expect(sameKey({ path: '/a', size: 1, mtime_ms: 2 }, { path: '/a', size: 1, mtime_ms: 3 })).toBe(false);
    expect(sameKey({ k: ['a', 'b'] }, { k: ['b', 'a'] })).toBe(false);
  });
});

describe('appliance helpers', () => {
  it('use LIBGUESTFS_BACKEND when set, direct otherwise', () => {
    expect(chosenBackend({})).toBe('direct');
    expect(chosenBackend({ LIBGUESTFS_BACKEND: ' ' })).toBe('direct');
    expect(chosenBackend({ LIBGUESTFS_BACKEND: 'libvirt:qemu:///session' })).toBe('libvirt:qemu:///session');
  });

  it('force the accelerator of each attempt, keeping the user’s other settings', () => {
    expect(backendSettings(undefined, 'tcg')).toBe('force_tcg');
    expect(backendSettings(undefined, 'kvm')).toBe('force_kvm');
    expect(backendSettings('gdb:force_tcg', 'kvm')).toBe('gdb:force_kvm');
  });

  it('give a plain hint for a missing kernel, a hang, or anything else', () => {
    const missingKernel = failureHint([{ accelerator: 'tcg', outcome: 'error', seconds: 1.2, detail: 'supermin: failed to find a suitable kernel (host_cpu=x86_64).' }]);
    expect(missingKernel).toContain('apt-get install linux-image-amd64');
    expect(missingKernel).toContain('libguestfs-test-tool');
    const hung = failureHint([
      { accelerator: 'kvm', outcome: 'timeout', seconds: 60.1, detail: null },
      { accelerator: 'tcg', outcome: 'timeout', seconds: 300.2, detail: null },
    ], 300);
    expect(hung).toMatch(/did not start within 300 s/);
    expect(failureHint([{ accelerator: 'tcg', outcome: 'error', seconds: 3, detail: 'libguestfs: error: something else' }])).toMatch(/could not start.*libguestfs-test-tool/);
  });

  it('keep the last lines of stderr', () => {
    expect(tail('a\n\nb\nc\n', 2)).toBe('b\nc');
    expect(tail('x'.repeat(5000)).length).toBe(2000);
  });
});
