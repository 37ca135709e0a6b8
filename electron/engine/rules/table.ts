/**
 * THE rule table: every finding the inspection can raise, as data. A rule has a stable id, a
 * default severity, a title, the scope it looks at (the report, each disk, each OS root), a
 * small pure check over the facts (predicates.ts) and its remediation: the operation and
 * parameters that fix it (params less `disks`, validated against the operation's schema by
 * the engine), or manual steps. docs/inspection.md documents each row.
 *
 * A check returns null (rule not raised) or a hit: its evidence, and where the fix depends on
 * the facts, the parameters merged over the row's static ones, or a severity that depends on
 * the target (e.g. /dev/sdX names break on virtio-blk, merely fragile on SATA).
 */
import type { DiskReport, Evidence, Finding, GuestFacts, InspectionReport, OperationType, OsRoot, Severity, TargetProfile } from '../../../shared/protocol';
import {
  bootUnstable,
  crypttabUnstable,
  devicesFilePinned,
  diskError,
  filterRejects,
  fstabUnstable,
  initramfsMissing,
  initramfsUnreadable,
  kernelLacksDrivers,
  lowSpace,
  macPins,
  toolsOf,
  vmwareNicNames,
} from './predicates';

/** Everything a rule may look at. `findings` are those raised by the rows above it. */
export interface RuleInput {
  report: Pick<InspectionReport, 'disks' | 'packages' | 'guest' | 'destination'>;
  target: TargetProfile;
  findings: readonly Finding[];
}

export interface Hit {
  evidence: Evidence[];
  params?: Record<string, unknown>;
  severity?: Severity;
}

export type RuleRemedy =
  | { kind: 'operation'; operation: Exclude<OperationType, 'inspect' | 'convert'>; params: Record<string, unknown>; summary: string }
  | { kind: 'manual'; steps: string[]; summary: string };

interface Base {
  id: string;
  severity: Severity;
  title: string;
  remediation: RuleRemedy;
}
export type Rule =
  | (Base & { scope: 'report'; check: (i: RuleInput) => Hit | null })
  | (Base & { scope: 'disk'; check: (d: DiskReport, i: RuleInput) => Hit | null })
  | (Base & { scope: 'root'; check: (r: OsRoot, i: RuleInput) => Hit | null });

const hit = (evidence: Evidence[], extra: Omit<Hit, 'evidence'> = {}): Hit | null => (evidence.length ? { evidence, ...extra } : null);
const fact = (text: string): Evidence => ({ kind: 'fact', text });
const isLinux = (r: OsRoot) => r.type === 'linux';
const onVirtioBlk = (t: TargetProfile): Severity => (t.disk_bus === 'virtio-blk' ? 'blocker' : 'warning');
/** Effective firmware of a root: its own evidence, else what the OVF descriptor says. */
const firmwareOf = (r: OsRoot, i: RuleInput): 'bios' | 'uefi' | 'unknown' =>
  r.firmware.kind !== 'unknown' ? r.firmware.kind : (i.report.packages.find((p) => p.hardware.firmware)?.hardware.firmware ?? 'unknown');
const guestUsesLvm = (g: GuestFacts) => g.lvm.lvs.length > 0;
/** Image-layer error codes a rule of their own raises; `image-unreadable` raises any other. */
const CODES_WITH_OWN_RULE = new Set<string>();
const ownCodes = (...codes: string[]): string[] => {
  for (const c of codes) CODES_WITH_OWN_RULE.add(c);
  return codes;
};
/** The check of a disk rule raised by these image-layer error codes (registered as having their own rule). */
const onDiskError = (...codes: string[]) => {
  const own = ownCodes(...codes);
  return (d: DiskReport) => hit(diskError(d, own));
};
const CORRUPT_CODES = ownCodes('image_corrupt', 'not_an_image');
const REPAIRS_THAT_WRITE: ReadonlySet<string> = new Set(['offline_fix', 'boot_repair', 'lvm_repair', 'initramfs_regen', 'fs_repair']);

