/**
 * JobResult: what a finished job leaves behind. Stored with the job; the artifacts list every
 * file the job wrote, the metrics come from the stored transitions and the operation itself.
 */
import { z } from 'zod';
import { Bytes, ErrorInfo, JobId, ProtocolVersion, PROTOCOL_VERSION } from './common';
import { OperationType } from './job-spec';

export const Artifact = z
  .object({
    path: z.string().describe('absolute path of the file'),
    role: z.enum(['disk', 'extent', 'descriptor', 'report']).describe('what the file is'),
    format: z.string().nullable().describe('qemu-img format name, or e.g. "json" for reports'),
    size_bytes: Bytes.describe('size of the file on disk (apparent size)'),
    allocated_bytes: Bytes.nullable().optional().describe('bytes actually allocated on the host filesystem'),
    virtual_size: Bytes.nullable().optional().describe('for disks: the size the guest sees'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable().describe('of the file, when asked for'),
    verification: z
      .object({
        method: z.enum(['none', 'compare', 'checksum']),
        ok: z.boolean().nullable(),
        detail: z.string().nullable(),
        guest_sha256: z.string().nullable().optional().describe('sha256 of the guest-visible bytes'),
      })
      .optional(),
  })
  .describe('Artifact');
export type Artifact = z.infer<typeof Artifact>;

export const Metrics = z
  .object({
    queued_s: z.number().nonnegative().nullable().describe('seconds from CREATED to ASSIGNED (last attempt)'),
    run_s: z.number().nonnegative().nullable().describe('seconds from RUNNING to the end (last attempt)'),
    total_s: z.number().nonnegative().describe('seconds from CREATED to the end'),
    attempts: z.number().int().nonnegative(),
    bytes_processed: Bytes.nullable().describe('for convert: virtual bytes copied'),
    throughput_bps: z.number().nonnegative().nullable().describe('bytes_processed / run_s'),
    stages: z.record(z.string(), z.number().nonnegative()).default({}).describe('seconds per stage'),
  })
  .describe('Metrics');
export type Metrics = z.infer<typeof Metrics>;

export const JobOutcome = z.enum(['completed', 'failed', 'cancelled']);
export type JobOutcome = z.infer<typeof JobOutcome>;

export const JobResult = z
  .object({
    protocol: ProtocolVersion.default(PROTOCOL_VERSION),
    job_id: JobId,
    operation: OperationType,
    outcome: JobOutcome,
    finished_at: z.iso.datetime(),
    artifacts: z.array(Artifact),
    metrics: Metrics,
    error: ErrorInfo.nullable(),
    payload: z.unknown().describe("the operation's own result: InspectionReport for inspect, ConvertPayload for convert"),
  })
  .describe('JobResult');
export type JobResult = z.infer<typeof JobResult>;
