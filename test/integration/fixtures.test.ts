// The fixtures are what test/fixtures/README.md and FACTS say, checked with the real qemu-img
// (and sfdisk, lsinitramfs-free listings, tar headers, manifest hashes). No libguestfs appliance.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { XMLValidator } from 'fast-xml-parser';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { FACTS, fixturePath, fixtures, REPO_ROOT, type FixtureName, type ImageFact } from '../support/fixtures';
import { tempDir } from '../support/helpers';

interface QemuInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: {
    type: string;
    data: {
      'create-type'?: string;
      extents?: { filename: string; format: string; compressed?: boolean; 'virtual-size': number }[];
    };
  };
}

async function qemuInfo(path: string, format?: string): Promise<QemuInfo> {
  const args = ['info', '-U', '--output=json', ...(format ? ['-f', format] : []), path];
  const { stdout } = await execa('qemu-img', args);
  return JSON.parse(stdout) as QemuInfo;
}

async function qemuFails(args: string[]): Promise<string> {
  const r = await execa('qemu-img', args, { reject: false });
  expect(r.exitCode, `qemu-img ${args.join(' ')} should fail`).not.toBe(0);
  return r.stderr;
}

async function sha256File(path: string, algo = 'sha256'): Promise<string> {
  const h = createHash(algo);
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

/** Member names of a tar in order, with the sha256 of each regular member's bytes. */
async function tarMembers(path: string): Promise<{ name: string; type: string; linkname?: string; sha256?: string }[]> {
  const out: { name: string; type: string; linkname?: string; sha256?: string }[] = [];
  const ex = extract();
  const done = new Promise<void>((resolvePromise, rejectPromise) => {
    ex.on('entry', (header, stream, next) => {
      const h = createHash('sha256');
      stream.on('data', (c: unknown) => h.update(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: header.name,
          type: header.type ?? 'file',
          linkname: header.linkname ?? undefined,
          sha256: header.type === 'file' ? h.digest('hex') : undefined,
        });
        next();
      });
      stream.resume();
    });
    ex.on('finish', () => resolvePromise());
    ex.on('error', rejectPromise);
  });
  createReadStream(path).pipe(ex);
  await done;
  return out;
}

interface SfdiskPart {
  start: number;
  size: number;
  type: string;
  bootable?: boolean;
}
async function partitions(rawPath: string): Promise<{ id: string; parts: SfdiskPart[] }> {
  const { stdout } = await execa('sfdisk', ['-J', rawPath]);
  const t = (JSON.parse(stdout) as { partitiontable: { id: string; partitions: SfdiskPart[] } }).partitiontable;
  return { id: t.id, parts: t.partitions };
}

async function vhdDiskType(path: string): Promise<number> {
  // The footer is the last 512 bytes (a dynamic VHD also keeps a copy at offset 0); disk type
  // is the big-endian u32 at offset 60: 2 fixed, 3 dynamic.
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(512);
    await fh.read(buf, 0, 512, statSync(path).size - 512);
    expect(buf.subarray(0, 8).toString('latin1')).toBe('conectix');
    return buf.readUInt32BE(60);
  } finally {
    await fh.close();
  }
}

const images = Object.entries(FACTS.images) as [FixtureName, ImageFact][];

describe('fixture paths', () => {
  it('fixtures and fixturePath agree and every listed file exists', () => {
    for (const name of Object.keys(fixtures) as FixtureName[]) {
      expect(fixtures[name]).toBe(fixturePath(name));
      expect(existsSync(fixturePath(name)), `${name} at ${fixturePath(name)}`).toBe(true);
    }
  });
});

