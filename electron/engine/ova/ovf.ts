/**
 * Parsing an OVF descriptor (DMTF DSP0243 1.x and 2.x, with the VMware `vmw:` and VirtualBox
 * `vbox:` extensions) into what a migration needs: the disks and their files, the virtual
 * hardware (CPUs, memory, controllers, NICs, which disk hangs off which controller), firmware,
 * guest OS type, the VM's name, and which exporter wrote it. Pure: a function of the XML text.
 *
 * Elements and attributes are matched by local name, so `rasd:`/`sasd:`/`epasd:` items, `ovf:`
 * or unprefixed attributes, and OVF 0.9's `<Section xsi:type="ovf:DiskSection_Type">` all read
 * the same. Every size is bytes, computed exactly (BigInt) from the value and its units
 * (DSP0004 Annex C programmatic units, e.g. `byte * 2^30`).
 */
import type { ImageFormat } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { attr, child, childText, children, descendants, namespaces, parseXml, type XmlElement } from './xml';

/** Which exporter wrote the descriptor (see exporterOf for the evidence each needs). */
export type OvfDialect = 'ovftool' | 'vcenter' | 'virtualbox' | 'unknown';

/** A `References/File`: one file of the package. */
export interface OvfFile {
  id: string;
  /** Relative name of the file in the package (ovf:href). */
  href: string;
  /** ovf:size: bytes of the file as stored in the package (compressed size when compressed); null when not given. */
  size: number | null;
  /** ovf:compression (DSP0243 §7.2): only gzip is defined; null for none ("identity" or absent). */
  compression: 'gzip' | null;
  /** ovf:chunkSize: the file is split into `href.000000000`, `href.000000001`, ... of this many bytes. */
  chunk_size: number | null;
}

/** A `DiskSection/Disk`: one virtual disk. */
export interface OvfDisk {
  disk_id: string;
  /** ovf:fileRef (a File id); null for a blank disk the importer is to create. */
  file_ref: string | null;
  /** ovf:capacity × ovf:capacityAllocationUnits, in bytes: the size the guest sees. */
  capacity_bytes: number;
  /** ovf:populatedSize: bytes of guest data (an estimate by the exporter); null when not given. */
  populated_bytes: number | null;
  /** ovf:format, the URI naming the disk format. */
  format_url: string | null;
  /** The qemu-img format the URI names; null when the URI is unknown (then only the bytes tell). */
  format: ImageFormat | null;
  /** vmdk create-type (streamOptimized, monolithicSparse) or vpc/vhdx type the URI names. */
  subformat: string | null;
  /** ovf:parentRef (a differencing disk's parent disk id), or null. */
  parent_ref: string | null;
}

/** Storage bus of a controller. */
export type ControllerType = 'ide' | 'scsi' | 'sata' | 'nvme' | 'usb' | 'other';

/** A storage controller Item (rasd:ResourceType 5, 6, 20, ...). */
export interface OvfController {
  instance_id: string;
  type: ControllerType;
  /** Normalised model: piix4, lsilogic, lsilogicsas, pvscsi, buslogic, virtio-scsi, ahci, nvme; null when not stated. */
  subtype: string | null;
  resource_type: number;
  /** rasd:ResourceSubType as written. */
  resource_subtype: string | null;
  /** rasd:ElementName or Caption. */
  name: string | null;
  /** rasd:Address: the bus number. */
  address: string | null;
}

/** A disk drive Item (ResourceType 17) and what it attaches. */
export interface OvfDiskDrive {
  instance_id: string;
  /** rasd:HostResource as written: `ovf:/disk/vmdisk1`, `/disk/vmdisk1`, `ovf:/file/file1`. */
  host_resource: string | null;
  /** The DiskSection disk it attaches, from `ovf:/disk/<id>`. */
  disk_id: string | null;
  /** The File it attaches directly, from `ovf:/file/<id>` (allowed by DSP0243 for disks without DiskSection). */
  file_id: string | null;
  /** rasd:Parent: the controller's InstanceID. */
  parent: string | null;
  /** rasd:AddressOnParent: unit number on the controller. */
  address_on_parent: string | null;
  controller: { type: ControllerType; subtype: string | null } | null;
  name: string | null;
}