export const RULES: readonly Rule[] = [
  // --- the image files --------------------------------------------------------------------------
  {
    id: 'extent-missing',
    scope: 'disk',
    severity: 'blocker',
    title: 'A vmdk extent file is missing',
    check: onDiskError('extent_missing'),
    remediation: { kind: 'manual', summary: 'Copy the missing extent files.', steps: ['Copy every -sNNN.vmdk / -flat.vmdk file of the disk from the source datastore next to its descriptor, keeping their names.', 'Inspect again.'] },
  },
  {
    id: 'backing-missing',
    scope: 'disk',
    severity: 'blocker',
    title: 'A file of the backing chain (parent disk or snapshot) is missing',
    check: onDiskError('backing_missing'),
    remediation: { kind: 'manual', summary: 'Copy the whole chain.', steps: ['Copy the whole VM folder, parent disks and snapshot files included, keeping their names and relative places.', 'Inspect again.'] },
  },
  {
    id: 'backing-refused',
    scope: 'disk',
    severity: 'blocker',
    title: 'The backing file is a json: or network reference',
    check: onDiskError('backing_refused'),
    remediation: { kind: 'manual', summary: 'Flatten or rebase onto a local file.', steps: ['Rebase the image onto a local file (qemu-img rebase -b PARENT -F FORMAT IMAGE) or flatten it on the source (qemu-img convert).', 'Inspect again.'] },
  },
  {
    id: 'image-truncated',
    scope: 'disk',
    severity: 'blocker',
    title: 'The disk image was cut off',
    check: onDiskError('image_truncated'),
    remediation: { kind: 'manual', summary: 'Copy the disk again.', steps: ['Compare the file size with the original on the source.', 'Copy the disk again from the source hypervisor, then inspect again.'] },
  },
  {
    id: 'image-corrupt',
    scope: 'disk',
    severity: 'blocker',
    title: 'The disk image is corrupt',
    check: (d) => {
      const e = diskError(d, CORRUPT_CODES);
      if (e.length) return { evidence: e };
      if (d.image?.integrity.checked && d.image.integrity.ok === false) {
        const i = d.image.integrity;
        return { evidence: [fact(`qemu-img check: ${i.corruptions} corruption(s), ${i.check_errors} check error(s)${i.detail ? `: ${i.detail.split('\n')[0]}` : ''}`)] };
      }
      return null;
    },
    remediation: { kind: 'manual', summary: 'Take the disk again from the source.', steps: ['Export or copy the disk again from the source hypervisor.', 'If the source copy is corrupt too, repair it there (VMware: vmkfstools -x check/repair) before moving it.'] },
  },
  {
    id: 'image-encrypted',
    scope: 'disk',
    severity: 'blocker',
    title: 'The disk image is encrypted',
    check: onDiskError('image_encrypted'),
    remediation: { kind: 'manual', summary: 'Decrypt on the source.', steps: ['Remove the VM encryption on the source hypervisor (VMware: VM Encryption policy; VirtualBox: disk encryption), then export again.'] },
  },
  {
    id: 'image-unreadable',
    scope: 'disk',
    severity: 'blocker',
    title: 'The disk image cannot be read',
    check: (d) => (d.error && !CODES_WITH_OWN_RULE.has(d.error.code) ? hit(diskError(d, [d.error.code])) : null),
    remediation: { kind: 'manual', summary: 'Check the file.', steps: ['Read the error detail; check permissions and that the file is complete.', 'Inspect again.'] },
  },
  {
    id: 'image-in-use',
    scope: 'disk',
    severity: 'blocker',
    title: 'The disk is in use by another process (a running VM holds its lock)',
    check: (d) => {
      if (!d.image?.in_use) return null;
      // The image layer's note says how it is known (qemu-img's refusal, or the /proc/locks line).
      const how = d.image.notes.find((n) => n.startsWith('in use by another process: '));
      return { evidence: [{ kind: 'fact', file: d.image.path, text: how ?? 'in use by another process (a running VM, qemu-nbd, qemu-io holds its write lock)' }] };
    },
    remediation: {
      kind: 'manual',
      summary: 'Shut the VM down / stop the process before converting.',
      steps: [
        'Shut the VM down from inside the guest (not suspend), or stop the process that has the disk open (`fuser -v DISK` or `lsof DISK` names it).',
        'A disk copied while it is written is inconsistent: convert only once nothing holds it, then inspect again.',
      ],
    },
  },
  {
    id: 'image-not-clean',
    scope: 'disk',
    severity: 'warning',
    title: 'The disk image was not cleanly closed (dirty flag or log to replay)',
    check: (d) => (d.image?.dirty ? { evidence: [{ kind: 'fact', file: d.image.path, text: `${d.image.format} image is marked dirty: the VM or a tool did not close it cleanly` }] } : null),
    remediation: { kind: 'manual', summary: 'Shut the VM down cleanly on the source.', steps: ['Power the VM on on the source hypervisor and shut it down from inside the guest (not suspend, not power off).', 'Copy or export the disk again, then inspect again.'] },
  },
  {
    id: 'image-has-snapshots',
    scope: 'disk',
    severity: 'info',
    title: 'The image holds internal snapshots; only the current state is converted',
    check: (d) => (d.image && d.image.snapshots.length ? { evidence: d.image.snapshots.map((s) => fact(`snapshot ${s.id} "${s.name}"${s.date ? ` of ${s.date}` : ''}`)) } : null),
    remediation: { kind: 'manual', summary: 'Decide about the snapshots before converting.', steps: ['If an older snapshot is the state to migrate, revert to it on the source first.', 'Otherwise nothing to do: the conversion copies the current state.'] },
  },

  // --- destination and appliance ------------------------------------------------------------------
  {
    id: 'dest-no-space',
    scope: 'report',
    severity: 'blocker',
    title: 'Not enough free space at the destination for the converted disks',
    check: (i) => {
      const d = i.report.destination;
      if (!d || d.enough !== false) return null;
      return { evidence: [fact(`${d.path}: ${d.free_bytes} bytes free, the converted qcow2 disks need ${d.required_bytes} bytes (qemu-img measure)`)] };
    },
    remediation: { kind: 'manual', summary: 'Free space or choose another destination.', steps: ['Free space at the destination, or choose a destination with at least the needed bytes free.', 'Inspect again with --dest to confirm.'] },
  },
  {
    id: 'guest-not-inspected',
    scope: 'report',
    severity: 'warning',
    title: 'The guest could not be inspected: what breaks inside it is unknown',
    check: (i) => (i.report.guest.status === 'unavailable' || i.report.guest.status === 'failed' ? { evidence: [fact(i.report.guest.reason ?? i.report.guest.status)] } : null),
    remediation: { kind: 'manual', summary: 'Make the libguestfs appliance work, then inspect again.', steps: ['Run `h2k-worker capabilities --refresh` and follow its hint for the appliance.', '`libguestfs-test-tool` shows the full story.', 'Inspect again.'] },
  },
  {
    id: 'no-operating-system',
    scope: 'report',
    severity: 'info',
    title: 'No operating system found on these disks',
    check: (i) => (i.report.guest.status === 'inspected' && i.report.guest.roots.length === 0 ? { evidence: [fact(`${i.report.guest.filesystems.length} filesystem(s), no OS root`)] } : null),
    remediation: { kind: 'manual', summary: 'Inspect the data disk together with its system disk.', steps: ['If this is a data disk, inspect it together with the VM\'s system disk (all disks in one inspection).', 'If the disk should hold an OS, it may be blank or unreadable: check the source.'] },
  },
  {
    id: 'multiple-os-roots',
    scope: 'report',
    severity: 'warning',
    title: 'The disks hold more than one operating system',
    check: (i) => (i.report.guest.roots.length > 1 ? { evidence: i.report.guest.roots.map((r) => fact(`${r.root}: ${r.product_name ?? r.type}`)) } : null),
    remediation: { kind: 'manual', summary: 'Each OS is reported on its own; repairs must name the one to change.', steps: ['Decide which OS the VM boots on KVM.', 'Apply the repairs listed for that root only.'] },
  },
  {
    id: 'luks-volume',
    scope: 'report',
    severity: 'warning',
    title: 'Encrypted (LUKS) volumes: repairs cannot reach inside them',
    check: (i) => hit(i.report.guest.filesystems.filter((f) => f.encryption === 'luks').map((f) => fact(`${f.device} is crypto_LUKS${f.uuid ? ` (UUID ${f.uuid})` : ''}`))),
    remediation: { kind: 'manual', summary: 'Have the passphrase ready; repair inside the volume by hand.', steps: ['The encrypted data is copied as is; files inside it cannot be inspected or repaired offline.', 'Have the passphrase (or a key slot) ready for the first boot on KVM; check /etc/crypttab names the volume by UUID.'] },
  },
  {
    id: 'bitlocker-volume',
    scope: 'report',
    severity: 'blocker',
    title: 'BitLocker volumes: Windows will ask for the recovery key on KVM',
    check: (i) => hit(i.report.guest.filesystems.filter((f) => f.encryption === 'bitlocker').map((f) => fact(`${f.device} has the BitLocker (-FVE-FS-) signature`))),
    remediation: { kind: 'manual', summary: 'Suspend BitLocker before exporting.', steps: ['In the guest, suspend protection: `manage-bde -protectors -disable C: -RebootCount 0` (or decrypt: `manage-bde -off C:`).', 'Keep the recovery key at hand, then shut down and export again.'] },
  },
  {
    id: 'filesystem-dirty',
    scope: 'report',
    severity: 'warning',
    title: 'Filesystems were not cleanly unmounted',
    check: (i) => {
      const dirty = i.report.guest.filesystems.filter((f) => f.dirty === true);
      return hit(dirty.map((f) => fact(`${f.device} (${f.type}): ${f.dirty_evidence ?? 'dirty'}`)), { params: { filesystems: dirty.map((f) => f.device) } });
    },
    remediation: { kind: 'operation', operation: 'fs_repair', params: {}, summary: 'Check and repair the filesystems of the converted copy.' },
  },

  // --- each Linux root ------------------------------------------------------------------------------
  {
    id: 'fstab-device-names',
    scope: 'root',
    severity: 'blocker',
    title: '/etc/fstab names disks by kernel name, by-path or by-id',
    check: (r, i) => (isLinux(r) ? hit(fstabUnstable(r), { severity: onVirtioBlk(i.target) }) : null),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['fstab_by_uuid'] }, summary: 'Rewrite /etc/fstab to UUID= names.' },
  },
  {
    id: 'crypttab-device-names',
    scope: 'root',
    severity: 'blocker',
    title: '/etc/crypttab names disks by kernel name, by-path or by-id',
    check: (r, i) => (isLinux(r) ? hit(crypttabUnstable(r), { severity: onVirtioBlk(i.target) }) : null),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['crypttab_by_uuid'] }, summary: 'Rewrite /etc/crypttab to UUID= names.' },
  },
  {
    id: 'boot-device-names',
    scope: 'root',
    severity: 'blocker',
    title: 'The bootloader or kernel command line names the root or resume device by kernel name',
    check: (r, i) => {
      if (!isLinux(r)) return null;
      const b = bootUnstable(r);
      return hit(b.evidence, { params: { fixes: b.fixes }, severity: onVirtioBlk(i.target) });
    },
    remediation: { kind: 'operation', operation: 'boot_repair', params: {}, summary: 'Point the bootloader and kernel command line at UUIDs.' },
  },
  {
    id: 'initramfs-missing-virtio',
    scope: 'root',
    severity: 'blocker',
    title: "The initramfs lacks the virtio drivers the target's disk bus needs",
    check: (r, i) => {
      if (!isLinux(r)) return null;
      const m = initramfsMissing(r, i.target);
      return hit(m.evidence, { params: { drivers: m.drivers, kernels: m.kernels } });
    },
    remediation: { kind: 'operation', operation: 'initramfs_regen', params: {}, summary: 'Rebuild the initramfs with the virtio drivers.' },
  },
  {
    id: 'kernel-lacks-virtio',
    scope: 'root',
    severity: 'blocker',
    title: "A kernel has no driver for the target's disk bus at all",
    check: (r, i) => (isLinux(r) ? hit(kernelLacksDrivers(r, i.target)) : null),
    remediation: { kind: 'manual', summary: 'Install a kernel with virtio drivers, or pick another disk bus.', steps: ['On the source, install a kernel that ships virtio_blk/virtio_scsi (every mainstream distribution kernel does) and make it the default.', 'Or convert with --target sata, which needs no virtio driver to boot.'] },
  },
  {
    id: 'initramfs-unreadable',
    scope: 'root',
    severity: 'warning',
    title: 'An initramfs could not be listed; its drivers are unknown',
    check: (r) => (isLinux(r) ? hit(initramfsUnreadable(r)) : null),
    remediation: {
      kind: 'manual',
      summary: 'Install the missing decompressor, or regenerate a damaged initramfs.',
      steps: [
        'When the evidence names a compression this machine cannot undo (zstd, xz, lz4, bzip2), install it here (zstd, xz-utils, lz4, bzip2) and inspect again.',
        'When it says "unrecognised data", the file is no initramfs any tool here can read (damaged, truncated, or a placeholder): regenerate it (initramfs_regen) on the converted copy.',
      ],
    },
  },
  {
    id: 'linux-no-kernel',
    scope: 'root',
    severity: 'warning',
    title: 'No kernel found in /boot',
    check: (r) => (isLinux(r) && r.kernels.length === 0 ? { evidence: [fact('no vmlinuz-* in /boot')] } : null),
    remediation: { kind: 'manual', summary: 'Check how this guest boots.', steps: ['The guest may boot a kernel from elsewhere (PXE, a separate /boot not attached): attach every disk of the VM and inspect again.', 'Otherwise install a kernel on the source before migrating.'] },
  },
  {
    id: 'vmware-tools',
    scope: 'root',
    severity: 'warning',
    title: 'VMware Tools are installed',
    check: (r) => hit(toolsOf(r, 'vmware')),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['remove_vmware_tools'] }, summary: 'Remove VMware Tools (they fail and log errors on KVM).' },
  },
  {
    id: 'hyperv-tools',
    scope: 'root',
    severity: 'warning',
    title: 'Hyper-V integration services are installed',
    check: (r) => hit(toolsOf(r, 'hyperv')),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['remove_hyperv_tools'] }, summary: 'Remove the Hyper-V daemons.' },
  },
  {
    id: 'virtualbox-tools',
    scope: 'root',
    severity: 'warning',
    title: 'VirtualBox Guest Additions are installed',
    check: (r) => hit(toolsOf(r, 'virtualbox')),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['remove_vbox_tools'] }, summary: 'Remove the VirtualBox Guest Additions.' },
  },
  {
    id: 'network-mac-pinned',
    scope: 'root',
    severity: 'warning',
    title: "Network configuration is pinned to the old NIC's MAC address",
    check: (r) => (isLinux(r) ? hit(macPins(r)) : null),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['unpin_network_mac'] }, summary: 'Drop the MAC matches so the configuration applies to the virtio NIC.' },
  },
  {
    id: 'network-vmware-nic-name',
    scope: 'root',
    severity: 'warning',
    title: 'Network configuration names a VMware NIC (ens192, ens160, ...) that KVM will not have',
    check: (r) => (isLinux(r) ? hit(vmwareNicNames(r)) : null),
    remediation: { kind: 'operation', operation: 'offline_fix', params: { fixes: ['unpin_network_mac'] }, summary: 'Unpin the interface names so the configuration applies to the virtio NIC.' },
  },
  {
    id: 'lvm-devices-file',
    scope: 'root',
    severity: 'blocker',
    title: 'The LVM devices file lists only the old disks: LVM will ignore the PVs on KVM',
    check: (r, i) => (isLinux(r) ? hit(devicesFilePinned(r, guestUsesLvm(i.report.guest))) : null),
    remediation: { kind: 'operation', operation: 'lvm_repair', params: { fixes: ['reset_devices_file'] }, summary: 'Recreate the devices file for the new disks.' },
  },
  {
    id: 'lvm-filter-rejects-target',
    scope: 'root',
    severity: 'blocker',
    title: "lvm.conf's filter rejects the disks under their names on the target",
    check: (r, i) => (isLinux(r) && guestUsesLvm(i.report.guest) ? hit(filterRejects(r, i.report.guest.lvm.pvs.map((p) => p.device), i.target)) : null),
    remediation: { kind: 'operation', operation: 'lvm_repair', params: { fixes: ['relax_filter'] }, summary: 'Relax the filter so the PVs are found on the new bus.' },
  },
  {
    id: 'uefi-without-ovmf',
    scope: 'root',
    severity: 'blocker',
    title: 'The guest boots with UEFI but the target profile has no OVMF (BIOS)',
    check: (r, i) => (firmwareOf(r, i) === 'uefi' && i.target.firmware === 'bios' ? { evidence: [...r.firmware.evidence.map(fact), fact('target firmware: bios')] } : null),
    remediation: { kind: 'manual', summary: 'Install OVMF on the target and boot the VM with UEFI.', steps: ['Install OVMF on the KVM host (Debian/Ubuntu: apt install ovmf; RHEL/Fedora: dnf install edk2-ovmf).', 'Define the VM with UEFI firmware (virt-install --boot uefi) and inspect again with --firmware uefi.'] },
  },
  {
    id: 'bios-guest-uefi-target',
    scope: 'root',
    // OVMF has no legacy BIOS (CSM): a BIOS-only guest (MBR, no EFI system partition) does not boot.
    severity: 'blocker',
    title: 'The guest boots with BIOS but the target profile is UEFI (OVMF cannot boot it: no legacy BIOS)',
    check: (r, i) => (firmwareOf(r, i) === 'bios' && i.target.firmware === 'uefi' ? { evidence: [...r.firmware.evidence.map(fact), fact('target firmware: uefi')] } : null),
    remediation: { kind: 'manual', summary: 'Boot the VM with BIOS (SeaBIOS).', steps: ['Define the VM with BIOS firmware (the libvirt default) and inspect again with --firmware bios.'] },
  },
  {
    id: 'guest-low-free-space',
    scope: 'root',
    severity: 'warning',
    title: 'Guest filesystems are too full for the repairs',
    check: (r) => {
      const l = lowSpace(r);
      return hit(l.evidence, { severity: l.critical ? 'blocker' : 'warning' });
    },
    remediation: { kind: 'manual', summary: 'Free space inside the guest before migrating.', steps: ['On the source, free space (old kernels, logs, package caches): / needs 100 MiB, /boot 50 MiB, other filesystems 10 MiB.', 'Or grow the filesystem, then export again.'] },
  },
  {
    id: 'cloud-init-installed',
    scope: 'root',
    severity: 'info',
    title: 'cloud-init is installed and will run on the first boot on KVM',
    check: (r) => (r.cloud_init.installed ? { evidence: r.cloud_init.evidence.map(fact) } : null),
    remediation: { kind: 'manual', summary: 'Make sure cloud-init finds a datasource or is disabled.', steps: ['Give the VM a NoCloud datasource (seed ISO) on KVM, or disable cloud-init (touch /etc/cloud/cloud-init.disabled) before migrating.'] },
  },

  // --- each Windows root -----------------------------------------------------------------------------
  {
    id: 'windows-hibernated',
    scope: 'root',
    severity: 'blocker',
    title: 'Windows is hibernated (or shut down with Fast Startup): its disk state is not final',
    check: (r) => {
      const w = r.windows;
      if (!w) return null;
      const ev: Evidence[] = [];
      if (w.hiberfil.hibernated) ev.push(fact(`hiberfil.sys holds a hibernation image (signature ${JSON.stringify(w.hiberfil.signature)})`));
      if (w.mount_refused) ev.push(fact(`ntfs-3g: ${w.mount_refused}`));
      return hit(ev);
    },
    remediation: { kind: 'manual', summary: 'Boot Windows and shut it down completely.', steps: ['Power the VM on on the source and log in.', 'Disable hibernation (`powercfg /h off` in an administrator prompt) and shut down with `shutdown /s /t 0`.', 'Export again.'] },
  },
  {
    id: 'windows-fast-startup',
    scope: 'root',
    severity: 'warning',
    title: 'Windows Fast Startup is on: a normal shutdown leaves the volume hibernated',
    check: (r) => (r.windows?.hiberboot_enabled ? { evidence: [fact(`HKLM\\SYSTEM\\${r.windows.current_control_set ?? 'CurrentControlSet'}\\Control\\Session Manager\\Power\\HiberbootEnabled = 1`)] } : null),
    remediation: { kind: 'manual', summary: 'Turn Fast Startup off before the last shutdown.', steps: ['In the guest: Control Panel > Power Options > "Choose what the power buttons do" > untick "Turn on fast startup" (or `powercfg /h off`).', 'Shut down and export again.'] },
  },
  {
    id: 'windows-no-virtio-drivers',
    scope: 'root',
    severity: 'blocker',
    title: "Windows has no virtio driver for the target's disk bus",
    check: (r, i) => {
      const w = r.windows;
      if (!w || i.target.disk_bus === 'sata') return null;
      const name = i.target.disk_bus === 'virtio-blk' ? 'viostor' : 'vioscsi';
      const d = w.virtio_drivers.find((x) => x.name === name);
      if (d && (d.files.length > 0 || d.service)) return null;
      return { evidence: w.virtio_drivers.map((x) => fact(`${x.name}: ${x.files.length ? x.files.join(', ') : 'no driver files'}${x.service ? ', service registered' : ''}`)) };
    },
    remediation: { kind: 'manual', summary: 'Install the virtio-win drivers before migrating.', steps: ['In the guest on the source, install virtio-win-guest-tools.exe from the virtio-win ISO (viostor, vioscsi, netkvm).', 'Or convert with --target sata and install the drivers after the first boot on KVM.'] },
  },

  // --- after the repairs are known ------------------------------------------------------------------------
  {
    id: 'selinux-relabel',
    scope: 'root',
    severity: 'warning',
    title: 'SELinux is enforcing and repairs will change files: the guest needs a relabel',
    check: (r, i) => {
      if (r.selinux.mode !== 'enforcing' || !r.selinux.evidence) return null;
      const planned = i.findings.filter((f) => f.root === r.root && f.remediation.kind === 'operation' && REPAIRS_THAT_WRITE.has(f.remediation.operation));
      if (planned.length === 0) return null;
      return { evidence: [{ kind: 'file', file: r.selinux.evidence.file, line: r.selinux.evidence.line, text: r.selinux.evidence.text }, fact(`repairs planned: ${[...new Set(planned.map((f) => f.id))].join(', ')}`)] };
    },
    remediation: { kind: 'operation', operation: 'selinux_prep', params: { mode: 'autorelabel' }, summary: 'Relabel at first boot so changed files get their SELinux contexts.' },
  },
];
