// The OVF descriptor parser over descriptors shaped as real exporters write them (samples/, see
// samples/README.md), and over hostile XML. Every expected value is read off the sample by hand.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerError } from '../../../shared/errors';
import { controllerOf, formatFromOvfUrl, hostResourceRef, nicModelOf, parseOvf, toBytes, unitMultiplier, type OvfDescriptor } from '../../../electron/engine/ova/ovf';
import { decodeEntities, decodeXmlBytes, parseXml } from '../../../electron/engine/ova/xml';
import { FACTS, fixturePath, groupBuilt, type FixtureName } from '../../support/fixtures';

const SAMPLES = join(import.meta.dirname, 'samples');
const sample = (name: string): OvfDescriptor => parseOvf(readFileSync(join(SAMPLES, name), 'utf8'));
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof WorkerError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('VMware ovftool, OVF 1.0, EFI', () => {
  const d = sample('ovftool-ovf1-efi.ovf');
  it('names the exporter from the generator comment and vmw:buildId', () => {
    expect(d.exporter.dialect).toBe('ovftool');
    expect(d.exporter.product).toBe('VMware ovftool 4.6.3 (build-24031167)');
    expect(d.ovf_version).toBe('1.x');
    expect(d.envelope_namespace).toBe('http://schemas.dmtf.org/ovf/envelope/1');
    expect(d.name).toBe('web01');
  });
  it('computes the capacity from "byte * 2^30" exactly', () => {
    expect(d.disks).toEqual([
      {
        disk_id: 'vmdisk1',
        file_ref: 'file1',
        capacity_bytes: 40 * GiB,
        populated_bytes: 5931401216,
        format_url: 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized',
        format: 'vmdk',
        subformat: 'streamOptimized',
        parent_ref: null,
      },
    ]);
    expect(d.files).toEqual([{ id: 'file1', href: 'web01-disk1.vmdk', size: 2147619840, compression: null, chunk_size: null }]);
  });
  it('reads CPUs, cores per socket and memory', () => {
    expect(d.hardware.cpus).toBe(4);
    expect(d.hardware.cores_per_socket).toBe(2);
    expect(d.hardware.memory_bytes).toBe(4096 * MiB);
    expect(d.hardware.system_types).toEqual(['vmx-19']);
  });
  it('maps VirtualSCSI to pvscsi and hangs the disk off it', () => {
    expect(d.hardware.controllers.map((c) => [c.instance_id, c.type, c.subtype])).toEqual([
      ['3', 'scsi', 'pvscsi'],
      ['4', 'sata', 'ahci'],
      ['5', 'usb', 'vmware.usb.xhci'],
    ]);
    expect(d.hardware.disk_drives).toEqual([
      { instance_id: '9', host_resource: 'ovf:/disk/vmdisk1', disk_id: 'vmdisk1', file_id: null, parent: '3', address_on_parent: '0', controller: { type: 'scsi', subtype: 'pvscsi' }, name: 'Hard disk 1' },
    ]);
    expect(d.hardware.removables).toEqual([{ type: 'cdrom', host_resource: null, parent: '4' }]);
  });
  it('reads the VmxNet3 NIC and decodes &quot; in its description', () => {
    expect(d.hardware.nics).toEqual([{ instance_id: '10', model: 'vmxnet3', resource_subtype: 'VmxNet3', connection: 'VM Network', mac: null, name: 'Network adapter 1' }]);
    expect(d.networks).toEqual(['VM Network']);
  });
  it('reads EFI with secure boot from vmw:Config', () => {
    expect(d.firmware).toEqual({ type: 'efi', stated: true, secure_boot: true, source: 'vmw:Config firmware="efi"' });
  });
  it('reads the guest OS', () => {
    expect(d.os).toEqual({ cim_id: 94, vmware_os_type: 'ubuntu64Guest', vbox_os_type: null, description: 'Ubuntu Linux (64-bit)', family: 'linux' });
  });
});

