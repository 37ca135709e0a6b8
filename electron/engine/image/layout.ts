/**
 * Truncation found from an image's own layout, where qemu-img does not report it.
 */
import { open, stat } from 'node:fs/promises';
import type { ImageFormat } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';

/**
 * Truncation that qemu-img 7.2 does not report, found from the file's own layout; qemu would
 * read the missing part as zeroes and convert "successfully":
 * - vdi: `qemu-img check` does not compare block offsets with the file size. The header
 *   (VirtualBox VDIHeader v1.1: offset_data u32 at 0x158, block_size u32 at 0x178,
 *   blocks_allocated u32 at 0x184) says where the last allocated block ends.
 * - flat vmdk extents (FLAT, VMFS): the descriptor gives each extent's size in sectors.
 * Throws `image_truncated` naming the file and both sizes.
 */
export async function checkLayoutTruncation(path: string, format: ImageFormat, extents: readonly { path: string; kind: string; size_bytes: number | null }[]): Promise<void> {
  if (format === 'vdi') {
    const fh = await open(path, 'r');
    try {
      const h = Buffer.alloc(0x188);
      const { bytesRead } = await fh.read(h, 0, h.length, 0);
      const size = (await fh.stat()).size;
      if (bytesRead === h.length && h.readUInt32LE(0x40) === 0xbeda107f) {
        const end = h.readUInt32LE(0x158) + h.readUInt32LE(0x184) * h.readUInt32LE(0x178);
        if (end > size) throw new WorkerError('image_truncated', { detail: `${path}: ${size} bytes, but its header places allocated blocks up to byte ${end}` });
      }
    } finally {
      await fh.close();
    }
  }
  for (const e of extents) {
    if (!/^(FLAT|VMFS)$/i.test(e.kind) || e.size_bytes === null) continue;
    const size = (await stat(e.path)).size;
    if (size < e.size_bytes) throw new WorkerError('image_truncated', { detail: `${e.path}: ${size} bytes, but the descriptor of ${path} says the extent holds ${e.size_bytes}` });
  }
}