/** Normalised NIC model. */
export type NicModel = 'e1000' | 'e1000e' | 'vmxnet3' | 'vmxnet2' | 'vmxnet' | 'pcnet32' | 'virtio' | 'other';

/** A network adapter Item (ResourceType 10). */
export interface OvfNic {
  instance_id: string;
  model: NicModel;
  /** rasd:ResourceSubType as written (E1000, VmxNet3, PCNet32, virtio, ...). */
  resource_subtype: string | null;
  /** rasd:Connection: the logical network name. */
  connection: string | null;
  /** rasd:Address: the MAC address, when the exporter wrote it (vCenter does). */
  mac: string | null;
  name: string | null;
}

/** The first VirtualSystem's VirtualHardwareSection, for the default deployment configuration. */
export interface OvfHardware {
  /** vssd:VirtualSystemType, e.g. `vmx-19`, `virtualbox-2.2` (may list several, space-separated). */
  system_types: string[];
  /** ResourceType 3 VirtualQuantity: virtual CPUs. */
  cpus: number | null;
  /** vmw:CoresPerSocket of the CPU item. */
  cores_per_socket: number | null;
  /** ResourceType 4 VirtualQuantity × AllocationUnits, in bytes. */
  memory_bytes: number | null;
  controllers: OvfController[];
  disk_drives: OvfDiskDrive[];
  nics: OvfNic[];
  /** CD/DVD drives (ResourceType 15, 16) and floppies (14). */
  removables: { type: 'cdrom' | 'floppy'; host_resource: string | null; parent: string | null }[];
}

/** Boot firmware. */
export interface OvfFirmware {
  type: 'bios' | 'efi';
  /** False when the descriptor does not say; `type` is then BIOS, the default of every exporter's hypervisor. */
  stated: boolean;
  secure_boot: boolean | null;
  /** Where the answer came from, e.g. `vmw:Config firmware="efi"` or `vbox:Machine Firmware type="EFI"`. */
  source: string;
}

/** OperatingSystemSection and the vendor OS type names. */
export interface OvfOperatingSystem {
  /** OperatingSystemSection ovf:id: the CIM_OperatingSystem OsType number. */
  cim_id: number | null;
  /** vmw:osType, e.g. `ubuntu64Guest`, `windows2019srv_64Guest`. */
  vmware_os_type: string | null;
  /** vbox:OSType or vbox:Machine OSType, e.g. `Ubuntu_64`, `Windows10_64`. */
  vbox_os_type: string | null;
  /** OperatingSystemSection Description. */
  description: string | null;
  /** Derived from the names above. */
  family: 'windows' | 'linux' | 'bsd' | 'other' | 'unknown';
}

/** The exporter, with the facts it was recognised by. */
export interface OvfExporter {
  dialect: OvfDialect;
  /** The exporting product, when it names itself (e.g. `VMware ovftool 4.6.2 (build-22220919)`). */
  product: string | null;
  /** The facts the dialect was decided from. */
  evidence: string[];
}

/** Everything read from one descriptor. Sizes are bytes. */
export interface OvfDescriptor {
  /** OVF version: Envelope ovf:version, else from the envelope namespace (`/envelope/1` → 1.x). */
  ovf_version: string | null;
  envelope_namespace: string | null;
  /** The VM's name: VirtualSystem Name, else vbox:Machine name, else VirtualSystem ovf:id. */
  name: string | null;
  exporter: OvfExporter;
  files: OvfFile[];
  disks: OvfDisk[];
  networks: string[];
  hardware: OvfHardware;
  firmware: OvfFirmware;
  os: OvfOperatingSystem;
  /** ProductSection of the appliance, if any. */
  product: { product: string | null; vendor: string | null; version: string | null } | null;
  /** Names (ovf:id) of every VirtualSystem; the hardware is the first one's. */
  virtual_systems: string[];
  notes: string[];
}

const NS_VMW = 'http://www.vmware.com/schema/ovf';
const NS_VBOX = 'http://www.virtualbox.org/ovf/machine';

function bad(detail: string): WorkerError {
  return new WorkerError('ovf_invalid', { detail });
}