describe('VMware, OVF 2.0 envelope', () => {
  const d = sample('ovftool-ovf2-windows.ovf');
  it('reads StorageItem and EthernetPortItem like Item', () => {
    expect(d.ovf_version).toBe('2.x');
    expect(d.exporter.dialect).toBe('ovftool');
    expect(d.disks.map((x) => [x.disk_id, x.capacity_bytes, x.populated_bytes])).toEqual([['vmdisk1', 90 * GiB, 20384317440]]);
    expect(d.hardware.disk_drives.map((x) => [x.disk_id, x.controller])).toEqual([['vmdisk1', { type: 'scsi', subtype: 'lsilogicsas' }]]);
    expect(d.hardware.nics.map((n) => [n.model, n.connection])).toEqual([['e1000e', 'Servers-VLAN20']]);
    expect(d.hardware.cpus).toBe(2);
    expect(d.hardware.memory_bytes).toBe(8 * GiB);
  });
  it('reads EFI without secure boot, and a Windows guest', () => {
    expect(d.firmware).toMatchObject({ type: 'efi', stated: true, secure_boot: false });
    expect(d.os).toEqual({ cim_id: 1, vmware_os_type: 'windows2019srv_64Guest', vbox_os_type: null, description: 'Microsoft Windows Server 2019 (64-bit)', family: 'windows' });
    expect(d.files.map((f) => f.href)).toEqual(['dc02-disk1.vmdk', 'dc02-file1.nvram']);
  });
});

describe('vCenter export, three disks on two controllers', () => {
  const d = sample('vcenter-multidisk.ovf');
  it('is vSphere without an ovftool signature', () => {
    expect(d.exporter.dialect).toBe('vcenter');
    expect(d.name).toBe('db-rhel8');
  });
  it('computes capacities in mixed units exactly', () => {
    expect(d.disks.map((x) => [x.disk_id, x.file_ref, x.capacity_bytes, x.populated_bytes])).toEqual([
      ['vmdisk1', 'file1', 60 * GiB, 9303949312],
      ['vmdisk2', 'file2', 1536 * MiB, 0],
      ['vmdisk3', 'file3', 200 * GiB, 2147483648],
    ]);
  });
  it('maps each disk to its controller', () => {
    expect(d.hardware.disk_drives.map((x) => [x.disk_id, x.controller?.type, x.controller?.subtype, x.address_on_parent])).toEqual([
      ['vmdisk1', 'scsi', 'lsilogic', '0'],
      ['vmdisk2', 'scsi', 'lsilogic', '1'],
      ['vmdisk3', 'scsi', 'pvscsi', '0'],
    ]);
    expect(d.hardware.controllers.filter((c) => c.type === 'ide')).toHaveLength(2);
  });
  it('reads both NICs with their MACs, CPUs, memory, BIOS', () => {
    expect(d.hardware.nics.map((n) => [n.model, n.connection, n.mac])).toEqual([
      ['vmxnet3', 'DPortGroup-DB', '00:50:56:8a:5c:1e'],
      ['e1000', 'DPortGroup-Backup', '00:50:56:8a:d2:07'],
    ]);
    expect([d.hardware.cpus, d.hardware.cores_per_socket, d.hardware.memory_bytes]).toEqual([8, 4, 32 * GiB]);
    expect(d.firmware).toEqual({ type: 'bios', stated: true, secure_boot: false, source: 'vmw:Config firmware="bios"' });
    expect(d.os.vmware_os_type).toBe('rhel8_64Guest');
    expect(d.os.cim_id).toBe(80);
  });
});

describe('VirtualBox, OVF 1.0, EFI', () => {
  const d = sample('virtualbox-ovf1-efi.ovf');
  it('is VirtualBox, capacity in bytes, no ovf:size', () => {
    expect(d.exporter.dialect).toBe('virtualbox');
    expect(d.ovf_version).toBe('1.0');
    expect(d.name).toBe('Fedora 40');
    expect(d.disks.map((x) => [x.capacity_bytes, x.populated_bytes, x.format, x.subformat])).toEqual([[26843545600, null, 'vmdk', 'streamOptimized']]);
    expect(d.files).toEqual([{ id: 'file1', href: 'Fedora 40-disk001.vmdk', size: null, compression: null, chunk_size: null }]);
  });
  it('reads HostResource without the ovf: prefix and the AHCI controller', () => {
    expect(d.hardware.disk_drives.map((x) => [x.host_resource, x.disk_id, x.controller])).toEqual([['/disk/vmdisk1', 'vmdisk1', { type: 'sata', subtype: 'ahci' }]]);
    expect(d.hardware.controllers.map((c) => `${c.type}/${c.subtype}`)).toEqual(['ide/piix4', 'ide/piix4', 'sata/ahci']);
  });
  it('reads MegaBytes memory, CPUs, E1000, EFI from vbox:Machine, the OS type', () => {
    expect(d.hardware.memory_bytes).toBe(4096 * MiB);
    expect(d.hardware.cpus).toBe(2);
    expect(d.hardware.nics.map((n) => [n.model, n.resource_subtype, n.connection])).toEqual([['e1000', 'E1000', 'NAT']]);
    expect(d.firmware).toEqual({ type: 'efi', stated: true, secure_boot: null, source: 'vbox:Machine Firmware type="EFI"' });
    expect(d.os).toEqual({ cim_id: 36, vmware_os_type: null, vbox_os_type: 'Fedora_64', description: 'Fedora_64', family: 'linux' });
  });
});