describe('qemu-img info on every image fixture', () => {
  it.each(images)('%s', async (name, fact) => {
    const path = fixturePath(name);
    const info = await qemuInfo(path, fact.format);
    expect(info.format).toBe(fact.format);
    expect(info['virtual-size']).toBe(fact.virtualSize);

    const probed = await qemuInfo(path);
    expect(probed.format).toBe(fact.probedFormat ?? fact.format);

    if (fact.format === 'vmdk') {
      const data = info['format-specific']?.data;
      expect(info['format-specific']?.type).toBe('vmdk');
      expect(data?.['create-type']).toBe(fact.createType);
      const extents = (data?.extents ?? []).map((e) => ({
        filename: basename(e.filename),
        format: e.format,
        ...(e.compressed ? { compressed: true } : {}),
      }));
      expect(extents).toEqual(fact.extents);
      for (const e of data?.extents ?? []) {
        expect(existsSync(join(dirname(path), basename(e.filename)))).toBe(true);
      }
    }
    if (fact.format === 'qcow2') {
      expect(info['format-specific']?.type).toBe('qcow2');
      expect(info['backing-filename']).toBe(fact.backing?.filename);
      expect(info['backing-filename-format']).toBe(fact.backing?.format);
    }
    if (fact.vhdType) {
      expect(await vhdDiskType(path)).toBe(fact.vhdType === 'fixed' ? 2 : 3);
      if (fact.vhdType === 'fixed') expect(probed['virtual-size']).toBe(fact.virtualSize + 512);
    }
  });

  it('overlays have a two-level backing chain with a relative backing name', async () => {
    for (const name of ['pattern-overlay-qcow2', 'pattern-overlay-raw', 'debian-overlay-qcow2'] as const) {
      const fact: ImageFact = FACTS.images[name];
      const { stdout } = await execa('qemu-img', ['info', '-U', '--output=json', '--backing-chain', fixturePath(name)]);
      const chain = JSON.parse(stdout) as QemuInfo[];
      expect(chain.map((c) => c.format)).toEqual(['qcow2', fact.backing?.format]);
      expect(basename(chain[1]!.filename)).toBe(fact.backing?.filename);
      expect(chain[1]!['virtual-size']).toBe(fact.virtualSize);
    }
  });
});

describe('pattern', () => {
  it('pattern.json written by the build matches FACTS.pattern', () => {
    const built = JSON.parse(readFileSync(fixtures['pattern-json'], 'utf8')) as unknown;
    expect(built).toEqual(FACTS.pattern);
  });

  it('the raw disk has the recorded sha256 and non-zero byte count, and is sparse', async () => {
    expect(FACTS.pattern.nonZeroBytes).toBeGreaterThan(0);
    expect(FACTS.pattern.overlay.nonZeroBytes).toBeGreaterThan(0);
    const path = fixtures['pattern-raw'];
    expect(await sha256File(path)).toBe(FACTS.pattern.sha256);
    let nonZero = 0;
    for await (const chunk of createReadStream(path)) {
      const b = chunk as Buffer;
      for (let i = 0; i < b.length; i++) if (b[i] !== 0) nonZero++;
    }
    expect(nonZero).toBe(FACTS.pattern.nonZeroBytes);
    const st = statSync(path);
    expect(st.size).toBe(FACTS.pattern.virtualSize);
    expect(st.blocks * 512).toBeLessThan(st.size / 2); // holes are holes
  });

  it.each(images.filter(([, f]) => f.content === 'pattern' && f.format !== 'raw'))(
    '%s shows exactly the pattern bytes (qemu-img compare)',
    async (name, fact) => {
      await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', fact.format, fixtures['pattern-raw'], fixturePath(name)]);
    },
  );

  it('both overlays show the pattern plus the recorded writes', async () => {
    const t = tempDir();
    try {
      for (const name of ['pattern-overlay-qcow2', 'pattern-overlay-raw'] as const) {
        const out = join(t.path, `${name}.raw`);
        await execa('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', fixturePath(name), out]);
        expect(await sha256File(out)).toBe(FACTS.pattern.overlay.sha256);
      }
      const differs = await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', 'qcow2', fixtures['pattern-raw'], fixtures['pattern-overlay-qcow2']], { reject: false });
      expect(differs.exitCode).toBe(1);
    } finally {
      t.cleanup();
    }
  });
});

