/**
 * The rules engine: runs the rule table (table.ts) over the facts and a target profile, in
 * table order, and turns each hit into a Finding. A remediation's parameters are the row's
 * static params merged with the hit's, then parsed by the operation's own params schema less
 * `disks` (shared/protocol/job-spec.ts), so every finding carries a params object the
 * operation accepts as is. Pure.
 */
import { z } from 'zod';
import {
  BootRepairParams,
  FsRepairParams,
  InitramfsRegenParams,
  LvmRepairParams,
  OfflineFixParams,
  SelinuxPrepParams,
  type Finding,
  type InspectionReport,
  type TargetProfile,
} from '../../../shared/protocol';
import { RULES, type Hit, type Rule, type RuleInput } from './table';

/** Each repair operation's params schema, without `disks` (the converted output, chosen later). */
export const REMEDIATION_PARAMS = {
  offline_fix: OfflineFixParams.omit({ disks: true }),
  boot_repair: BootRepairParams.omit({ disks: true }),
  selinux_prep: SelinuxPrepParams.omit({ disks: true }),
  lvm_repair: LvmRepairParams.omit({ disks: true }),
  fs_repair: FsRepairParams.omit({ disks: true }),
  initramfs_regen: InitramfsRegenParams.omit({ disks: true }),
} as const satisfies Record<string, z.ZodType>;

function finding(rule: Rule, h: Hit, where: { disk?: string; root?: string }): Finding {
  const r = rule.remediation;
  let remediation: Finding['remediation'];
  if (r.kind === 'operation') {
    const params = REMEDIATION_PARAMS[r.operation].parse({ ...r.params, ...(h.params ?? {}) }) as Record<string, unknown>;
    remediation = { kind: 'operation', operation: r.operation, params, target: 'converted_output', summary: r.summary };
  } else remediation = { kind: 'manual', steps: r.steps, summary: r.summary };
  return {
    id: rule.id,
    severity: h.severity ?? rule.severity,
    title: rule.title,
    evidence: h.evidence,
    remediation,
    ...(where.disk ? { disk: where.disk } : {}),
    ...(where.root ? { root: where.root } : {}),
  };
}

/** Evaluate every rule; findings come in table order (disk by disk, root by root within a rule). */
export function evaluateRules(
  report: Pick<InspectionReport, 'disks' | 'packages' | 'guest' | 'destination'>,
  target: TargetProfile,
  rules: readonly Rule[] = RULES,
): Finding[] {
  const findings: Finding[] = [];
  const input = (): RuleInput => ({ report, target, findings });
  for (const rule of rules) {
    switch (rule.scope) {
      case 'report': {
        const h = rule.check(input());
        if (h) findings.push(finding(rule, h, {}));
        break;
      }
      case 'disk':
        for (const d of report.disks) {
          const h = rule.check(d, input());
          if (h) findings.push(finding(rule, h, { disk: d.disk_id }));
        }
        break;
      case 'root':
        for (const r of report.guest.roots) {
          const h = rule.check(r, input());
          if (h) findings.push(finding(rule, h, { root: r.root }));
        }
        break;
    }
  }
  return findings;
}

/** Counts by severity. */
export function summarize(findings: readonly Finding[]): InspectionReport['summary'] {
  return {
    blockers: findings.filter((f) => f.severity === 'blocker').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    infos: findings.filter((f) => f.severity === 'info').length,
  };
}

/**
 * The counts in words, as the CLI's summary ends and the `done` progress says them:
 * "3 blockers, 5 warnings, 2 info" ("1 blocker, 1 warning, 0 info"; info has no plural). Pure.
 */
export function formatFindingCounts(summary: InspectionReport['summary']): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  return `${n(summary.blockers, 'blocker')}, ${n(summary.warnings, 'warning')}, ${summary.infos} info`;
}