describe('VirtualBox, OVF 2.0, two disks, BIOS', () => {
  const d = sample('virtualbox-ovf2-bios-twodisk.ovf');
  it('reads both disks and their controllers', () => {
    expect(d.ovf_version).toBe('2.0');
    expect(d.disks.map((x) => [x.disk_id, x.capacity_bytes])).toEqual([
      ['vmdisk1', 20 * GiB],
      ['vmdisk2', 100 * GiB],
    ]);
    expect(d.hardware.disk_drives.map((x) => [x.disk_id, x.controller])).toEqual([
      ['vmdisk1', { type: 'sata', subtype: 'ahci' }],
      ['vmdisk2', { type: 'scsi', subtype: 'lsilogic' }],
    ]);
  });
  it('keeps both NICs although they share an InstanceID', () => {
    expect(d.hardware.nics.map((n) => [n.model, n.connection])).toEqual([
      ['virtio', 'Bridged'],
      ['pcnet32', 'HostOnly'],
    ]);
  });
  it('reads BIOS, memory, CPU, ProductSection', () => {
    expect(d.firmware).toMatchObject({ type: 'bios', stated: true });
    expect(d.hardware.memory_bytes).toBe(2048 * MiB);
    expect(d.hardware.cpus).toBe(1);
    expect(d.product).toEqual({ product: 'Samba file server', vendor: 'Example Ltd', version: '2.3' });
    expect(d.os.family).toBe('linux');
  });
});

describe('hand-made descriptor: prefixes, deployment options, properties', () => {
  const d = sample('generic-prefixed-deployopts.ovf');
  it('matches ovf:-prefixed elements and custom rasd prefixes by local name', () => {
    expect(d.exporter.dialect).toBe('unknown');
    expect(d.name).toBe('appliance');
    expect(d.hardware.controllers.map((c) => `${c.type}/${c.subtype}`)).toEqual(['scsi/virtio-scsi']);
    expect(d.hardware.nics.map((n) => n.model)).toEqual(['virtio']);
  });
  it('reads the default configuration (large)', () => {
    expect(d.hardware.cpus).toBe(4);
    expect(d.hardware.memory_bytes).toBe(8 * GiB);
  });
  it('resolves ${property} capacities, "byte * 1024 * 1024", format URIs, gzip and blank disks', () => {
    expect(d.disks.map((x) => [x.disk_id, x.capacity_bytes, x.format, x.file_ref])).toEqual([
      ['root', 4 * GiB, 'raw', 'root'],
      ['data', 2048 * MiB, 'qcow2', 'data'],
      ['scratch', 512 * MiB, null, null],
    ]);
    expect(d.files.map((f) => f.compression)).toEqual([null, 'gzip']);
    expect(d.notes.join('\n')).toMatch(/blank disk of 536870912 bytes/);
    expect(d.product?.version).toBe('5.1.0-build7');
  });
});

