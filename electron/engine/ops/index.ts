/** The operations this worker implements; any other operation fails with `not_implemented`. */
import type { OperationRegistry } from '../types';
import { convertOperation } from './convert';
import { inspectOperation } from './inspect';

export const OPERATIONS: OperationRegistry = {
  convert: convertOperation,
  inspect: inspectOperation,
};

export function implementedOperations(registry: OperationRegistry = OPERATIONS): ReadonlySet<string> {
  return new Set(Object.keys(registry));
}
