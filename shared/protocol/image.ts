/**
 * ImageFacts: what the image layer knows of one disk file, from `qemu-img info`, `check` and
 * `measure` (QEMU's qemu-img(1)) and from the file's own header (format magic, VHD footer,
 * VDI and VHDX headers, vmdk descriptor). Sizes are bytes.
 */
import { z } from 'zod';
import { Bytes, ImageFormat } from './common';

export const BackingLink = z.object({
  path: z.string().describe('absolute path, resolved as qemu-img resolves it'),
  named_as: z.string().describe('the name as written in the image that refers to it'),
  format: ImageFormat.nullable(),
  exists: z.boolean(),
  virtual_size: Bytes.nullable(),
  actual_size: Bytes.nullable(),
});
export type BackingLink = z.infer<typeof BackingLink>;

export const Extent = z.object({
  path: z.string(),
  named_as: z.string(),
  kind: z.string().describe('SPARSE, FLAT, VMFS, ... as the descriptor says'),
  size_bytes: Bytes.nullable().describe('extent size in bytes per the descriptor (sectors × 512)'),
  exists: z.boolean(),
});
export type Extent = z.infer<typeof Extent>;

export const Integrity = z.object({
  checked: z.boolean().describe('false when the format has no check in qemu-img'),
  ok: z.boolean().nullable(),
  corruptions: z.number().int().nonnegative(),
  leaks: z.number().int().nonnegative(),
  check_errors: z.number().int().nonnegative(),
  detail: z.string().nullable().describe('the first lines qemu-img check printed'),
});

export const Measure = z.object({
  required_bytes: Bytes.describe('space the converted copy needs (qemu-img measure "required")'),
  fully_allocated_bytes: Bytes,
});

export const ImageFacts = z
  .object({
    path: z.string(),
    format: ImageFormat,
    subformat: z.string().nullable().describe('vmdk create-type, vpc/vhdx/vdi fixed or dynamic'),
    virtual_size: Bytes.describe('size the guest sees'),
    actual_size: Bytes.describe('bytes allocated on the host for this file (and its extents)'),
    file_size: Bytes.describe('apparent size of the file'),
    cluster_size: Bytes.nullable(),
    backing_chain: z.array(BackingLink).describe('the images below this one, nearest first'),
    snapshots: z.array(z.object({ id: z.string(), name: z.string(), date: z.iso.datetime().nullable(), vm_state_size: Bytes })),
    extents: z.array(Extent).describe('vmdk extents (files holding the data), in order'),
    encrypted: z.boolean(),
    dirty: z.boolean().describe('not cleanly shut down (qcow2 dirty flag, vhdx log to replay)'),
    in_use: z
      .boolean()
      .default(false)
      .describe(
        'another process (a running VM, qemu-nbd, qemu-io) holds the image\'s QEMU write lock: `qemu-img info` without -U was refused, the facts were read with -U (force share). Reports made before this field existed read as false',
      ),
    integrity: Integrity,
    measure: z.object({ qcow2: Measure, raw: Measure }).nullable(),
    notes: z.array(z.string()).describe('things worth knowing that are not errors'),
  })
  .describe('ImageFacts');
export type ImageFacts = z.infer<typeof ImageFacts>;