describe('hostile and broken XML', () => {
  const xxe = `<?xml version="1.0"?>
<!DOCTYPE Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <VirtualSystem ovf:id="x"><Name>&xxe;</Name></VirtualSystem>
</Envelope>`;
  const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`)].join('\n');
  const laughs = `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${lol}\n]>\n<Envelope><VirtualSystem><Name>&lol9;</Name></VirtualSystem></Envelope>`;

  it('refuses a SYSTEM entity pointing at /etc/passwd without reading it', () => {
    let err: unknown;
    try {
      parseOvf(xxe);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).code).toBe('xml_entity_refused');
    expect((err as WorkerError).info.detail).toBe('<!DOCTYPE declaration at line 2');
    expect(JSON.stringify((err as WorkerError).info)).not.toMatch(/root:/);
  });
  it('refuses a billion-laughs document at once', () => {
    const t0 = Date.now();
    expect(codeOf(() => parseOvf(laughs))).toBe('xml_entity_refused');
    expect(Date.now() - t0).toBeLessThan(200);
  });
  it('refuses a bare ENTITY declaration, lower-case doctype, and undeclared entity references', () => {
    expect(codeOf(() => parseOvf('<Envelope><!ENTITY x "y"></Envelope>'))).toBe('xml_entity_refused');
    expect(codeOf(() => parseOvf('<!doctype x><Envelope/>'))).toBe('xml_entity_refused');
    expect(codeOf(() => parseOvf('<Envelope><VirtualSystem><Name>&xxe;</Name></VirtualSystem></Envelope>'))).toBe('xml_entity_refused');
  });
  it('decodes only the predefined entities and character references', () => {
    expect(decodeEntities('a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#65;&#x42;')).toBe(`a & b <c> "d" 'e' AB`);
    expect(() => decodeEntities('&#0;')).toThrow(WorkerError);
  });
  it('says ovf_invalid for XML that is not well-formed, a foreign root, or absurd nesting', () => {
    expect(codeOf(() => parseOvf('<Envelope><References></Envelope>'))).toBe('ovf_invalid');
    expect(codeOf(() => parseOvf('<html><body/></html>'))).toBe('ovf_invalid');
    expect(codeOf(() => parseOvf('<Envelope/>'))).toBe('ovf_invalid'); // no VirtualSystem
    expect(codeOf(() => parseXml('<a>'.repeat(500) + '</a>'.repeat(500)))).toBe('ovf_invalid');
  });
  it('says ovf_invalid for a disk without a usable capacity or file', () => {
    const env = (disk: string) =>
      `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:id="f1" ovf:href="d.vmdk"/></References><DiskSection>${disk}</DiskSection><VirtualSystem ovf:id="v"/></Envelope>`;
    expect(codeOf(() => parseOvf(env('<Disk ovf:diskId="d" ovf:fileRef="f1" ovf:capacity="ten"/>')))).toBe('ovf_invalid');
    expect(codeOf(() => parseOvf(env('<Disk ovf:diskId="d" ovf:fileRef="f1" ovf:capacity="1" ovf:capacityAllocationUnits="furlong"/>')))).toBe('ovf_invalid');
    expect(codeOf(() => parseOvf(env('<Disk ovf:diskId="d" ovf:fileRef="f9" ovf:capacity="1"/>')))).toBe('ovf_invalid');
    expect(codeOf(() => parseOvf(env('<Disk ovf:diskId="d" ovf:fileRef="f1" ovf:capacity="9" ovf:capacityAllocationUnits="byte * 2^60"/>')))).toBe('ovf_invalid');
    expect(parseOvf(env('<Disk ovf:diskId="d" ovf:fileRef="f1" ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^40"/>')).disks[0]!.capacity_bytes).toBe(1024 ** 4);
  });
  it('reads UTF-16 and Latin-1 descriptors', () => {
    const text = '<?xml version="1.0" encoding="UTF-16"?><Envelope><VirtualSystem ovf:id="x"><Name>Größe</Name></VirtualSystem></Envelope>'.replace(' ovf:id', ' id');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(parseOvf(decodeXmlBytes(utf16)).name).toBe('Größe');
    const latin1 = Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><Envelope><VirtualSystem><Name>Größe</Name></VirtualSystem></Envelope>', 'latin1');
    expect(parseOvf(decodeXmlBytes(latin1)).name).toBe('Größe');
  });
  it('reads OVF 0.9 Section xsi:type sections', () => {
    const d = parseOvf(`<ovf:Envelope xmlns:ovf="http://www.vmware.com/schema/ovf/1/envelope" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <References><File ovf:href="old.vmdk" ovf:fileId="x" ovf:id="file1"/></References>
      <Section xsi:type="ovf:DiskSection_Type"><Info>disks</Info><Disk ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:capacity="8589934592" ovf:format="http://www.vmware.com/specifications/vmdk.html#sparse"/></Section>
      <Content xsi:type="ovf:VirtualSystem_Type" ovf:id="old"><Info>a VM</Info></Content></ovf:Envelope>`);
    expect(d.ovf_version).toBe('0.9');
    expect(d.name).toBe('old');
    expect(d.disks.map((x) => [x.capacity_bytes, x.format, x.subformat])).toEqual([[8 * GiB, 'vmdk', 'monolithicSparse']]);
  });
});

describe('units, format URIs, controllers, NICs', () => {
  it('unit multipliers (DSP0004 programmatic units and the names exporters write)', () => {
    expect(unitMultiplier('byte')).toBe(1n);
    expect(unitMultiplier('byte * 2^30')).toBe(1n << 30n);
    expect(unitMultiplier('byte*2^20')).toBe(1n << 20n);
    expect(unitMultiplier('byte * 1024 * 1024')).toBe(1n << 20n);
    expect(unitMultiplier('byte * 10^9')).toBe(1_000_000_000n);
    expect(unitMultiplier('MegaBytes')).toBe(1n << 20n);
    expect(unitMultiplier('GigaBytes')).toBe(1n << 30n);
    expect(unitMultiplier('hertz * 10^6')).toBeNull();
    expect(toBytes('2000', 'byte * 2^30', 'x')).toBe(2000 * GiB);
  });
  it('format URIs', () => {
    expect(formatFromOvfUrl('http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized')).toEqual({ format: 'vmdk', subformat: 'streamOptimized' });
    expect(formatFromOvfUrl('http://www.vmware.com/interfaces/specifications/vmdk.html#sparse')).toEqual({ format: 'vmdk', subformat: 'monolithicSparse' });
    expect(formatFromOvfUrl('http://www.vmware.com/specifications/vmdk.html#compressed')).toEqual({ format: 'vmdk', subformat: 'streamOptimized' });
    expect(formatFromOvfUrl('http://go.microsoft.com/fwlink/?LinkId=137171')).toEqual({ format: 'vpc', subformat: null });
    expect(formatFromOvfUrl('http://technet.microsoft.com/en-us/virtualserver/bb676673.aspx')).toEqual({ format: 'vpc', subformat: null });
    expect(formatFromOvfUrl('http://www.gnome.org/~markmc/qcow-image-format.html')).toEqual({ format: 'qcow2', subformat: null });
    expect(formatFromOvfUrl('http://en.wikipedia.org/wiki/Byte')).toEqual({ format: 'raw', subformat: null });
    expect(formatFromOvfUrl('urn:example:mystery')).toEqual({ format: null, subformat: null });
  });
  it('controllers and NIC models', () => {
    expect(controllerOf(6, 'VirtualSCSI')).toEqual({ type: 'scsi', subtype: 'pvscsi' });
    expect(controllerOf(6, 'buslogic')).toEqual({ type: 'scsi', subtype: 'buslogic' });
    expect(controllerOf(6, 'lsilogicsas')).toEqual({ type: 'scsi', subtype: 'lsilogicsas' });
    expect(controllerOf(20, 'LsiLogicSas')).toEqual({ type: 'scsi', subtype: 'lsilogicsas' });
    expect(controllerOf(20, 'vmware.nvme.controller')).toEqual({ type: 'nvme', subtype: 'nvme' });
    expect(controllerOf(5, null)).toEqual({ type: 'ide', subtype: null });
    expect(controllerOf(24, null)).toBeNull();
    expect(['E1000', 'E1000e', 'VmxNet3', 'PCNet32', 'virtio', 'Vlance', 'Sriov'].map(nicModelOf)).toEqual(['e1000', 'e1000e', 'vmxnet3', 'pcnet32', 'virtio', 'pcnet32', 'other']);
    expect(hostResourceRef('ovf://disk/d1')).toEqual({ disk_id: 'd1', file_id: null });
    expect(hostResourceRef('ovf:/file/file2')).toEqual({ disk_id: null, file_id: 'file2' });
  });
});

// The shared fixtures (test/fixtures/ovf.sh and bad.sh, built into .cache/fixtures by
// `npm run fixtures` or the integration globalSetup), when built: exact values from FACTS.
describe.skipIf(!groupBuilt('ovf'))('the shared OVF fixtures', () => {
  it.each(Object.entries(FACTS.ovf.dialects))('%s', (name, fact) => {
    const d = parseOvf(readFileSync(fixturePath(`ovf-${name}` as FixtureName), 'utf8'));
    expect(d.ovf_version?.[0]).toBe(fact.ovfVersion[0]);
    expect(d.exporter.dialect).toBe(name.startsWith('vbox') ? 'virtualbox' : name);
    expect(d.name).toBe(FACTS.ovf.vmName);
    expect(d.disks.map((x) => ({ href: d.files.find((f) => f.id === x.file_ref)?.href, capacity: x.capacity_bytes }))).toEqual(fact.disks);
    expect(d.firmware.type).toBe(fact.firmware);
    expect(d.hardware.system_types).toEqual([fact.virtualSystemType]);
    expect(d.hardware.disk_drives.every((x) => x.controller !== null)).toBe(true);
    expect(d.hardware.cpus).toBeGreaterThanOrEqual(1);
  });
});

describe.skipIf(!groupBuilt('bad'))('the shared hostile descriptors', () => {
  it.each(['bad-xxe-ovf', 'bad-entity-expansion-ovf'] as const)('%s is refused', (name) => {
    expect(codeOf(() => parseOvf(readFileSync(fixturePath(name), 'utf8')))).toBe('xml_entity_refused');
  });
});
