import { describe, expect, it } from 'vitest';
import { fileKindLabel } from '../../../renderer/lib/file-kind';

const e = (name: string, kind: 'disk' | 'package' | 'extent' | null, size_bytes: number | null) => ({ name, kind, size_bytes });

describe('fileKindLabel: the file picker says "disk image" only when it is plausible', () => {
  it('labels plausible disk images and VM packages', () => {
    expect(fileKindLabel(e('web01.qcow2', 'disk', 196_608))).toEqual({ text: 'disk image', note: null, likely: true });
    expect(fileKindLabel(e('disk.img', 'disk', 10 * 1024 * 1024))).toEqual({ text: 'disk image', note: null, likely: true });
    // A vmdk descriptor is a few hundred bytes of text.
    expect(fileKindLabel(e('web01.vmdk', 'disk', 512 + 37))).toEqual({ text: 'disk image', note: null, likely: true });
    expect(fileKindLabel(e('web01.ova', 'package', 20480))).toEqual({ text: 'VM package', note: null, likely: true });
  });

  it('says "image?" with why when the size does not fit the name', () => {
    expect(fileKindLabel(e('note.img', 'disk', 19))).toEqual({ text: 'image?', note: 'too small for a disk image', likely: false });
    expect(fileKindLabel(e('tiny.vmdk', 'disk', 40))).toEqual({ text: 'image?', note: 'too small for a disk image', likely: false });
    expect(fileKindLabel(e('odd.raw', 'disk', 4097))).toEqual({ text: 'image?', note: 'not a whole number of 512-byte sectors', likely: false });
    expect(fileKindLabel(e('odd.qcow2', 'disk', 4097))).toEqual({ text: 'disk image', note: null, likely: true });
    expect(fileKindLabel(e('x.vhd', 'disk', null))).toEqual({ text: 'image?', note: 'size unknown', likely: false });
  });

  it('calls empty files empty, points extents at their descriptor, and leaves other files unlabelled', () => {
    expect(fileKindLabel(e('disk.qcow2', 'disk', 0))).toEqual({ text: 'empty file', note: null, likely: false });
    expect(fileKindLabel(e('vm.ova', 'package', 0))).toEqual({ text: 'empty file', note: null, likely: false });
    expect(fileKindLabel(e('d-s001.vmdk', 'extent', 2_000_000))).toEqual({ text: 'extent', note: 'choose its descriptor .vmdk', likely: false });
    expect(fileKindLabel(e('readme.txt', null, 100))).toBeNull();
  });
});