describe('debian', () => {
  it('MBR layout: ext4 root at 1 MiB, swap after it', async () => {
    const { id, parts } = await partitions(fixtures['debian-raw']);
    expect(id).toBe(FACTS.debian.diskId);
    expect(parts.map((p) => ({ start: p.start * 512, size: p.size * 512, type: parseInt(p.type, 16), bootable: p.bootable === true }))).toEqual(
      FACTS.debian.partitions.map((p) => ({ start: p.start, size: p.size, type: p.mbrType, bootable: p.bootable })),
    );
  });

  it('the initramfs has VMware drivers and no virtio', () => {
    const list = readFileSync(fixtures['debian-initramfs-list'], 'utf8').split('\n');
    const kver = readFileSync(fixtures['debian-kernel-version'], 'utf8').trim();
    expect(kver).toMatch(/^6\.1\.0-\d+-amd64$/);
    const mods = list.filter((l) => l.endsWith('.ko') || l.endsWith('.ko.xz') || l.endsWith('.ko.zst')).map((l) => basename(l).replace(/\.ko(\.xz|\.zst)?$/, ''));
    for (const m of FACTS.debian.initramfsIncludes) expect(mods).toContain(m);
    for (const m of FACTS.debian.initramfsExcludes) expect(mods).not.toContain(m);
    expect(readFileSync(fixtures['debian-debian-version'], 'utf8')).toMatch(/^12\.\d+\n$/);
  });

  it.each(['debian-vmdk-streamOptimized', 'debian-vmdk-twoGbMaxExtentSparse', 'debian-vhd'] as const)(
    '%s shows the same bytes as debian.raw',
    async (name) => {
      const fact: ImageFact = FACTS.images[name];
      await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', fact.format, fixtures['debian-raw'], fixturePath(name)]);
    },
  );

  it('the OVA is OVF, manifest, disk in that order, and the manifest matches', async () => {
    const members = await tarMembers(fixtures['debian-ova']);
    expect(members.map((m) => m.name)).toEqual(FACTS.debian.ova.members);
    const byName = new Map(members.map((m) => [m.name, m]));
    const t = tempDir();
    try {
      await execa('tar', ['-xf', fixtures['debian-ova'], '-C', t.path]);
      const mf = readFileSync(join(t.path, 'debian-vmware.mf'), 'utf8').trim().split('\n');
      expect(mf).toHaveLength(2);
      for (const line of mf) {
        const m = /^SHA256\((?<file>[^)]+)\)= (?<hex>[0-9a-f]{64})$/.exec(line);
        expect(m, line).not.toBeNull();
        expect(byName.get(m!.groups!.file!)?.sha256).toBe(m!.groups!.hex);
      }
      const ovf = readFileSync(join(t.path, 'debian-vmware.ovf'), 'utf8');
      expect(XMLValidator.validate(ovf)).toBe(true);
      expect(ovf).toContain('ovf:capacity="2" ovf:capacityAllocationUnits="byte * 2^30"');
      const disk = await qemuInfo(join(t.path, 'debian-vmware-disk1.vmdk'), 'vmdk');
      expect(disk['virtual-size']).toBe(FACTS.debian.virtualSize);
      expect(disk['format-specific']?.data['create-type']).toBe('streamOptimized');
    } finally {
      t.cleanup();
    }
  });
});

describe('rhel and twodisk', () => {
  it('rhel: /boot on sda1, LVM PV on sda2', async () => {
    const { parts } = await partitions(fixtures['rhel-raw']);
    expect(parts.map((p) => ({ start: p.start * 512, size: p.size * 512, type: parseInt(p.type, 16), bootable: p.bootable === true }))).toEqual(
      FACTS.rhel.partitions.map((p) => ({ start: p.start, size: p.size, type: p.mbrType, bootable: p.bootable })),
    );
    expect(readFileSync(fixtures['rhel-pvid'], 'utf8').trim()).toMatch(/^[A-Za-z0-9]{32}$/);
    await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', 'vmdk', fixtures['rhel-raw'], fixtures['rhel-vmdk']]);
  });

  it('twodisk: two MBR disks of the recorded sizes', async () => {
    expect((await qemuInfo(fixtures['twodisk-sda'], 'vmdk'))['virtual-size']).toBe(FACTS.twodisk.sdaSize);
    expect((await qemuInfo(fixtures['twodisk-sdb'], 'vmdk'))['virtual-size']).toBe(FACTS.twodisk.sdbSize);
  });
});

