/**
 * From a finding to the job that remedies it: the remediation's operation and params, applied
 * to the converted copy (never the source), with labels that trace it back to the finding.
 */
import type { Finding } from '../../shared/protocol';

export interface FixSpec {
  operation: string;
  params: Record<string, unknown>;
  labels: Record<string, string>;
}

/**
 * The spec that carries out a finding's operation remediation on `convertedOutputs` (the
 * converted copies of the inspected disks, in order); null for a manual remediation.
 */
export function fixSpec(finding: Finding, convertedOutputs: readonly string[], inspectJobId: string): FixSpec | null {
  const r = finding.remediation;
  if (r.kind !== 'operation') return null;
  return {
    operation: r.operation,
    params: { ...r.params, disks: [...convertedOutputs] },
    labels: { finding: finding.id.slice(0, 256), inspect_job: inspectJobId },
  };
}

/** Converted outputs of a convert spec for the given sources, in the sources' order; null unless it covers them all. */
export function outputsFor(sources: readonly string[], convertDisks: readonly { source: string; output: string }[]): string[] | null {
  const out: string[] = [];
  for (const s of sources) {
    const hit = convertDisks.find((d) => d.source === s);
    if (!hit) return null;
    out.push(hit.output);
  }
  return out;
}