/**
 * Bytes per unit of a DSP0004 programmatic unit (Annex C.1) as OVF uses it: `byte`,
 * `byte * 2^30`, `byte*1024`, `byte * 10^9`, `bytes * 2^20`, and the names exporters write
 * (`KiloBytes`, `MegaBytes`, `GigaBytes`, `KB`, `MB`, `GB`: binary multiples, as VirtualBox and
 * VMware mean them). Returns null for anything else.
 */
export function unitMultiplier(units: string): bigint | null {
  const u = units.trim();
  const named: Record<string, bigint> = {
    byte: 1n,
    bytes: 1n,
    kilobytes: 1n << 10n,
    kb: 1n << 10n,
    kib: 1n << 10n,
    megabytes: 1n << 20n,
    mb: 1n << 20n,
    mib: 1n << 20n,
    gigabytes: 1n << 30n,
    gb: 1n << 30n,
    gib: 1n << 30n,
    terabytes: 1n << 40n,
    tb: 1n << 40n,
    tib: 1n << 40n,
  };
  const n = named[u.toLowerCase()];
  if (n !== undefined) return n;
  const m = /^bytes?\s*((?:\*\s*\d+\s*(?:\^\s*\d+\s*)?)+)$/i.exec(u);
  if (!m) return null;
  let mult = 1n;
  for (const f of m[1]!.matchAll(/\*\s*(\d+)\s*(?:\^\s*(\d+))?/g)) {
    const base = BigInt(f[1]!);
    const exp = f[2] === undefined ? 1n : BigInt(f[2]);
    if (exp > 64n) return null;
    mult *= base ** exp;
  }
  return mult;
}

/** value × units in bytes, exactly; throws `ovf_invalid` naming `what` when not a safe whole number. */
export function toBytes(value: string, units: string | null, what: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v)) throw bad(`${what}: "${value}" is not a whole number`);
  const mult = unitMultiplier(units ?? 'byte');
  if (mult === null) throw bad(`${what}: unknown allocation units "${units}"`);
  const bytes = BigInt(v) * mult;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${what}: ${bytes} bytes is beyond what can be handled`);
  return Number(bytes);
}

/**
 * The qemu-img format named by an ovf:format URI. Known URIs: VMware's vmdk specification
 * (`…/vmdk.html#streamOptimized`, `#sparse`, `#compressed`; OVF 1.x `interfaces/specifications`
 * and OVF 0.9 `specifications` paths), Microsoft's VHD specification links, the qcow2 format
 * document oVirt writes, and `…/Byte` for raw. Unknown URIs give nulls.
 */
