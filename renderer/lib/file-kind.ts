/**
 * What the file picker calls a file. The server's `kind` goes by the name's extension alone, so
 * a 19-byte note named `x.img` or an empty `disk.qcow2` would read as disk images. Here the
 * size decides how sure the label sounds: "disk image" only when the size is plausible for
 * one, "image?" (with why) when the name says image but the size does not.
 */
import type { FsEntry } from '../../shared/contract';

export interface FileKindLabel {
  /** A few words after the size: "disk image", "image?", "empty file", "VM package", "extent". */
  text: string;
  /** Why the label is unsure, or what to do instead; null when there is nothing to add. */
  note: string | null;
  /** True when the file may well be what its name says (shown in bold). */
  likely: boolean;
}

const SECTOR = 512;
/** Names of raw images, whose size is always a whole number of sectors. */
const RAW_LIKE = /\.(img|raw|bin|dd)$/i;
/** A vmdk may be a text descriptor (a few hundred bytes); the smallest useful one is longer than this. */
const MIN_VMDK_DESCRIPTOR = 64;

/** The label of a picker entry; null for an entry with no kind (folders, other files). */
export function fileKindLabel(entry: Pick<FsEntry, 'name' | 'kind' | 'size_bytes'>): FileKindLabel | null {
  const size = entry.size_bytes;
  switch (entry.kind) {
    case null:
      return null;
    case 'extent':
      return { text: 'extent', note: 'choose its descriptor .vmdk', likely: false };
    case 'package':
      return size === 0 ? { text: 'empty file', note: null, likely: false } : { text: 'VM package', note: null, likely: true };
    case 'disk': {
      if (size === null) return { text: 'image?', note: 'size unknown', likely: false };
      if (size === 0) return { text: 'empty file', note: null, likely: false };
      const min = /\.vmdk$/i.test(entry.name) ? MIN_VMDK_DESCRIPTOR : SECTOR;
      if (size < min) return { text: 'image?', note: 'too small for a disk image', likely: false };
      if (RAW_LIKE.test(entry.name) && size % SECTOR !== 0) return { text: 'image?', note: 'not a whole number of 512-byte sectors', likely: false };
      return { text: 'disk image', note: null, likely: true };
    }
  }
}
