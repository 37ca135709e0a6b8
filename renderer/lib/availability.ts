/**
 * Whether an operation can be chosen here, and why not, from the capabilities report: not in
 * this version of the worker (`implemented: false`), or missing something on this machine.
 */
import type { OperationType, WorkerCapabilities } from '../../shared/protocol';
import { ERROR_CATALOGUE } from '../../shared/errors';

export interface Availability {
  enabled: boolean;
  /** Why not, in words for the technician; null when enabled. */
  reason: string | null;
  implemented: boolean;
}

/** Availability of an operation; while capabilities are unknown, only the core operations are offered. */
export function availability(caps: WorkerCapabilities | null, op: OperationType): Availability {
  const s = caps?.operations.find((o) => o.operation === op);
  if (!s) {
    const core = op === 'inspect' || op === 'convert';
    return core
      ? { enabled: true, reason: null, implemented: true }
      : { enabled: false, reason: 'Checking what this machine can do…', implemented: false };
  }
  if (!s.implemented) return { enabled: false, reason: ERROR_CATALOGUE.not_implemented.message, implemented: false };
  if (!s.runnable) return { enabled: false, reason: s.reasons.join('; ') || ERROR_CATALOGUE.capability_missing.message, implemented: true };
  return { enabled: true, reason: null, implemented: true };
}
