/**
 * Guest configuration parsers, over the files the fixture guests carry (test/fixtures/debian-
 * customize.sh, rhel.sh, twodisk.sh write them) and a few written for the edge cases.
 */
import { describe, expect, it } from 'vitest';
import {
  blsCmdlines,
  defaultGrubCmdlines,
  deviceNaming,
  deviceRefsOf,
  grubCfgCmdlines,
  grubLegacyCmdlines,
  kernelCmdlineFile,
  lvmFilterAccepts,
  parseCrypttab,
  parseDevicesFile,
  parseFstab,
  parseLvmConf,
  parseSelinuxConfig,
  splitCmdline,
  targetDeviceName,
} from '../../../electron/engine/guest/config';

const DEBIAN_FSTAB = `# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
/dev/sda1       /               ext4    errors=remount-ro 0       1
/dev/sda2       none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto 0       0
`;

const RHEL_FSTAB = `
#
# /etc/fstab
# Created by anaconda on Wed May  1 00:00:00 2024
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
/dev/sda1               /boot                   xfs     defaults        0 0
/dev/mapper/rhel-swap   none                    swap    defaults        0 0
`;

const RHEL_LVM_CONF = `# This is an example configuration file for the LVM2 system.
# (trimmed: only the settings this system changed from the defaults)
config {
	checks = 1
	abort_on_errors = 0
}
devices {
	dir = "/dev"
	scan = [ "/dev" ]
	# Only the VMware boot disk holds LVM PVs on this host.
	filter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]
	use_devicesfile = 1
	devicesfile = "system.devices"
}
global {
	use_lvmlockd = 0
	system_id_source = "none"
}
`;

describe('deviceNaming', () => {
  it.each([
    ['/dev/sda1', 'kernel_name'],
    ['/dev/hdb', 'kernel_name'],
    ['/dev/vda2', 'kernel_name'],
    ['/dev/xvda1', 'kernel_name'],
    ['/dev/nvme0n1p2', 'kernel_name'],
    ['/dev/sr0', 'kernel_name'],
    ['/dev/disk/by-path/pci-0000:03:00.0-scsi-0:0:0:0-part1', 'by_path'],
    ['/dev/disk/by-id/scsi-36000c29b4e5f9a0c8d7e6f5a4b3c2d1e-part1', 'by_id'],
    ['/dev/disk/by-uuid/5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e01', 'by_uuid'],
    ['/dev/disk/by-label/data', 'by_label'],
    ['/dev/disk/by-partuuid/5c6f1d3a-01', 'by_partuuid'],
    ['UUID=5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e01', 'uuid'],
    ['LABEL=data', 'label'],
    ['PARTUUID=5c6f1d3a-01', 'partuuid'],
    ['PARTLABEL=root', 'partlabel'],
    ['/dev/mapper/rhel-root', 'mapper'],
    ['/dev/rhel/root', 'lvm'],
    ['/dev/md0', 'md'],
    ['/dev/md/root', 'md'],
    ['tmpfs', 'other'],
    ['server:/export', 'other'],
  ])('%s is %s', (spec, naming) => {
    expect(deviceNaming(spec)).toBe(naming);
  });
});

describe('fstab and crypttab', () => {
  it('Debian fixture: line numbers, fields and naming', () => {
    const e = parseFstab(DEBIAN_FSTAB);
    expect(e.map((x) => [x.line, x.spec, x.mountpoint, x.fstype, x.options, x.naming])).toEqual([
      [4, '/dev/sda1', '/', 'ext4', 'errors=remount-ro', 'kernel_name'],
      [5, '/dev/sda2', 'none', 'swap', 'sw', 'kernel_name'],
      [6, '/dev/sr0', '/media/cdrom0', 'udf,iso9660', 'user,noauto', 'kernel_name'],
    ]);
    expect(e[0]!.text).toBe('/dev/sda1       /               ext4    errors=remount-ro 0       1');
  });

  it('RHEL fixture: mapper names and one kernel name', () => {
    expect(parseFstab(RHEL_FSTAB).map((x) => [x.line, x.naming])).toEqual([
      [6, 'mapper'],
      [7, 'kernel_name'],
      [8, 'mapper'],
    ]);
  });

  it('crypttab', () => {
    const c = parseCrypttab('# name device keyfile options\nluks-root /dev/sda3 none luks\nluks-data UUID=0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d none luks,discard\n');
    expect(c.map((x) => [x.line, x.name, x.device, x.naming])).toEqual([
      [2, 'luks-root', '/dev/sda3', 'kernel_name'],
      [3, 'luks-data', 'UUID=0b5e7a1c-2d3f-4a5b-8c6d-7e8f9a0b1c2d', 'uuid'],
    ]);
  });
});

