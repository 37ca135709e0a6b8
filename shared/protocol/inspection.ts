/**
 * InspectionReport and Finding: what `inspect` learns about a VM's disks and guest, and what
 * will break on KVM. A finding names the operation (and its parameters) that remedies it, so a
 * client can offer the fix as the next job; where no operation can, it gives manual steps.
 */
import { z } from 'zod';
import { OperationType } from './job-spec';

export const Severity = z.enum(['blocker', 'warning', 'info']);
export type Severity = z.infer<typeof Severity>;

export const Evidence = z.object({
  kind: z.enum(['file', 'fact']),
  file: z.string().optional().describe('guest path, e.g. /etc/fstab'),
  line: z.number().int().positive().optional().describe('1-based line number in that file'),
  text: z.string().describe('the line, or the fact in words'),
});
export type Evidence = z.infer<typeof Evidence>;

export const Remediation = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('operation'),
    operation: OperationType,
    params: z.record(z.string(), z.unknown()).describe("the operation's params, less `disks` (the converted output)"),
    target: z.literal('converted_output').describe('repairs always apply to the converted copy, never the source'),
    summary: z.string(),
  }),
  z.object({
    kind: z.literal('manual'),
    steps: z.array(z.string()).min(1),
    summary: z.string(),
  }),
]);
export type Remediation = z.infer<typeof Remediation>;

export const Finding = z
  .object({
    id: z.string().describe('stable rule id, e.g. fstab-device-names'),
    severity: Severity,
    title: z.string(),
    evidence: z.array(Evidence),
    remediation: Remediation,
    disk: z.string().optional().describe('the disk the finding is about, when it is about one'),
  })
  .describe('Finding');
export type Finding = z.infer<typeof Finding>;

/** Filled in by the inspect operation; see docs/protocol/InspectionReport.json for every field. */
export const InspectionReport = z
  .object({
    disks: z.array(z.record(z.string(), z.unknown())),
    guest: z.record(z.string(), z.unknown()).nullable(),
    findings: z.array(Finding),
  })
  .describe('InspectionReport');
export type InspectionReport = z.infer<typeof InspectionReport>;
