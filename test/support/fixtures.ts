/**
 * Test fixtures: real disk images built by test/fixtures/build-all.sh into a cache folder
 * ($H2K_FIXTURES_DIR, default <repo>/.cache/fixtures; a relative value is taken from the repo root,
 * exactly as build-all.sh does). See test/fixtures/README.md for what each one holds.
 *
 * Fixtures are read-only for tests: copy one to a temporary folder before writing to it.
 * Every number in FACTS was checked on the built images with qemu-img info / virt-inspector.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const FIXTURE_GROUPS = ['pattern', 'debian', 'rhel', 'twodisk', 'ovf', 'bad'] as const;
export type FixtureGroup = (typeof FIXTURE_GROUPS)[number];

/** The cache folder build-all.sh writes to. */
export function fixturesDir(): string {
  const dir = process.env.H2K_FIXTURES_DIR || '.cache/fixtures';
  return isAbsolute(dir) ? dir : resolve(REPO_ROOT, dir);
}

/** Fixture name → [group, path inside the group's folder]. "sample" lives in the repo (assets/). */
const FILES = {
  // pattern: 64 MiB of seeded random runs at odd offsets, holes between (see FACTS.pattern)
  'pattern-raw': ['pattern', 'pattern.raw'],
  'pattern-qcow2': ['pattern', 'pattern.qcow2'],
  'pattern-overlay-qcow2': ['pattern', 'pattern-overlay-qcow2.qcow2'],
  'pattern-overlay-raw': ['pattern', 'pattern-overlay-raw.qcow2'],
  'pattern-vmdk-monolithicSparse': ['pattern', 'pattern-monolithicSparse.vmdk'],
  'pattern-vmdk-streamOptimized': ['pattern', 'pattern-streamOptimized.vmdk'],
  'pattern-vmdk-twoGbMaxExtentSparse': ['pattern', 'pattern-twoGbMaxExtentSparse.vmdk'],
  'pattern-vmdk-monolithicFlat': ['pattern', 'pattern-monolithicFlat.vmdk'],
  'pattern-vmdk-twoGbMaxExtentFlat': ['pattern', 'pattern-twoGbMaxExtentFlat.vmdk'],
  'pattern-vhd-fixed': ['pattern', 'pattern-fixed.vhd'],
  'pattern-vhd-dynamic': ['pattern', 'pattern-dynamic.vhd'],
  'pattern-vhdx': ['pattern', 'pattern.vhdx'],
  'pattern-vdi': ['pattern', 'pattern.vdi'],
  'pattern-json': ['pattern', 'pattern.json'],
  // debian: a real Debian 12 VMware guest (see FACTS.debian)
  'debian-raw': ['debian', 'debian.raw'],
  'debian-qcow2': ['debian', 'debian.qcow2'],
  'debian-overlay-qcow2': ['debian', 'debian-overlay.qcow2'],
  'debian-vmdk-monolithicSparse': ['debian', 'debian-monolithicSparse.vmdk'],
  'debian-vmdk-streamOptimized': ['debian', 'debian-streamOptimized.vmdk'],
  'debian-vmdk-twoGbMaxExtentSparse': ['debian', 'debian-twoGbMaxExtentSparse.vmdk'],
  'debian-vmdk-monolithicFlat': ['debian', 'debian-monolithicFlat.vmdk'],
  'debian-vhdx': ['debian', 'debian.vhdx'],
  'debian-vhd': ['debian', 'debian.vhd'],
  'debian-ova': ['debian', 'debian.ova'],
  'debian-initramfs-list': ['debian', 'initramfs-list.txt'],
  'debian-kernel-version': ['debian', 'kernel-version.txt'],
  'debian-debian-version': ['debian', 'debian_version.txt'],
  // rhel: RHEL 9.4 on LVM, as on VMware (see FACTS.rhel)
  'rhel-raw': ['rhel', 'rhel.raw'],
  'rhel-vmdk': ['rhel', 'rhel.vmdk'],
  'rhel-qcow2': ['rhel', 'rhel.qcow2'],
  'rhel-pvid': ['rhel', 'rhel-pvid.txt'],
  // twodisk: root on sda, /srv/data on sdb (see FACTS.twodisk)
  'twodisk-sda': ['twodisk', 'twodisk-sda.vmdk'],
  'twodisk-sdb': ['twodisk', 'twodisk-sdb.vmdk'],
  // ovf: exporter dialects, as folders (the .ovf inside) and as .ova (see FACTS.ovf)
  'ovf-ovftool': ['ovf', 'ovftool/sample-vm.ovf'],
  'ovf-ovftool-ova': ['ovf', 'ovftool.ova'],
  'ovf-vcenter': ['ovf', 'vcenter/sample-vm.ovf'],
  'ovf-vcenter-ova': ['ovf', 'vcenter.ova'],
  'ovf-vbox10': ['ovf', 'vbox10/sample-vm.ovf'],
  'ovf-vbox10-ova': ['ovf', 'vbox10.ova'],
  'ovf-vbox20': ['ovf', 'vbox20/sample-vm.ovf'],
  'ovf-vbox20-ova': ['ovf', 'vbox20.ova'],
  // bad: inputs to refuse or handle with care (see FACTS.bad)
  'bad-truncated-vmdk': ['bad', 'truncated.vmdk'],
  'bad-missing-extent-vmdk': ['bad', 'missing-extent.vmdk'],
  'bad-missing-backing-qcow2': ['bad', 'missing-backing.qcow2'],
  'bad-json-backing-qcow2': ['bad', 'json-backing.qcow2'],
  'bad-magic-qcow2': ['bad', 'bad-magic.qcow2'],
  'bad-l1-qcow2': ['bad', 'bad-l1.qcow2'],
  'bad-not-an-image': ['bad', 'not-an-image.vmdk'],
  'bad-blank-qcow2': ['bad', 'blank.qcow2'],
  'bad-space-path': ['bad', 'with space/disk one.vmdk'],
  'bad-dash-path': ['bad', '-dash.vmdk'],
  'bad-evil-ova': ['bad', 'evil.ova'],
  'bad-evil-absolute-ova': ['bad', 'evil-absolute.ova'],
  'bad-evil-symlink-ova': ['bad', 'evil-symlink.ova'],
  'bad-xxe-ovf': ['bad', 'xxe.ovf'],
  'bad-entity-expansion-ovf': ['bad', 'entity-expansion.ovf'],
  // the bundled quick-start sample, committed in the repo
  'sample-vmdk': ['sample', 'sample-vm.vmdk'],
} as const satisfies Record<string, readonly [FixtureGroup | 'sample', string]>;