describe('kernel command lines', () => {
  it('splits like the kernel and finds device parameters', () => {
    expect(splitCmdline('root=/dev/sda1 ro  quiet foo="a b"')).toEqual(['root=/dev/sda1', 'ro', 'quiet', 'foo=a b']);
    expect(deviceRefsOf('root=/dev/mapper/rhel-root ro resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root')).toEqual([
      { param: 'root', value: '/dev/mapper/rhel-root', naming: 'mapper' },
      { param: 'resume', value: '/dev/mapper/rhel-swap', naming: 'mapper' },
    ]);
    expect(deviceRefsOf('root=UUID=5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e01 resume=/dev/sda2 cryptdevice=/dev/sdb1:root')).toEqual([
      { param: 'root', value: 'UUID=5c6f1d3a-7a52-4d58-9a77-0b1f3a9c2e01', naming: 'uuid' },
      { param: 'resume', value: '/dev/sda2', naming: 'kernel_name' },
      { param: 'cryptdevice', value: '/dev/sdb1', naming: 'kernel_name' },
    ]);
    expect(deviceRefsOf('root=$root ro')).toEqual([]);
  });

  it('grub.cfg linux lines (Debian fixture), GRUB legacy, /etc/default/grub, BLS, /etc/kernel/cmdline', () => {
    const cfg = "menuentry 'Debian GNU/Linux' {\n\tinsmod ext2\n\tlinux\t/boot/vmlinuz-6.1.0-21-amd64 root=/dev/sda1 ro  quiet\n\tinitrd\t/boot/initrd.img-6.1.0-21-amd64\n}\n";
    expect(grubCfgCmdlines(cfg)).toEqual([{ line: 3, text: '\tlinux\t/boot/vmlinuz-6.1.0-21-amd64 root=/dev/sda1 ro  quiet', params: 'root=/dev/sda1 ro  quiet' }]);
    expect(grubLegacyCmdlines('title CentOS\n\tkernel /vmlinuz-2.6.32 ro root=/dev/VolGroup/lv_root rhgb\n').map((l) => l.params)).toEqual(['ro root=/dev/VolGroup/lv_root rhgb']);
    const def = 'GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root"\n';
    expect(defaultGrubCmdlines(def).map((l) => [l.line, l.params])).toEqual([
      [2, 'quiet'],
      [3, 'crashkernel=auto resume=/dev/mapper/rhel-swap rd.lvm.lv=rhel/root'],
    ]);
    expect(blsCmdlines('title RHEL\nversion 5.14.0\nlinux /vmlinuz-5.14.0\noptions root=/dev/mapper/rhel-root ro $tuned_params\n')).toEqual([{ line: 4, text: 'options root=/dev/mapper/rhel-root ro $tuned_params', params: 'root=/dev/mapper/rhel-root ro $tuned_params' }]);
    expect(kernelCmdlineFile('root=/dev/sda2 ro\n').map((l) => l.params)).toEqual(['root=/dev/sda2 ro']);
  });
});

describe('SELinux config', () => {
  it('mode, policy and the line', () => {
    const r = parseSelinuxConfig('\n# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n');
    expect(r).toEqual({ mode: 'enforcing', policy: 'targeted', modeLine: { line: 3, text: 'SELINUX=enforcing' } });
    expect(parseSelinuxConfig('SELINUX=Permissive\n').mode).toBe('permissive');
    expect(parseSelinuxConfig('# SELINUX=enforcing\n').mode).toBeNull();
  });
});

describe('LVM', () => {
  it('lvm.conf of the RHEL fixture: filter and use_devicesfile inside devices { }', () => {
    const c = parseLvmConf(RHEL_LVM_CONF);
    expect(c.filter).toEqual({ line: 11, text: '\tfilter = [ "a|^/dev/sda[0-9]*$|", "r|.*|" ]', patterns: ['a|^/dev/sda[0-9]*$|', 'r|.*|'] });
    expect(c.useDevicesFile).toBe(true);
    expect(c.useDevicesFileLine?.line).toBe(12);
    expect(c.globalFilter).toBeNull();
  });

  it('filters over several lines, comments and settings outside devices { } are ignored', () => {
    const c = parseLvmConf('global {\n filter = [ "r|.*|" ]\n}\ndevices {\n # filter = [ "r|.*|" ]\n global_filter = [ "a|/dev/vd.*|",\n   "r|.*|" ] # pinned\n use_devicesfile = 0\n}\n');
    expect(c.filter).toBeNull();
    expect(c.globalFilter?.patterns).toEqual(['a|/dev/vd.*|', 'r|.*|']);
    expect(c.globalFilter?.line).toBe(6);
    expect(c.useDevicesFile).toBe(false);
  });

  it('filter semantics: the first matching pattern decides, no match accepts', () => {
    const p = ['a|^/dev/sda[0-9]*$|', 'r|.*|'];
    expect(lvmFilterAccepts(p, '/dev/sda2')).toBe(true);
    expect(lvmFilterAccepts(p, '/dev/vda2')).toBe(false);
    expect(lvmFilterAccepts(['r/loop/'], '/dev/vda2')).toBe(true);
    expect(lvmFilterAccepts([], '/dev/vda2')).toBe(true);
  });

  it('the devices file of the RHEL fixture', () => {
    const text = '# LVM uses devices listed in this file.\n# Created by LVM command vgimportdevices pid 1024 at Wed May  1 00:00:00 2024\nVERSION=1.1.1\nIDTYPE=sys_wwid IDNAME=naa.6000c29b4e5f9a0c8d7e6f5a4b3c2d1e DEVNAME=/dev/sda2 PVID=abcdefghijklmnopqrstuvwxyz012345 PART=2\n';
    expect(parseDevicesFile(text)).toEqual([
      { line: 4, text: text.split('\n')[3], idtype: 'sys_wwid', idname: 'naa.6000c29b4e5f9a0c8d7e6f5a4b3c2d1e', devname: '/dev/sda2', pvid: 'abcdefghijklmnopqrstuvwxyz012345' },
    ]);
  });

  it('device names on the target bus', () => {
    expect(targetDeviceName('/dev/sda2', 'virtio-blk')).toBe('/dev/vda2');
    expect(targetDeviceName('/dev/sdb', 'virtio-scsi')).toBe('/dev/sdb');
    expect(targetDeviceName('/dev/sdb1', 'sata')).toBe('/dev/sdb1');
    expect(targetDeviceName('/dev/mapper/x', 'virtio-blk')).toBe('/dev/mapper/x');
  });
});
