/**
 * The REST server's OpenAPI 3.1 document, generated from the API contract: one `POST
 * /api/<method>` per contract method, its request body the method's input schema and its
 * answer the envelope around the output schema (zod's own `z.toJSONSchema`, JSON Schema
 * 2020-12, which OpenAPI 3.1 uses as is), plus the event stream.
 */
import { z } from 'zod';
import { METHOD_NAMES, contract, eventStream } from '../../shared/contract';
import { ErrorInfo } from '../../shared/protocol';

type Json = Record<string, unknown>;

/** JSON Schema of a zod schema, without the `$schema` key (the document sets the dialect once). */
export function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

function envelope(value: Json): Json {
  return {
    oneOf: [
      { type: 'object', properties: { ok: { const: true }, value }, required: ['ok', 'value'], additionalProperties: false },
      ref('ErrorEnvelope'),
    ],
  };
}

const errorResponse = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: ref('ErrorEnvelope') } },
});

/** The OpenAPI document of this server. */
export function openApiDocument(version: string): Json {
  const paths: Json = {};
  for (const m of METHOD_NAMES) {
    const def = contract[m];
    paths[`/api/${m}`] = {
      post: {
        operationId: m,
        summary: def.summary,
        tags: [m.split('.')[0]],
        requestBody: { required: false, content: { 'application/json': { schema: schemaOf(def.input, 'input') } } },
        responses: {
          '200': { description: 'the method answered', content: { 'application/json': { schema: envelope(schemaOf(def.output, 'output')) } } },
          '400': errorResponse('invalid input: error.fields lists each offending field'),
          '401': errorResponse('no valid token'),
          '403': errorResponse('foreign Origin or Host, or a path outside the roots'),
          '404': errorResponse('no such job'),
          '409': errorResponse('the job is not in a state that allows this'),
          default: errorResponse('any other error, as ErrorInfo from the catalogue'),
        },
      },
    };
  }
  paths['/api/events'] = {
    get: {
      operationId: 'events',
      summary:
        'Server-sent events. With job_id: that job\'s events, replayed after `after` (a sequence number), then live; event ids are sequence numbers. ' +
        'Without: every job\'s events from now (or after `after`, a global position); event ids are global positions. ' +
        'Reconnecting with Last-Event-ID resumes after that id. A comment line is sent as a heartbeat.',
      tags: ['events'],
      parameters: [
        { name: 'job_id', in: 'query', required: false, schema: { type: 'string' } },
        { name: 'after', in: 'query', required: false, schema: { type: 'integer', minimum: 0 } },
        { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'one `data:` line per event, a WorkerEvent as JSON',
          content: { 'text/event-stream': { schema: { type: 'string' }, itemSchema: ref('WorkerEvent') } },
        },
        '401': errorResponse('no valid token'),
        '404': errorResponse('no such job'),
      },
    },
  };
  paths['/api/openapi.json'] = {
    get: { operationId: 'openapi', summary: 'This document.', tags: ['meta'], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': {} } } } },
  };
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'hyper2kvm Workbench worker API',
      version,
      description:
        'Every method of the worker contract as POST /api/<method> with the input as JSON body, answered {ok:true,value} or {ok:false,error}. ' +
        'Loopback only; every request needs the token printed by `h2k-worker serve` (Authorization: Bearer, or the cookie set by opening the printed URL).',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { cookie: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'the token printed by h2k-worker serve' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'h2k_token_<port>', description: 'set when the browser opens the printed URL' },
      },
      schemas: {
        ErrorInfo: schemaOf(ErrorInfo, 'output'),
        ErrorEnvelope: {
          type: 'object',
          properties: { ok: { const: false }, error: ref('ErrorInfo') },
          required: ['ok', 'error'],
          additionalProperties: false,
        },
        WorkerEvent: schemaOf(eventStream.event, 'output'),
      },
    },
  };
}