export type FixtureName = keyof typeof FILES;
export const FIXTURE_NAMES = Object.keys(FILES) as FixtureName[];

/** The group that builds a fixture ('sample' for the committed sample disk). */
export function fixtureGroup(name: FixtureName): FixtureGroup | 'sample' {
  return FILES[name][0];
}

/** Absolute path of a fixture (it may not be built yet: see ensureFixtures). */
export function fixturePath(name: FixtureName): string {
  const [group, file] = FILES[name];
  if (group === 'sample') return join(REPO_ROOT, 'assets', 'sample', file);
  return join(fixturesDir(), group, file);
}

/** Every fixture's absolute path, by name (computed when read, so H2K_FIXTURES_DIR is honoured). */
export const fixtures: { readonly [K in FixtureName]: string } = new Proxy({} as { [K in FixtureName]: string }, {
  get(_target, prop) {
    if (typeof prop === 'string' && prop in FILES) return fixturePath(prop as FixtureName);
    return undefined;
  },
  has: (_target, prop) => typeof prop === 'string' && prop in FILES,
  ownKeys: () => Object.keys(FILES),
  getOwnPropertyDescriptor: (_target, prop) =>
    typeof prop === 'string' && prop in FILES
      ? { enumerable: true, configurable: true, value: fixturePath(prop as FixtureName) }
      : undefined,
});

/** True when a group's folder is in place (build-all.sh renames it in only once complete). */
export function groupBuilt(group: FixtureGroup): boolean {
  return existsSync(join(fixturesDir(), group, '.stamp'));
}

/**
 * Builds the fixture groups (all by default) unless they are up to date: runs build-all.sh, which
 * is cached (about a second when nothing changed) and serialised by a lock in the cache folder.
 * The first build of everything takes a few minutes (see test/fixtures/README.md).
 */
export async function ensureFixtures(groups?: readonly FixtureGroup[]): Promise<void> {
  const args = [join(REPO_ROOT, 'test', 'fixtures', 'build-all.sh')];
  if (groups && groups.length > 0) args.push('--only', groups.join(','));
  await execa('bash', args, {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env: { H2K_FIXTURES_DIR: fixturesDir() },
  });
}

