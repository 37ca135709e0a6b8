/** The operations this worker implements; any other operation fails with `not_implemented`. */
import type { OperationRegistry } from '../types';

export const OPERATIONS: OperationRegistry = {};

export function implementedOperations(registry: OperationRegistry = OPERATIONS): ReadonlySet<string> {
  return new Set(Object.keys(registry));
}