describe('ovf dialects', () => {
  const dialects = Object.entries(FACTS.ovf.dialects);
  it.each(dialects)('%s: descriptor, manifest, disks and OVA', async (dialect, fact) => {
    const ovfPath = fixturePath(`ovf-${dialect}` as FixtureName);
    const folder = dirname(ovfPath);
    const ovf = readFileSync(ovfPath, 'utf8');
    expect(XMLValidator.validate(ovf)).toBe(true);
    expect(ovf).toContain(`<vssd:VirtualSystemType>${fact.virtualSystemType}</vssd:VirtualSystemType>`);
    if (dialect.startsWith('vbox')) {
      expect(ovf).toContain(`ovf:version="${fact.ovfVersion}"`);
      expect(ovf).toContain('<vbox:Machine ovf:required="false"');
      expect(ovf).toContain('<rasd:HostResource>/disk/vmdisk1</rasd:HostResource>'.replace(/rasd/g, fact.ovfVersion === '2.0' ? 'sasd' : 'rasd'));
      expect(ovf).toContain(fact.firmware === 'efi' ? '<Firmware type="EFI"/>' : '<Firmware type="BIOS"/>');
    } else {
      expect(ovf).toContain('xmlns:vmw="http://www.vmware.com/schema/ovf"');
      expect(ovf).toContain(`vmw:key="firmware" vmw:value="${fact.firmware}"`);
    }
    for (const [i, d] of fact.disks.entries()) {
      const capacity = fact.capacityUnits === 'byte * 2^30' ? d.capacity / 2 ** 30 : fact.capacityUnits === 'byte * 2^20' ? d.capacity / 2 ** 20 : d.capacity;
      const units = fact.capacityUnits ? ` ovf:capacityAllocationUnits="${fact.capacityUnits}"` : '';
      expect(ovf).toContain(`<Disk ovf:capacity="${capacity}"${units} ovf:diskId="vmdisk${i + 1}"`);
      const info = await qemuInfo(join(folder, d.href), 'vmdk');
      expect(info['virtual-size']).toBe(d.capacity);
      expect(info['format-specific']?.data['create-type']).toBe('streamOptimized');
    }
    const mf = readFileSync(join(folder, `${FACTS.ovf.vmName}.mf`), 'utf8').trim().split('\n');
    const listed = new Set<string>();
    for (const line of mf) {
      const m = fact.manifestLine.exec(line);
      expect(m, `${dialect}: ${line}`).not.toBeNull();
      const file = m!.groups!.file!;
      listed.add(file);
      expect(await sha256File(join(folder, file), m!.groups!.hex!.length === 40 ? 'sha1' : 'sha256')).toBe(m!.groups!.hex);
    }
    expect([...listed].sort()).toEqual(fact.ovaMembers.filter((n) => !n.endsWith('.mf')).sort());

    const members = await tarMembers(fixturePath(`ovf-${dialect}-ova` as FixtureName));
    expect(members.map((m) => m.name)).toEqual(fact.ovaMembers);
    for (const m of members) expect(m.sha256).toBe(await sha256File(join(folder, m.name)));
  });
});