// ------------------------------------------------------------------------------------------------
// Facts
// ------------------------------------------------------------------------------------------------

export type ImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vpc' | 'vhdx' | 'vdi';
export type VmdkCreateType =
  | 'monolithicSparse'
  | 'streamOptimized'
  | 'twoGbMaxExtentSparse'
  | 'monolithicFlat'
  | 'twoGbMaxExtentFlat';

/** What `qemu-img info --output=json` says about an image. */
export interface ImageFact {
  /** The format to open it with (qemu-img's "format", with -f given). */
  format: ImageFormat;
  /** What qemu-img reports when it probes the format itself, when that differs. */
  probedFormat?: ImageFormat;
  /** "virtual-size" in bytes. */
  virtualSize: number;
  /** vmdk: format-specific.data.create-type. */
  createType?: VmdkCreateType;
  /** vmdk: format-specific.data.extents (file name and extent format as qemu-img prints them). */
  extents?: readonly { filename: string; format: '' | 'SPARSE' | 'FLAT'; compressed?: boolean }[];
  /** vpc: the VHD footer's disk type. */
  vhdType?: 'fixed' | 'dynamic';
  /** qcow2 overlays: "backing-filename" and "backing-filename-format". */
  backing?: { filename: string; format: ImageFormat };
  /** Which guest-visible bytes it carries (guests: same as the group's raw disk). */
  content: 'pattern' | 'pattern-overlay' | 'debian' | 'rhel' | 'twodisk-sda' | 'twodisk-sdb' | 'sample';
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PATTERN_SIZE = 64 * MiB;
const DEBIAN_SIZE = 2 * GiB;
const RHEL_SIZE = 2 * GiB;

const vmdk = (
  createType: VmdkCreateType,
  size: number,
  content: ImageFact['content'],
  extents: ImageFact['extents'],
): ImageFact => ({ format: 'vmdk', virtualSize: size, createType, extents, content });

export const FACTS = {
  /** Per image fixture: what qemu-img info reports. */
  images: {
    'pattern-raw': { format: 'raw', virtualSize: PATTERN_SIZE, content: 'pattern' },
    'pattern-qcow2': { format: 'qcow2', virtualSize: PATTERN_SIZE, content: 'pattern' },
    'pattern-overlay-qcow2': {
      format: 'qcow2',
      virtualSize: PATTERN_SIZE,
      backing: { filename: 'pattern.qcow2', format: 'qcow2' },
      content: 'pattern-overlay',
    },
    'pattern-overlay-raw': {
      format: 'qcow2',
      virtualSize: PATTERN_SIZE,
      backing: { filename: 'pattern.raw', format: 'raw' },
      content: 'pattern-overlay',
    },
    'pattern-vmdk-monolithicSparse': vmdk('monolithicSparse', PATTERN_SIZE, 'pattern', [
      { filename: 'pattern-monolithicSparse.vmdk', format: '' },
    ]),
    'pattern-vmdk-streamOptimized': vmdk('streamOptimized', PATTERN_SIZE, 'pattern', [
      { filename: 'pattern-streamOptimized.vmdk', format: '', compressed: true },
    ]),
    'pattern-vmdk-twoGbMaxExtentSparse': vmdk('twoGbMaxExtentSparse', PATTERN_SIZE, 'pattern', [
      { filename: 'pattern-twoGbMaxExtentSparse-s001.vmdk', format: 'SPARSE' },
    ]),
    'pattern-vmdk-monolithicFlat': vmdk('monolithicFlat', PATTERN_SIZE, 'pattern', [
      { filename: 'pattern-monolithicFlat-flat.vmdk', format: 'FLAT' },
    ]),
    'pattern-vmdk-twoGbMaxExtentFlat': vmdk('twoGbMaxExtentFlat', PATTERN_SIZE, 'pattern', [
      { filename: 'pattern-twoGbMaxExtentFlat-f001.vmdk', format: 'FLAT' },
    ]),
    // A fixed VHD has only a footer (at the end): qemu-img's probe sees raw, 512 bytes longer.
    'pattern-vhd-fixed': { format: 'vpc', probedFormat: 'raw', virtualSize: PATTERN_SIZE, vhdType: 'fixed', content: 'pattern' },
    'pattern-vhd-dynamic': { format: 'vpc', virtualSize: PATTERN_SIZE, vhdType: 'dynamic', content: 'pattern' },
    'pattern-vhdx': { format: 'vhdx', virtualSize: PATTERN_SIZE, content: 'pattern' },
    'pattern-vdi': { format: 'vdi', virtualSize: PATTERN_SIZE, content: 'pattern' },

    'debian-raw': { format: 'raw', virtualSize: DEBIAN_SIZE, content: 'debian' },
    'debian-qcow2': { format: 'qcow2', virtualSize: DEBIAN_SIZE, content: 'debian' },
    'debian-overlay-qcow2': {
      format: 'qcow2',
      virtualSize: DEBIAN_SIZE,
      backing: { filename: 'debian.qcow2', format: 'qcow2' },
      content: 'debian',
    },
    'debian-vmdk-monolithicSparse': vmdk('monolithicSparse', DEBIAN_SIZE, 'debian', [
      { filename: 'debian-monolithicSparse.vmdk', format: '' },
    ]),
    'debian-vmdk-streamOptimized': vmdk('streamOptimized', DEBIAN_SIZE, 'debian', [
      { filename: 'debian-streamOptimized.vmdk', format: '', compressed: true },
    ]),
    'debian-vmdk-twoGbMaxExtentSparse': vmdk('twoGbMaxExtentSparse', DEBIAN_SIZE, 'debian', [
      { filename: 'debian-twoGbMaxExtentSparse-s001.vmdk', format: 'SPARSE' },
    ]),
    'debian-vmdk-monolithicFlat': vmdk('monolithicFlat', DEBIAN_SIZE, 'debian', [
      { filename: 'debian-monolithicFlat-flat.vmdk', format: 'FLAT' },
    ]),
    'debian-vhdx': { format: 'vhdx', virtualSize: DEBIAN_SIZE, content: 'debian' },
    'debian-vhd': { format: 'vpc', virtualSize: DEBIAN_SIZE, vhdType: 'dynamic', content: 'debian' },

    'rhel-raw': { format: 'raw', virtualSize: RHEL_SIZE, content: 'rhel' },
    'rhel-vmdk': vmdk('monolithicSparse', RHEL_SIZE, 'rhel', [{ filename: 'rhel.vmdk', format: '' }]),
    'rhel-qcow2': { format: 'qcow2', virtualSize: RHEL_SIZE, content: 'rhel' },

    'twodisk-sda': vmdk('monolithicSparse', 512 * MiB, 'twodisk-sda', [{ filename: 'twodisk-sda.vmdk', format: '' }]),
    'twodisk-sdb': vmdk('monolithicSparse', 256 * MiB, 'twodisk-sdb', [{ filename: 'twodisk-sdb.vmdk', format: '' }]),

    'sample-vmdk': vmdk('streamOptimized', 256 * MiB, 'sample', [
      { filename: 'sample-vm.vmdk', format: '', compressed: true },
    ]),
  } satisfies Partial<Record<FixtureName, ImageFact>>,

  /** The pattern disk (mirrors pattern/pattern.json, which the build writes). */
  pattern: {
    virtualSize: PATTERN_SIZE,
    seed: 20240501,
    runs: 75,
    dataBytes: 15073435,
    /** sha256 of the 64 MiB of guest-visible bytes of every non-overlay pattern image. */
    sha256: '7e48c814418ad813d29b66b437ef0ad210f8bfcfda48975145557b6ada29813b',
    nonZeroBytes: 15009415,
    overlay: {
      /** sha256 of what both overlays show (pattern.raw plus the writes below). */
      sha256: '43afa67c497570bb1734c145c468c34541f9e5587442ddffd446897ddc3e70b7',
      nonZeroBytes: 15072800,
      writes: [
        'write -P 0xa5 0 4096',
        'write -P 0x5a 1048064 1024',
        'write -P 0x3c 2000001 777',
        'write -z 4194304 65536',
        'write -P 0xff 67043328 65536',
      ],
    },
  },

  debian: {
    virtualSize: DEBIAN_SIZE,
    distro: 'debian',
    majorVersion: 12,
    /**
     * libguestfs takes the product name and minor version from /etc/debian_version, the point
     * release current when the fixture was built (12.15 here): read fixtures['debian-debian-version'].
     */
    minorVersionFrom: 'debian-debian-version',
    osRelease: { ID: 'debian', VERSION_ID: '12', PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)' },
    osinfo: 'debian12',
    hostname: 'debian-vmware',
    arch: 'x86_64',
    packageFormat: 'deb',
    packageManagement: 'apt',
    /** Some of the ~160 packages inspection lists (the kernel is linux-image-<kernel-version>). */
    applicationsInclude: ['open-vm-tools', 'initramfs-tools', 'grub-pc-bin', 'ifupdown', 'systemd-sysv', 'udev', 'linux-image-amd64'],
    mountpoints: { '/': '/dev/sda1' },
    diskId: '0x5c6f1d3a',
    partitions: [
      { number: 1, start: 1 * MiB, size: 1792 * MiB, mbrType: 0x83, bootable: true, fs: 'ext4', label: 'debian-root', uuid: '5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e01' },
      { number: 2, start: 1793 * MiB, size: 255 * MiB, mbrType: 0x82, bootable: false, fs: 'swap', label: 'debian-swap', uuid: '5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e02' },
    ],
    mac: '00:50:56:8a:12:34',
    nic: 'ens192',
    fstab: { root: '/dev/sda1       /               ext4    errors=remount-ro 0       1', swap: '/dev/sda2       none            swap    sw              0       0' },
    grubCfg: '/boot/grub/grub.cfg',
    kernelCmdlineRoot: 'root=/dev/sda1',
    vmwareTools: ['/usr/bin/vmtoolsd', '/etc/vmware-tools'],
    /** Modules in /etc/initramfs-tools/modules (MODULES=list); the initramfs holds these... */
    initramfsIncludes: ['vmw_pvscsi', 'mptspi', 'mptsas', 'vmxnet3', 'ahci', 'ata_piix'],
    /** ...and none of these (checked with lsinitramfs at build time and in the tests). */
    initramfsExcludes: ['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci'],
    ova: {
      members: ['debian-vmware.ovf', 'debian-vmware.mf', 'debian-vmware-disk1.vmdk'],
      manifest: 'SHA256(file)= hex',
    },
  },

  rhel: {
    virtualSize: RHEL_SIZE,
    distro: 'rhel',
    majorVersion: 9,
    minorVersion: 4,
    productName: 'Red Hat Enterprise Linux 9.4 (Plow)',
    osinfo: 'rhel9.4',
    hostname: 'rhel9-vmware',
    arch: 'x86_64',
    packageFormat: 'rpm',
    packageManagement: 'dnf',
    kernelVersion: '5.14.0-427.13.1.el9_4.x86_64',
    vg: 'rhel',
    lvs: ['root', 'swap'],
    mountpoints: { '/': '/dev/rhel/root', '/boot': '/dev/sda1' },
    filesystems: {
      '/dev/rhel/root': { type: 'xfs', uuid: '7a1d0c2e-3b4f-4e5a-9c6d-8e7f0a1b2c3e' },
      '/dev/rhel/swap': { type: 'swap', uuid: '7a1d0c2e-3b4f-4e5a-9c6d-8e7f0a1b2c3f' },
      '/dev/sda1': { type: 'xfs', uuid: '7a1d0c2e-3b4f-4e5a-9c6d-8e7f0a1b2c3d' },
    },
    partitions: [
      { number: 1, start: 1 * MiB, size: 512 * MiB, mbrType: 0x83, bootable: true },
      { number: 2, start: 513 * MiB, size: RHEL_SIZE - 513 * MiB, mbrType: 0x8e, bootable: false },
    ],
    mac: '00:50:56:a1:9e:04',
    wwid: 'naa.6000c29b4e5f9a0c8d7e6f5a4b3c2d1e',
    selinux: 'SELINUX=enforcing',
    lvmFilter: 'filter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]',
    cmdline: 'root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap',
    blsEntry: '/boot/loader/entries/4f2a9c1e7d3b4a5e8f6c0d1b2a394857-5.14.0-427.13.1.el9_4.x86_64.conf',
    applications: ['NetworkManager', 'bash', 'kernel-core', 'lvm2', 'open-vm-tools', 'redhat-release', 'xfsprogs'],
  },

  twodisk: {
    distro: 'debian',
    majorVersion: 12,
    minorVersion: 5,
    /** libguestfs takes Debian's product name from /etc/debian_version. */
    productName: '12.5',
    osinfo: 'debian12',
    hostname: 'twodisk-vm',
    arch: 'x86_64',
    sdaSize: 512 * MiB,
    sdbSize: 256 * MiB,
    mountpoints: { '/': '/dev/sda1', '/srv/data': '/dev/sdb1' },
    rootUuid: '2d15c0a1-5b1e-4c3a-8f2e-6a7b8c9d0e11',
    dataUuid: '2d15c0a1-5b1e-4c3a-8f2e-6a7b8c9d0e12',
    dataLabel: 'data',
    mac: '00:50:56:b2:3c:4d',
  },

  ovf: {
    /** Folder, descriptor name, disks (file and capacity in bytes), OVA member order, manifest. */
    dialects: {
      ovftool: {
        ovfVersion: '1.0',
        disks: [{ href: 'sample-vm-disk1.vmdk', capacity: 1 * GiB }],
        capacityUnits: 'byte * 2^30',
        firmware: 'efi',
        virtualSystemType: 'vmx-19',
        ovaMembers: ['sample-vm.ovf', 'sample-vm.mf', 'sample-vm-disk1.vmdk'],
        manifestLine: /^SHA256\((?<file>[^)]+)\)= (?<hex>[0-9a-f]{64})$/,
      },
      vcenter: {
        ovfVersion: '1.0',
        disks: [{ href: 'sample-vm-1.vmdk', capacity: 256 * MiB }],
        capacityUnits: 'byte * 2^20',
        firmware: 'bios',
        virtualSystemType: 'vmx-19',
        ovaMembers: ['sample-vm.ovf', 'sample-vm.mf', 'sample-vm-1.vmdk', 'sample-vm-2.nvram'],
        manifestLine: /^SHA1\((?<file>[^)]+)\)= (?<hex>[0-9a-f]{40})$/,
      },
      vbox10: {
        ovfVersion: '1.0',
        disks: [{ href: 'sample-vm-disk001.vmdk', capacity: 256 * MiB }],
        capacityUnits: undefined,
        firmware: 'bios',
        virtualSystemType: 'virtualbox-2.2',
        ovaMembers: ['sample-vm.ovf', 'sample-vm-disk001.vmdk', 'sample-vm.mf'],
        manifestLine: /^SHA1 \((?<file>[^)]+)\) = (?<hex>[0-9a-f]{40})$/,
      },
      vbox20: {
        ovfVersion: '2.0',
        disks: [
          { href: 'sample-vm-disk001.vmdk', capacity: 256 * MiB },
          { href: 'sample-vm-disk002.vmdk', capacity: 64 * MiB },
        ],
        capacityUnits: undefined,
        firmware: 'efi',
        virtualSystemType: 'virtualbox-2.2',
        ovaMembers: ['sample-vm.ovf', 'sample-vm-disk001.vmdk', 'sample-vm-disk002.vmdk', 'sample-vm.mf'],
        manifestLine: /^SHA256 \((?<file>[^)]+)\) = (?<hex>[0-9a-f]{64})$/,
      },
    },
    vmName: 'sample-vm',
  },

  bad: {
    evilMembers: { 'bad-evil-ova': '../evil.vmdk', 'bad-evil-absolute-ova': '/tmp/h2k-evil.vmdk', 'bad-evil-symlink-ova': 'evil.vmdk' },
    evilSymlinkTarget: '/etc/passwd',
    missingExtent: 'missing-extent-s001.vmdk',
    missingBacking: 'does-not-exist.qcow2',
    jsonBacking: 'json:{"driver":"raw","file":{"driver":"file","filename":"/etc/passwd"}}',
    blankSize: 1 * GiB,
    truncatedFrom: 'pattern-monolithicSparse.vmdk',
  },

  sample: {
    virtualSize: 256 * MiB,
    /** sha256 of the 256 MiB of guest-visible bytes (the build is deterministic). */
    guestSha256: 'b3919dfb0a449aef81e6ae82e6eeff88c72c7907f876777bda34abefb84fa5eb',
    /** sha256 of the committed .vmdk file itself (fixed CID, deterministic compression). */
    fileSha256: 'b02bd1e23515c66f810079f48d5c59a0c22467a363dfe1451788645e1e3f85b3',
    distro: 'debian',
    majorVersion: 12,
    hostname: 'sample-vm',
    rootUuid: '0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d',
    mac: '00:50:56:9c:5a:01',
    partitions: [{ number: 1, start: 1 * MiB, size: 255 * MiB, mbrType: 0x83, bootable: true, fs: 'ext4', label: 'sample-root' }],
  },
} as const;
