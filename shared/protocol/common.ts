/**
 * Building blocks shared by every part of the Worker Job Protocol v1.
 *
 * Wire names are snake_case, as in the protocol's JSON documents; sizes are bytes, durations
 * seconds, times ISO 8601 strings in UTC unless a field name says otherwise.
 */
import { z } from 'zod';

/** The protocol this build speaks. Every job spec and result carries it. */
export const PROTOCOL_VERSION = 'hyper2kvm.worker/v1' as const;
export const ProtocolVersion = z.literal(PROTOCOL_VERSION).describe('Worker Job Protocol version');

/** Job id: letters, digits, `-` and `_`, 1 to 64 characters, not starting with `-`. */
export const JobId = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/, 'a job id is 1-64 letters, digits, "-" or "_", not starting with "-"')
  .describe('Job id');
export type JobId = z.infer<typeof JobId>;

/** ISO 8601 time in UTC, e.g. `2026-11-29T14:00:00.000Z`. */
export const Timestamp = z.iso.datetime().describe('ISO 8601 time (UTC)');

/** A non-negative whole number of bytes. */
export const Bytes = z.number().int().nonnegative().describe('bytes');

/** A non-negative number of seconds. */
export const Seconds = z.number().nonnegative().describe('seconds');

/**
 * An absolute path on the worker's machine. Relative paths are refused by the schema because a
 * job may run in another process with another working folder; doors (CLI, UI) resolve them first.
 */
export const AbsolutePath = z
  .string()
  .min(2, 'a path is needed')
  .max(4096, 'a path is at most 4096 characters')
  .refine((p) => p.startsWith('/'), 'an absolute path (starting with "/") is expected')
  .refine((p) => !p.includes('\0'), 'a path cannot contain a NUL byte')
  .describe('absolute path');

/** Disk image formats, as qemu-img names them (`qemu-img --help`, "Supported formats"). */
export const ImageFormat = z.enum(['raw', 'qcow2', 'vmdk', 'vpc', 'vhdx', 'vdi']);
export type ImageFormat = z.infer<typeof ImageFormat>;

/** Error as data, the same across CLI, REST, IPC and UI. `code` comes from the error catalogue. */
export const ErrorInfo = z
  .object({
    code: z.string().describe('error code from the catalogue (shared/errors.ts)'),
    message: z.string().describe('what went wrong, in plain language'),
    hint: z.string().describe('what to do about it'),
    kind: z.enum(['user', 'environment', 'bug']).describe('who can fix it: the user, the machine, or us'),
    detail: z.string().optional().describe('tool output or specifics'),
    fields: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('for validation errors: each offending field path and what was expected'),
  })
  .describe('ErrorInfo');
export type ErrorInfo = z.infer<typeof ErrorInfo>;