export function formatFromOvfUrl(url: string | null): { format: ImageFormat | null; subformat: string | null } {
  if (!url) return { format: null, subformat: null };
  const u = url.trim();
  const lower = u.toLowerCase();
  if (lower.includes('vmdk')) {
    const frag = lower.split('#')[1] ?? '';
    if (frag === 'streamoptimized' || frag === 'compressed') return { format: 'vmdk', subformat: 'streamOptimized' };
    if (frag === 'sparse') return { format: 'vmdk', subformat: 'monolithicSparse' };
    return { format: 'vmdk', subformat: null };
  }
  if (lower.includes('vhdx')) return { format: 'vhdx', subformat: null };
  // Microsoft's VHD spec links (Citrix XenServer / Hyper-V tools write these).
  if (lower.includes('vhd') || lower.includes('linkid=137171') || lower.includes('bb676673')) return { format: 'vpc', subformat: null };
  if (lower.includes('qcow')) return { format: 'qcow2', subformat: null };
  if (lower.includes('vdi')) return { format: 'vdi', subformat: null };
  if (/wiki\/byte$|#raw$|\/raw$/.test(lower)) return { format: 'raw', subformat: null };
  return { format: null, subformat: null };
}

/** Normalised controller from rasd:ResourceType and ResourceSubType (VMware's and VirtualBox's names). */
export function controllerOf(resourceType: number, subtype: string | null): { type: ControllerType; subtype: string | null } | null {
  const s = (subtype ?? '').trim().toLowerCase();
  const scsiModel: Record<string, string> = {
    lsilogic: 'lsilogic',
    lsilogicsas: 'lsilogicsas',
    virtualscsi: 'pvscsi',
    pvscsi: 'pvscsi',
    paravirtual: 'pvscsi',
    buslogic: 'buslogic',
    virtioscsi: 'virtio-scsi',
    'virtio-scsi': 'virtio-scsi',
  };
  if (s === 'ahci' || s === 'vmware.sata.ahci' || s === 'intelahci') return { type: 'sata', subtype: 'ahci' };
  if (s === 'nvme' || s === 'vmware.nvme.controller') return { type: 'nvme', subtype: 'nvme' };
  if (resourceType === 5) return { type: 'ide', subtype: s ? s : null };
  if (resourceType === 6 || scsiModel[s]) return { type: 'scsi', subtype: scsiModel[s] ?? (s || null) };
  if (resourceType === 20) return { type: s.includes('sata') ? 'sata' : s.includes('nvme') ? 'nvme' : 'other', subtype: s || null };
  if (resourceType === 23) return { type: 'usb', subtype: s || null };
  if (resourceType === 7 || resourceType === 8 || resourceType === 9) return { type: 'other', subtype: s || null };
  return null;
}

/** NIC model from rasd:ResourceSubType: VMware's (E1000, E1000e, VmxNet3, PCNet32, Vlance) and VirtualBox's (E1000, PCNet32, virtio) names. */
export function nicModelOf(subtype: string | null): NicModel {
  const s = (subtype ?? '').trim().toLowerCase().replace(/[\s_-]/g, '');
  if (s === 'e1000e') return 'e1000e';
  if (s === 'e1000' || s === '82540em' || s === '82543gc' || s === '82545em') return 'e1000';
  if (s === 'vmxnet3') return 'vmxnet3';
  if (s === 'vmxnet2') return 'vmxnet2';
  if (s === 'vmxnet') return 'vmxnet';
  if (s === 'pcnet32' || s === 'pcnet' || s === 'vlance' || s === 'am79c970a' || s === 'am79c973') return 'pcnet32';
  if (s === 'virtio' || s === 'virtionet') return 'virtio';
  return 'other';
}

/** OS family from the names exporters give (VMware guestId, VirtualBox OSType, a description). */
export function osFamilyOf(...names: (string | null)[]): OvfOperatingSystem['family'] {
  for (const raw of names) {
    if (!raw) continue;
    const n = raw.toLowerCase();
    if (/^win|windows/.test(n)) return 'windows';
    if (/freebsd|openbsd|netbsd|dragonfly/.test(n)) return 'bsd';
    if (/solaris|darwin|macos/.test(n)) return 'other';
    if (/linux|ubuntu|debian|rhel|redhat|red hat|centos|fedora|sles|suse|oracle|photon|coreos|asianux|mandr|turbo|rocky|alma|amazon|arch|gentoo|xandros|mint|kali/.test(n)) return 'linux';
    if (/netware|os2|dos|sco|unix|other/.test(n)) return 'other';
  }
  return 'unknown';
}

function int(text: string | null, what: string): number | null {
  if (text === null) return null;
  if (!/^\s*\d+\s*$/.test(text)) throw bad(`${what}: "${text}" is not a whole number`);
  return Number(text.trim());
}

/** Sections by name, also OVF 0.9's `<Section xsi:type="ovf:NAME_Type">`. */
function sections(parent: XmlElement | null, local: string): XmlElement[] {
  if (!parent) return [];
  return parent.children.filter((c) => c.local === local || (c.local === 'Section' && (attr(c, 'type') ?? '').replace(/^.*:/, '') === `${local}_Type`));
}

/** Items of a VirtualHardwareSection that apply to the default configuration, at their normal bound. */
function applicableItems(vhs: XmlElement, defaultConfig: string | null): XmlElement[] {
  return children(vhs, 'Item', 'StorageItem', 'EthernetPortItem').filter((item) => {
    const bound = attr(item, 'bound');
    if (bound && bound !== 'normal') return false;
    const configs = attr(item, 'configuration');
    if (!configs || !defaultConfig) return true;
    return configs.split(/\s+/).includes(defaultConfig);
  });
}

/** `ovf:/disk/vmdisk1`, `/disk/vmdisk1`, `ovf://disk/vmdisk1` → vmdisk1; likewise `/file/`. */
export function hostResourceRef(hr: string | null): { disk_id: string | null; file_id: string | null } {
  if (!hr) return { disk_id: null, file_id: null };
  const m = /^(?:ovf:)?\/*(disk|file)\/(.+)$/.exec(hr.trim());
  if (!m) return { disk_id: null, file_id: null };
  return m[1] === 'disk' ? { disk_id: m[2]!, file_id: null } : { disk_id: null, file_id: m[2]! };
}

/**
 * Parse an OVF descriptor. Throws `xml_entity_refused` for a DOCTYPE or entity declaration,
 * `ovf_invalid` for XML that is not well-formed, a root that is not an Envelope, or a disk whose
 * capacity, units or file reference cannot be read.
 */
export function parseOvf(xml: string): OvfDescriptor {
  const { root, comments } = parseXml(xml);
  if (root.local !== 'Envelope') throw bad(`the root element is <${root.name}>, not an OVF <Envelope>`);
  const notes: string[] = [];
  const ns = namespaces(root);
  const envelopeNs = (root.name.includes(':') ? ns[root.name.split(':')[0]!] : ns['']) ?? null;
  const declaredVersion = attr(root, 'version');
  const nsVersion = envelopeNs ? (/\/envelope\/(\d+)$/.exec(envelopeNs)?.[1] ?? (/\/1\/envelope$/.test(envelopeNs) ? '0.9' : null)) : null;
  const ovfVersion = declaredVersion ?? (nsVersion === '0.9' ? '0.9' : nsVersion ? `${nsVersion}.x` : null);

  // References.
  const files: OvfFile[] = [];
  for (const f of children(child(root, 'References'), 'File')) {
    const id = attr(f, 'id');
    const href = attr(f, 'href');
    if (!id || !href) throw bad('a References/File without ovf:id or ovf:href');
    const compression = attr(f, 'compression');
    if (compression && compression !== 'identity' && compression !== 'gzip') throw bad(`File ${href}: unknown ovf:compression "${compression}"`);
    const size = attr(f, 'size');
    const chunk = attr(f, 'chunkSize');
    files.push({
      id,
      href,
      size: size === null ? null : toBytes(size, 'byte', `File ${href} ovf:size`),
      compression: compression === 'gzip' ? 'gzip' : null,
      chunk_size: chunk === null ? null : toBytes(chunk, 'byte', `File ${href} ovf:chunkSize`),
    });
  }
  const fileIds = new Set(files.map((f) => f.id));
  if (fileIds.size !== files.length) throw bad('two References/File entries share an ovf:id');

  // Properties, for capacities given as ${key} (DSP0243 §9.5).
  const properties = new Map<string, string>();
  for (const p of descendants(root, 'Property')) {
    const key = attr(p, 'key');
    const value = attr(p, 'value');
    if (key && value !== null) properties.set(key, value);
  }

  // DiskSection (Envelope level in 1.x/2.x).
  const disks: OvfDisk[] = [];
  for (const ds of sections(root, 'DiskSection')) {
    for (const d of children(ds, 'Disk')) {
      const diskId = attr(d, 'diskId');
      if (!diskId) throw bad('a DiskSection/Disk without ovf:diskId');
      let capacity = attr(d, 'capacity');
      if (capacity === null) throw bad(`Disk ${diskId} has no ovf:capacity`);
      const prop = /^\$\{(.+)\}$/.exec(capacity.trim());
      if (prop) {
        const v = properties.get(prop[1]!);
        if (v === undefined) throw bad(`Disk ${diskId}: ovf:capacity refers to property ${prop[1]}, which is not defined`);
        notes.push(`Disk ${diskId}: capacity from property ${prop[1]} = ${v}`);
        capacity = v;
      }
      const fileRef = attr(d, 'fileRef');
      if (fileRef !== null && !fileIds.has(fileRef)) throw bad(`Disk ${diskId} refers to file ${fileRef}, which is not in References`);
      const url = attr(d, 'format');
      const fmt = formatFromOvfUrl(url);
      if (url && !fmt.format) notes.push(`Disk ${diskId}: unknown ovf:format ${url}; the disk's own bytes decide its format`);
      const populated = attr(d, 'populatedSize');
      disks.push({
        disk_id: diskId,
        file_ref: fileRef,
        capacity_bytes: toBytes(capacity, attr(d, 'capacityAllocationUnits'), `Disk ${diskId} ovf:capacity`),
        populated_bytes: populated === null ? null : toBytes(populated, 'byte', `Disk ${diskId} ovf:populatedSize`),
        format_url: url,
        format: fmt.format,
        subformat: fmt.subformat,
        parent_ref: attr(d, 'parentRef'),
      });
      if (fileRef === null) notes.push(`Disk ${diskId} has no file: a blank disk of ${disks[disks.length - 1]!.capacity_bytes} bytes for the importer to create`);
    }
  }
  if (new Set(disks.map((d) => d.disk_id)).size !== disks.length) throw bad('two DiskSection/Disk entries share an ovf:diskId');

  const networks = sections(root, 'NetworkSection').flatMap((s) => children(s, 'Network').map((n) => attr(n, 'name') ?? '').filter(Boolean));

  // VirtualSystem: directly under Envelope, or inside a VirtualSystemCollection (a vApp).
  const systems: XmlElement[] = [];
  // OVF 0.9 wrote <Content xsi:type="ovf:VirtualSystem_Type">.
  const xsiType = (c: XmlElement) => (c.local === 'Content' ? (attr(c, 'type') ?? '').replace(/^.*:/, '') : '');
  const collect = (el: XmlElement) => {
    for (const c of el.children) {
      if (c.local === 'VirtualSystem' || xsiType(c) === 'VirtualSystem_Type') systems.push(c);
      else if (c.local === 'VirtualSystemCollection' || xsiType(c) === 'VirtualSystemCollection_Type') collect(c);
    }
  };
  collect(root);
  if (systems.length === 0) throw bad('no VirtualSystem in the descriptor');
  if (systems.length > 1) notes.push(`the package holds ${systems.length} virtual machines (a vApp); the hardware shown is the first one's`);
  const vs = systems[0]!;

  // Deployment options: items tagged ovf:configuration apply only to their configuration.
  const dos = sections(root, 'DeploymentOptionSection')[0] ?? null;
  const configs = children(dos, 'Configuration');
  const defaultConfig = configs.length ? (attr(configs.find((c) => attr(c, 'default') === 'true') ?? configs[0]!, 'id') ?? null) : null;
  if (defaultConfig) notes.push(`deployment options present; hardware shown for the default configuration "${defaultConfig}"`);

  // Hardware: every VirtualSystem's items are read for controller mapping of disks.
  const hardware: OvfHardware = { system_types: [], cpus: null, cores_per_socket: null, memory_bytes: null, controllers: [], disk_drives: [], nics: [], removables: [] };
  const vhsList = sections(vs, 'VirtualHardwareSection');
  const vhs = vhsList[0] ?? null;
  if (!vhs) notes.push('no VirtualHardwareSection: CPUs, memory and devices are unknown');
  if (vhs) {
    const system = child(vhs, 'System');
    hardware.system_types = (childText(system, 'VirtualSystemType') ?? '').split(/[\s,]+/).filter(Boolean);
    const items = applicableItems(vhs, defaultConfig);
    const rt = (it: XmlElement) => int(childText(it, 'ResourceType'), 'rasd:ResourceType');
    const nameOf = (it: XmlElement) => childText(it, 'ElementName') ?? childText(it, 'Caption');
    for (const it of items) {
      const type = rt(it);
      const instance = childText(it, 'InstanceID') ?? '';
      const subtype = childText(it, 'ResourceSubType');
      if (type === 3 && hardware.cpus === null) {
        hardware.cpus = int(childText(it, 'VirtualQuantity'), 'CPU VirtualQuantity');
        hardware.cores_per_socket = int(childText(it, 'CoresPerSocket'), 'vmw:CoresPerSocket');
      } else if (type === 4 && hardware.memory_bytes === null) {
        const q = childText(it, 'VirtualQuantity');
        let units = childText(it, 'AllocationUnits') ?? childText(it, 'VirtualQuantityUnits');
        if (!units) {
          units = 'byte * 2^20';
          notes.push('memory has no AllocationUnits; taken as MiB, as exporters mean it');
        }
        if (q !== null) hardware.memory_bytes = toBytes(q, units, 'memory VirtualQuantity');
      } else if (type === 10) {
        hardware.nics.push({ instance_id: instance, model: nicModelOf(subtype), resource_subtype: subtype, connection: childText(it, 'Connection'), mac: childText(it, 'Address'), name: nameOf(it) });
      } else if (type === 17) {
        const hr = childText(it, 'HostResource');
        hardware.disk_drives.push({ instance_id: instance, host_resource: hr, ...hostResourceRef(hr), parent: childText(it, 'Parent'), address_on_parent: childText(it, 'AddressOnParent'), controller: null, name: nameOf(it) });
      } else if (type === 14 || type === 15 || type === 16) {
        hardware.removables.push({ type: type === 14 ? 'floppy' : 'cdrom', host_resource: childText(it, 'HostResource'), parent: childText(it, 'Parent') });
      } else if (type !== null) {
        const c = controllerOf(type, subtype);
        if (c) hardware.controllers.push({ instance_id: instance, type: c.type, subtype: c.subtype, resource_type: type, resource_subtype: subtype, name: nameOf(it), address: childText(it, 'Address') });
      }
    }
    for (const d of hardware.disk_drives) {
      const parent = d.parent === null ? null : hardware.controllers.find((c) => c.instance_id === d.parent);
      d.controller = parent ? { type: parent.type, subtype: parent.subtype } : null;
      if (d.parent !== null && !parent) notes.push(`disk drive ${d.name ?? d.instance_id} hangs off item ${d.parent}, which is not a storage controller`);
      if (d.disk_id !== null && !disks.some((x) => x.disk_id === d.disk_id)) throw bad(`disk drive ${d.name ?? d.instance_id} refers to disk ${d.disk_id}, which is not in DiskSection`);
      if (d.file_id !== null && !fileIds.has(d.file_id)) throw bad(`disk drive ${d.name ?? d.instance_id} refers to file ${d.file_id}, which is not in References`);
    }
  }

  const vbox = child(vs, 'Machine');
  const vboxMachine = vbox && (vbox.name.startsWith('vbox:') || Object.values(ns).includes(NS_VBOX) || attr(vbox, 'OSType') !== null) ? vbox : null;

  return {
    ovf_version: ovfVersion,
    envelope_namespace: envelopeNs,
    name: childText(vs, 'Name') ?? (vboxMachine ? attr(vboxMachine, 'name') : null) ?? attr(vs, 'id') ?? childText(child(vhs, 'System'), 'VirtualSystemIdentifier'),
    exporter: exporterOf(root, ns, comments, hardware.system_types, vboxMachine !== null),
    files,
    disks,
    networks,
    hardware,
    firmware: firmwareOf(vhsList, vboxMachine),
    os: osOf(vs, vboxMachine),
    product: productOf(vs),
    virtual_systems: systems.map((s) => attr(s, 'id') ?? childText(s, 'Name') ?? '?'),
    notes,
  };
}

function exporterOf(root: XmlElement, ns: Record<string, string>, comments: string[], systemTypes: string[], hasVboxMachine: boolean): OvfExporter {
  const evidence: string[] = [];
  const uris = Object.values(ns);
  const generated = comments.map((c) => /Generated by (VMware ovftool\s+[\d.]+(?:\s*\(build-\d+\))?)/i.exec(c)?.[1]).find(Boolean);
  const buildId = attr(root, 'buildId');
  if (hasVboxMachine || uris.includes(NS_VBOX) || systemTypes.some((t) => t.startsWith('virtualbox'))) {
    if (uris.includes(NS_VBOX)) evidence.push(`namespace ${NS_VBOX}`);
    if (hasVboxMachine) evidence.push('vbox:Machine section');
    const t = systemTypes.find((s) => s.startsWith('virtualbox'));
    if (t) evidence.push(`VirtualSystemType ${t}`);
    return { dialect: 'virtualbox', product: 'VirtualBox', evidence };
  }
  const vmx = systemTypes.find((t) => /^vmx-\d+$/.test(t));
  if (generated || buildId) {
    if (generated) evidence.push(`comment "Generated by ${generated}"`);
    if (buildId) evidence.push(`Envelope vmw:buildId="${buildId}"`);
    if (vmx) evidence.push(`VirtualSystemType ${vmx}`);
    return { dialect: 'ovftool', product: generated ?? `VMware OVF Tool (${buildId})`, evidence };
  }
  if (uris.includes(NS_VMW)) {
    evidence.push(`namespace ${NS_VMW}`);
    if (vmx) evidence.push(`VirtualSystemType ${vmx}`);
    evidence.push('no ovftool signature (vSphere Client export)');
    return { dialect: 'vcenter', product: 'VMware vSphere', evidence };
  }
  // A vmx-NN hardware family alone is what many hand-made appliance descriptors copy.
  return { dialect: 'unknown', product: null, evidence: [vmx ? `VirtualSystemType ${vmx}, but no VMware namespace or ovftool signature` : 'no VMware or VirtualBox namespace, signature or system type'] };
}

/** VMware keys in vmw:Config / vmw:ExtraConfig of the hardware section. */
function vmwConfig(vhsList: XmlElement[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const vhs of vhsList) {
    for (const c of children(vhs, 'Config', 'ExtraConfig')) {
      const key = attr(c, 'key');
      const value = attr(c, 'value');
      if (key && value !== null && !m.has(key)) m.set(key, value);
    }
  }
  return m;
}

function firmwareOf(vhsList: XmlElement[], vbox: XmlElement | null): OvfFirmware {
  const cfg = vmwConfig(vhsList);
  // vmw:Config keys are vSphere ConfigSpec paths (bootOptions.efiSecureBootEnabled); vmx keys appear in ExtraConfig.
  const sb = cfg.get('bootOptions.efiSecureBootEnabled') ?? cfg.get('uefi.secureBoot.enabled');
  const secure = sb === undefined ? null : sb.toLowerCase() === 'true';
  const fw = cfg.get('firmware');
  if (fw !== undefined) {
    const v = fw.toLowerCase();
    if (v === 'efi' || v === 'bios') return { type: v, stated: true, secure_boot: v === 'efi' ? secure : false, source: `vmw:Config firmware="${fw}"` };
  }
  if (secure === true) return { type: 'efi', stated: true, secure_boot: true, source: 'secure boot enabled in vmw:Config (implies EFI)' };
  // <Hardware><Firmware type="EFI"/> (VirtualBox 6, 7.0); found wherever later versions nest it.
  const vfw = vbox ? (descendants(vbox, 'Firmware')[0] ?? null) : null;
  const vt = vfw ? attr(vfw, 'type') : null;
  if (vt) {
    const efi = /^efi/i.test(vt);
    return { type: efi ? 'efi' : 'bios', stated: true, secure_boot: efi ? null : false, source: `vbox:Machine Firmware type="${vt}"` };
  }
  return { type: 'bios', stated: false, secure_boot: null, source: 'not stated in the descriptor; BIOS is the default of VMware and VirtualBox' };
}

function osOf(vs: XmlElement, vbox: XmlElement | null): OvfOperatingSystem {
  const os = sections(vs, 'OperatingSystemSection')[0] ?? null;
  const id = os ? attr(os, 'id') : null;
  const vmware = os ? attr(os, 'osType') : null;
  const vboxType = childText(os, 'OSType') ?? (vbox ? attr(vbox, 'OSType') : null);
  const description = childText(os, 'Description');
  return {
    cim_id: id !== null && /^\d+$/.test(id) ? Number(id) : null,
    vmware_os_type: vmware,
    vbox_os_type: vboxType,
    description,
    family: osFamilyOf(vmware, vboxType, description),
  };
}

function productOf(vs: XmlElement): OvfDescriptor['product'] {
  const p = sections(vs, 'ProductSection')[0];
  if (!p) return null;
  return { product: childText(p, 'Product'), vendor: childText(p, 'Vendor'), version: childText(p, 'FullVersion') ?? childText(p, 'Version') };
}
