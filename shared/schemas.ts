/**
 * The named protocol types published as JSON Schema (docs/protocol/*.json, `h2k-worker schema`,
 * the OpenAPI document). Generated with zod's own `z.toJSONSchema`.
 */
import { z } from 'zod';
import * as P from './protocol';
import { WorkerInfo } from './contract';

export const PUBLISHED_SCHEMAS = {
  JobSpec: P.JobSpec,
  JobState: P.JobState,
  JobResult: P.JobResult,
  JobSummary: P.JobSummary,
  JobDetail: P.JobDetail,
  WorkerEvent: P.WorkerEvent,
  WorkerCapabilities: P.WorkerCapabilities,
  InspectionReport: P.InspectionReport,
  ConvertPayload: P.ConvertPayload,
  Finding: P.Finding,
  ErrorInfo: P.ErrorInfo,
  WorkerInfo,
} as const satisfies Record<string, z.ZodType>;

export type SchemaName = keyof typeof PUBLISHED_SCHEMAS;
export const SCHEMA_NAMES = Object.keys(PUBLISHED_SCHEMAS) as SchemaName[];

/** JSON Schema (draft 2020-12) of a published type, describing what a client sends (input). */
export function jsonSchemaOf(name: SchemaName): Record<string, unknown> {
  const schema = z.toJSONSchema(PUBLISHED_SCHEMAS[name], { io: name === 'JobSpec' ? 'input' : 'output', unrepresentable: 'any' });
  return { $id: `urn:hyper2kvm:worker:v1:${name}`, title: name, ...schema };
}