describe('bad', () => {
  it('truncated.vmdk: opens, check fails, and a plain convert silently reads zeros', async () => {
    const path = fixtures['bad-truncated-vmdk'];
    expect(statSync(path).size).toBe(Math.floor(statSync(fixtures['pattern-vmdk-monolithicSparse']).size / 2));
    expect((await qemuInfo(path, 'vmdk'))['virtual-size']).toBe(FACTS.pattern.virtualSize);
    expect(await qemuFails(['check', '-U', '-f', 'vmdk', path])).toContain('points after EOF');
    const r = await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', 'vmdk', fixtures['pattern-raw'], path], { reject: false });
    expect(r.exitCode).toBe(1); // content mismatch: grains past the end read as zeros
  });

  it('missing-extent.vmdk: cannot be opened (its -s001 extent is absent)', async () => {
    expect(readFileSync(fixtures['bad-missing-extent-vmdk'], 'utf8')).toContain(`"${FACTS.bad.missingExtent}"`);
    expect(existsSync(join(dirname(fixtures['bad-missing-extent-vmdk']), FACTS.bad.missingExtent))).toBe(false);
    await qemuFails(['info', '-U', '-f', 'vmdk', fixtures['bad-missing-extent-vmdk']]);
  });

  it('missing-backing.qcow2: the header names a backing file that is not there', async () => {
    const info = await qemuInfo(fixtures['bad-missing-backing-qcow2'], 'qcow2');
    expect(info['backing-filename']).toBe(FACTS.bad.missingBacking);
    await qemuFails(['info', '-U', '--backing-chain', fixtures['bad-missing-backing-qcow2']]);
  });

  it('json-backing.qcow2: the backing file is a json: pseudo-protocol string', async () => {
    const info = await qemuInfo(fixtures['bad-json-backing-qcow2'], 'qcow2');
    expect(info['backing-filename']).toBe(FACTS.bad.jsonBacking);
    expect(info['backing-filename-format']).toBe('raw');
  });

  it('corrupt qcow2 headers: bad magic probes as raw, bad L1 offset fails to open', async () => {
    expect((await qemuInfo(fixtures['bad-magic-qcow2'])).format).toBe('raw');
    await qemuFails(['info', '-U', '-f', 'qcow2', fixtures['bad-magic-qcow2']]);
    await qemuFails(['info', '-U', fixtures['bad-l1-qcow2']]);
    await qemuFails(['check', '-U', fixtures['bad-l1-qcow2']]);
  });

  it('not-an-image.vmdk is text: probes as raw, fails as vmdk', async () => {
    expect(readFileSync(fixtures['bad-not-an-image'], 'utf8')).toMatch(/^This is not a disk image\./);
    expect((await qemuInfo(fixtures['bad-not-an-image'])).format).toBe('raw');
    await qemuFails(['info', '-U', '-f', 'vmdk', fixtures['bad-not-an-image']]);
  });

  it('blank.qcow2: 1 GiB, no data at all', async () => {
    const info = await qemuInfo(fixtures['bad-blank-qcow2'], 'qcow2');
    expect(info['virtual-size']).toBe(FACTS.bad.blankSize);
    const { stdout } = await execa('qemu-img', ['map', '-U', '--output=json', fixtures['bad-blank-qcow2']]);
    expect((JSON.parse(stdout) as { data: boolean }[]).every((e) => !e.data)).toBe(true);
  });

  it('awkward paths hold the pattern disk', async () => {
    expect(basename(fixtures['bad-space-path'])).toBe('disk one.vmdk');
    expect(basename(dirname(fixtures['bad-space-path']))).toBe('with space');
    expect(basename(fixtures['bad-dash-path'])).toBe('-dash.vmdk');
    for (const p of [fixtures['bad-space-path'], fixtures['bad-dash-path']]) {
      await execa('qemu-img', ['compare', '-U', '-q', '-f', 'raw', '-F', 'vmdk', fixtures['pattern-raw'], p]);
    }
  });

  it('hostile OVAs carry the members they claim', async () => {
    for (const [name, member] of Object.entries(FACTS.bad.evilMembers)) {
      const members = await tarMembers(fixturePath(name as FixtureName));
      expect(members.map((m) => m.name)).toContain(member);
      if (name === 'bad-evil-symlink-ova') {
        expect(members.find((m) => m.name === member)).toMatchObject({ type: 'symlink', linkname: FACTS.bad.evilSymlinkTarget });
      }
    }
  });

  it('hostile OVF descriptors declare entities', () => {
    const xxe = readFileSync(fixtures['bad-xxe-ovf'], 'utf8');
    expect(xxe).toContain('<!ENTITY xxe SYSTEM "file:///etc/passwd">');
    expect(xxe).toContain('&xxe;');
    const laughs = readFileSync(fixtures['bad-entity-expansion-ovf'], 'utf8');
    expect(laughs).toContain('<!ENTITY l9 "&l8;&l8;');
  });
});

