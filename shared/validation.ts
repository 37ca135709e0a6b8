/**
 * Turning zod errors into the protocol's field list: each offending field path, dotted
 * (`params.disks.0`), and what was expected there.
 */
import type { z } from 'zod';
import type { ErrorInfo } from './protocol/common';

export function fieldErrors(error: z.ZodError): NonNullable<ErrorInfo['fields']> {
  return error.issues.flatMap((issue) => flatten(issue, []));
}

function flatten(issue: z.core.$ZodIssue, prefix: PropertyKey[]): NonNullable<ErrorInfo['fields']> {
  const path = [...prefix, ...issue.path];
  // A discriminated union or union reports its branches' issues nested; show the best branch.
  if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length > 0) {
    const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
    if (best.length > 0) return best.flatMap((inner) => flatten(inner, path));
  }
  // An unknown key is named by its own path, so a typo ("verfy") points at itself.
  if (issue.code === 'unrecognized_keys' && 'keys' in issue) {
    return issue.keys.map((k) => ({ path: [...path, k].map(String).join('.'), message: 'unknown field: not part of the protocol (a typo?)' }));
  }
  return [{ path: path.map(String).join('.'), message: issue.message }];
}
