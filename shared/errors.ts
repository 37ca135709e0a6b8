/**
 * The error catalogue: every error code the worker can report, with its plain-language message
 * and hint. CLI, REST, IPC and UI all print these, so a technician reads the same words
 * everywhere. `kind` keeps user errors (bad path, no space) apart from the machine's and ours.
 */
import { z } from 'zod';
import type { ErrorInfo } from './protocol/common';
import { fieldErrors } from './validation';

type Entry = { message: string; hint: string; kind: ErrorInfo['kind'] };

export const ERROR_CATALOGUE = {
  validation_failed: {
    kind: 'user',
    message: 'The job spec is not valid.',
    hint: 'Fix the fields listed and submit again; `h2k-worker schema JobSpec` prints the full schema.',
  },
  job_exists: {
    kind: 'user',
    message: 'A job with this id already exists.',
    hint: 'Leave the id out to get a new one, or pick another.',
  },
  not_found: {
    kind: 'user',
    message: 'No job with this id.',
    hint: 'List jobs with `h2k-worker list` to find the id.',
  },
  invalid_transition: {
    kind: 'bug',
    message: 'The job cannot move between these states.',
    hint: 'This is a bug in the worker; the job was left as it was. Please report it with the job id.',
  },
  not_terminal: {
    kind: 'user',
    message: 'The job has not finished yet.',
    hint: 'Wait for it to finish or cancel it first.',
  },
  already_terminal: {
    kind: 'user',
    message: 'The job has already finished.',
    hint: 'Nothing to cancel; re-run it to start again.',
  },
  not_implemented: {
    kind: 'environment',
    message: 'This operation is not available in this version of the worker.',
    hint: 'Inspect and convert are available; the repair operations come in a later version.',
  },
  capability_missing: {
    kind: 'environment',
    message: 'This machine lacks something the job needs.',
    hint: 'Run `h2k-worker capabilities` to see what is missing and how to get it.',
  },
  port_in_use: {
    kind: 'environment',
    message: 'The port is already in use by another program.',
    hint: 'Give another one with --port N, or --port 0 to let the system pick a free one (the URL printed says which).',
  },
  host_not_loopback: {
    kind: 'user',
    message: 'The server listens on this machine only (a loopback address).',
    hint: 'Use --host 127.0.0.1 (the default) or ::1; reaching it from other machines waits for fleet mode and its authentication.',
  },
  runner_busy: {
    kind: 'environment',
    message: 'Another runner already executes jobs for this data folder.',
    hint: 'Only one runner per data folder: stop the other one (its pid is in the detail), or use another --data-dir.',
  },
  interrupted: {
    kind: 'environment',
    message: 'The job was interrupted: the runner executing it stopped or died.',
    hint: 'Its partial output was removed. Re-run the job (Re-run in History, or submit it again); with --attempts or a retry policy in the spec, it is retried by itself.',
  },
  cancelled: {
    kind: 'user',
    message: 'The job was cancelled.',
    hint: 'Its partial output was removed. Re-run it when you are ready.',
  },
  timeout: {
    kind: 'user',
    message: 'The job ran longer than its timeout and was stopped.',
    hint: 'Give it more time (--timeout SECONDS on the command line, timeout_s in the spec), or check why the tool was slow (disk, network share, appliance).',
  },
  source_missing: {
    kind: 'user',
    message: 'The source disk does not exist.',
    hint: 'Check the path; copy the VM folder to this machine first if it is on a share that is not mounted.',
  },
  source_unreadable: {
    kind: 'user',
    message: 'The source disk cannot be read.',
    hint: 'Check the file permissions, or run as a user who can read it.',
  },
  not_an_image: {
    kind: 'user',
    message: 'The file is not a disk image qemu-img recognises.',
    hint: 'Pick the disk file itself (.vmdk descriptor, .vhd, .vhdx, .vdi, .qcow2, .img) or the .ova/.ovf package.',
  },
  image_corrupt: {
    kind: 'user',
    message: 'The disk image is corrupt.',
    hint: 'Take the disk again from the source hypervisor; `qemu-img check` output is in the detail.',
  },
  image_truncated: {
    kind: 'user',
    message: 'The disk image is shorter than its own header says: it was cut off.',
    hint: 'The copy was probably interrupted. Copy the disk again from the source.',
  },
  image_encrypted: {
    kind: 'user',
    message: 'The disk image is encrypted.',
    hint: 'Decrypt it on the source hypervisor before moving it.',
  },
  backing_missing: {
    kind: 'user',
    message: 'A file in the backing chain is missing.',
    hint: 'Copy the whole VM folder, snapshots and parent disks included, keeping their names.',
  },
  backing_refused: {
    kind: 'user',
    message: 'The backing file is a json: or network reference, which the worker refuses to follow.',
    hint: 'Rebase the image onto a local file (`qemu-img rebase`) or flatten it on the source first.',
  },
  extent_missing: {
    kind: 'user',
    message: 'An extent of the vmdk is missing.',
    hint: 'Copy every -sNNN.vmdk / -flat.vmdk file next to the descriptor, keeping their names.',
  },
  unsafe_package: {
    kind: 'user',
    message: 'The OVA contains a member whose name points outside the package.',
    hint: 'The package is malformed or hostile; export the VM again.',
  },
  ovf_invalid: {
    kind: 'user',
    message: 'The OVF descriptor cannot be read.',
    hint: 'Export the VM again; the detail says what is wrong.',
  },
  xml_entity_refused: {
    kind: 'user',
    message: 'The OVF uses XML entities or a DOCTYPE, which the worker refuses to resolve.',
    hint: 'Real exporters never write these; export the VM again.',
  },
  package_invalid: {
    kind: 'user',
    message: 'The OVA is not a readable tar archive, or it was cut off.',
    hint: 'Copy the package again (compare its size with the original), or export the VM again; the detail says what is wrong.',
  },
  package_unsupported: {
    kind: 'user',
    message: 'The package uses a feature the worker cannot read in place.',
    hint: 'The detail names it. Export again without compression or chunking (ovftool defaults), or unpack the package first (`tar -xf`) and open the .ovf.',
  },
  manifest_mismatch: {
    kind: 'user',
    message: 'A file in the package does not match its checksum in the manifest.',
    hint: 'The package was damaged in transfer; copy it again.',
  },
  source_in_use: {
    kind: 'user',
    message: 'Another program has the source disk open for writing.',
    hint: 'Shut the VM down (or stop the program holding the disk), then convert again.',
  },
  source_changed: {
    kind: 'environment',
    message: 'The source disk changed while it was being converted.',
    hint: 'Something wrote to the source during the copy, so the copy cannot be trusted. Stop it (a running VM, a sync tool) and convert again.',
  },
  output_exists: {
    kind: 'user',
    message: 'The output file already exists.',
    hint: 'Choose another name, or allow overwriting (--overwrite).',
  },
  output_is_input: {
    kind: 'user',
    message: 'The output would overwrite the source or a file in its backing chain.',
    hint: 'Choose an output path outside the source VM files.',
  },
  folder_unusable: {
    kind: 'user',
    message: 'A folder the worker needs cannot be created or used.',
    hint: 'Check the path (the detail names it): choose a data folder with --data-dir or H2K_DATA_DIR, a scratch folder with H2K_SCRATCH_DIR, a cache folder with H2K_CACHE_DIR, each one you can write to.',
  },
  dest_not_writable: {
    kind: 'user',
    message: 'The destination folder does not exist or cannot be written.',
    hint: 'Create the folder, or pick one you can write to.',
  },
  no_space: {
    kind: 'environment',
    message: 'Not enough free space at the destination.',
    hint: 'Free space, or choose another destination; the detail gives both numbers.',
  },
  tool_missing: {
    kind: 'environment',
    message: 'A tool the job needs is not installed.',
    hint: 'Run `h2k-worker capabilities` for the package to install.',
  },
  tool_failed: {
    kind: 'environment',
    message: 'A tool the job ran failed.',
    hint: 'The tool output is in the detail and in the job log.',
  },
  appliance_failed: {
    kind: 'environment',
    message: 'The libguestfs appliance could not start.',
    hint: 'Run `h2k-worker capabilities --refresh`; `libguestfs-test-tool` shows the full story.',
  },
  verification_failed: {
    kind: 'environment',
    message: 'The converted disk does not match the source.',
    hint: 'The output was kept under its final name for analysis, but do not use it. Check the destination storage.',
  },
  unauthorized: {
    kind: 'user',
    message: 'The request has no valid token.',
    hint: 'Open the URL that `h2k-worker serve` printed; it carries the token.',
  },
  forbidden_origin: {
    kind: 'user',
    message: 'The request came from another web page or host name.',
    hint: 'Use the URL that `h2k-worker serve` printed.',
  },
  forbidden_sender: {
    kind: 'bug',
    message: 'The request came from a frame that is not the app window.',
    hint: 'This should never happen in the app; please report it.',
  },
  bad_request: {
    kind: 'user',
    message: 'The request is not valid.',
    hint: 'The fields listed say what was expected.',
  },
  path_outside_roots: {
    kind: 'user',
    message: 'That folder is outside the folders this server may show.',
    hint: 'Restart `h2k-worker serve` with --root for that folder.',
  },
  worker_unreachable: {
    kind: 'environment',
    message: 'The worker does not answer.',
    hint: 'Is `h2k-worker serve` still running? Start it again and open the URL it prints; jobs already submitted are kept.',
  },
  internal: {
    kind: 'bug',
    message: 'The worker hit an unexpected error.',
    hint: 'Please report it with the job id and the detail.',
  },
} as const satisfies Record<string, Entry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