describe('sample (assets/sample/sample-vm.vmdk)', () => {
  it('is small, streamOptimized, 256 MiB, MBR with one ext4 partition', async () => {
    const path = fixtures['sample-vmdk'];
    expect(statSync(path).size).toBeLessThan(3 * 1024 * 1024);
    const t = tempDir();
    try {
      const raw = join(t.path, 'sample.raw');
      await execa('qemu-img', ['convert', '-U', '-f', 'vmdk', '-O', 'raw', path, raw]);
      expect(await sha256File(raw)).toBe(FACTS.sample.guestSha256);
      const { parts } = await partitions(raw);
      expect(parts.map((p) => ({ start: p.start * 512, size: p.size * 512, type: parseInt(p.type, 16), bootable: p.bootable === true }))).toEqual(
        FACTS.sample.partitions.map((p) => ({ start: p.start, size: p.size, type: p.mbrType, bootable: p.bootable })),
      );
    } finally {
      t.cleanup();
    }
  });
});

describe('fix_vmdk_cid (test/fixtures/lib.sh)', () => {
  // qemu rewrites a sparse extent's CID in place when the first data is written; a shorter CID
  // leaves the old text's tail after the first NUL. The helper must still rewrite the CID (a CI
  // run once failed on exactly this), leave the image valid and its guest bytes unchanged.
  it('rewrites an embedded descriptor that has leftovers after its NUL, and a descriptor file', async () => {
    const t = tempDir();
    try {
      const raw = fixtures['pattern-raw'];
      const sparse = join(t.path, 'sparse.vmdk');
      const flat = join(t.path, 'flat.vmdk');
      await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicSparse', raw, sparse]);
      await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', raw, flat]);
      // Shorten the CID to two digits the way qemu does: new text, NUL, then the old tail.
      const fh = await open(sparse, 'r+');
      try {
        const header = Buffer.alloc(512);
        await fh.read(header, 0, 512, 0);
        const offset = Number(header.readBigUInt64LE(28)) * 512;
        const area = Buffer.alloc(Number(header.readBigUInt64LE(36)) * 512);
        await fh.read(area, 0, area.length, offset);
        const text = area.subarray(0, area.indexOf(0)).toString('latin1');
        const shorter = text.replace(/^CID=[0-9a-f]+$/m, 'CID=ab');
        const tail = text.slice(shorter.length + 1);
        expect(tail.length).toBeGreaterThan(0);
        await fh.write(Buffer.from(`${shorter}\0${tail}`, 'latin1'), 0, undefined, offset);
      } finally {
        await fh.close();
      }
      const lib = join(REPO_ROOT, 'test', 'fixtures', 'lib.sh');
      await execa('bash', ['-c', 'source "$1" && fix_vmdk_cid "$2" && fix_vmdk_cid "$3"', 'fix', lib, sparse, flat]);
      for (const img of [sparse, flat]) {
        const info = await qemuInfo(img, 'vmdk');
        expect(info['format-specific']?.data['create-type']).toBe(img === sparse ? 'monolithicSparse' : 'monolithicFlat');
        const { stdout } = await execa('grep', ['-a', '-c', '^CID=fffffffe$', img]);
        expect(stdout.trim()).toBe('1');
        await execa('qemu-img', ['compare', '-q', '-f', 'raw', '-F', 'vmdk', raw, img]);
      }
      await execa('qemu-img', ['check', '-q', '-f', 'vmdk', sparse]);
    } finally {
      t.cleanup();
    }
  });
});
