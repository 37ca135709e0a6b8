/**
 * ConvertPayload: what a convert job reports beside its artifacts (JobResult.payload), one entry
 * per disk: where it came from and went, the exact qemu-img command line, the pre-flight numbers,
 * the source's size and modification time before and after (the audit trail that the source was
 * not touched), the time each stage took and the verification outcome.
 */
import { z } from 'zod';
import { Bytes, ImageFormat } from './common';

/** Size and modification time of one source file (the image, an extent or a backing file). */
export const FileStamp = z.object({
  path: z.string(),
  size_bytes: Bytes,
  mtime_ns: z.string().regex(/^\d+$/).describe('modification time, nanoseconds since the epoch (a decimal string: it exceeds 2^53)'),
});
export type FileStamp = z.infer<typeof FileStamp>;

export const ConvertVerification = z.object({
  method: z.enum(['none', 'compare', 'checksum']),
  ok: z.boolean().nullable().describe('null when not verified'),
  detail: z.string().nullable(),
  source_guest_sha256: z.string().nullable().describe('checksum: sha256 of the bytes the guest sees in the source'),
  output_guest_sha256: z.string().nullable().describe('checksum: the same of the output (over the source\'s virtual size)'),
  seconds: z.number().nonnegative(),
});
export type ConvertVerification = z.infer<typeof ConvertVerification>;

export const ConvertedDisk = z.object({
  source: z.string().describe('the source as given (an image, or the .ova holding it)'),
  member: z.string().nullable().describe('the disk inside the package, when the source is one'),
  source_format: ImageFormat,
  source_subformat: z.string().nullable(),
  /** Files the copy read: the image, its extents and its backing chain (flattened into the output). */
  source_files: z.array(z.string()),
  backing_chain: z.array(z.string()).describe('backing files flattened into the output, nearest first'),
  virtual_size: Bytes.describe('of the source'),
  source_allocated_bytes: Bytes.describe('host bytes allocated to the source files'),
  output: z.string().describe('final path (the descriptor for a multi-file vmdk)'),
  output_format: ImageFormat,
  output_subformat: z.string().nullable(),
  output_virtual_size: Bytes.describe('differs from virtual_size only when rounded up for Azure'),
  files: z.array(z.string()).describe('every output file, extents first, descriptor (or the disk) last'),
  command: z.array(z.string()).describe('the qemu-img convert command line, as run (against the temporary name)'),
  preflight: z.object({
    required_bytes: Bytes.describe('estimated from qemu-img measure, or an upper bound when the destination has room for it, see docs/convert.md'),
    required_from: z
      .enum(['qemu-img measure', 'upper bound'])
      .optional()
      .describe('qemu-img measure (or the virtual size, exact for raw); or the most such an output can take, used without measuring when the free space exceeds it. Results made before this field existed were all measured'),
    free_bytes: Bytes.describe('free at the destination before the copy'),
  }),
  source_before: z.array(FileStamp),
  source_after: z.array(FileStamp),
  source_untouched: z.boolean(),
  copy_s: z.number().nonnegative(),
  flush_s: z.number().nonnegative(),
  verification: ConvertVerification,
});
export type ConvertedDisk = z.infer<typeof ConvertedDisk>;

export const ConvertPayload = z
  .object({
    format: ImageFormat,
    verify: z.enum(['none', 'compare', 'checksum']),
    disks: z.array(ConvertedDisk),
    virtual_bytes: Bytes.describe('sum of the virtual sizes copied'),
  })
  .describe('ConvertPayload');
export type ConvertPayload = z.infer<typeof ConvertPayload>;