/** Build the ErrorInfo of a catalogue code, with optional detail and field list. */
export function errorInfo(
  code: ErrorCode,
  extra: { detail?: string; fields?: ErrorInfo['fields']; message?: string; hint?: string } = {},
): ErrorInfo {
  const entry: Entry = ERROR_CATALOGUE[code];
  const info: ErrorInfo = { code, message: extra.message ?? entry.message, hint: extra.hint ?? entry.hint, kind: entry.kind };
  if (extra.detail !== undefined) info.detail = extra.detail;
  if (extra.fields !== undefined) info.fields = extra.fields;
  return info;
}

/** An error that carries its catalogue entry across any boundary as data (`toInfo()`). */
export class WorkerError extends Error {
  readonly info: ErrorInfo;
  constructor(code: ErrorCode, extra: Parameters<typeof errorInfo>[1] = {}) {
    const info = errorInfo(code, extra);
    super(info.detail ? `${info.message} ${info.detail}` : info.message);
    this.name = 'WorkerError';
    this.info = info;
  }
  get code(): ErrorCode {
    return this.info.code as ErrorCode;
  }
  static fromInfo(info: ErrorInfo): WorkerError {
    const code = isErrorCode(info.code) ? info.code : 'internal';
    const err = new WorkerError(code, { detail: info.detail, fields: info.fields, message: info.message, hint: info.hint });
    return err;
  }
}

/**
 * Any thrown value as ErrorInfo: WorkerErrors keep their code, a zod validation error becomes
 * `validation_failed` with its fields, anything else is `internal`.
 */
export function toErrorInfo(err: unknown): ErrorInfo {
  if (err instanceof WorkerError) return err.info;
  if (err instanceof z.ZodError) return errorInfo('validation_failed', { fields: fieldErrors(err) });
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return errorInfo('internal', { detail });
}

/** One line for terminals and logs: `message (code) — hint`. */
export function formatError(info: ErrorInfo): string {
  const fields = info.fields?.length ? '\n' + info.fields.map((f) => `  - ${f.path || '(spec)'}: ${f.message}`).join('\n') : '';
  const detail = info.detail ? `\n  ${info.detail.split('\n').join('\n  ')}` : '';
  return `${info.message} [${info.code}]${fields}${detail}\n  hint: ${info.hint}`;
}
