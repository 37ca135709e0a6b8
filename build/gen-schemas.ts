// Writes docs/protocol/<Name>.json from the zod schemas; with --check, fails when the files
// on disk differ from what the schemas generate (the protocol drifted from its docs).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_NAMES, jsonSchemaOf } from '../shared/schemas';

const dir = 'docs/protocol';
const check = process.argv.includes('--check');
mkdirSync(dir, { recursive: true });
const drift: string[] = [];
const expected = new Set<string>();
for (const name of SCHEMA_NAMES) {
  const file = join(dir, `${name}.json`);
  expected.add(`${name}.json`);
  const text = JSON.stringify(jsonSchemaOf(name), null, 2) + '\n';
  let current: string | null;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = null; // not written yet
  }
  if (current === text) continue;
  if (check) drift.push(file);
  else writeFileSync(file, text);
}
for (const f of readdirSync(dir)) if (f.endsWith('.json') && !expected.has(f)) drift.push(`${join(dir, f)} (no such schema)`);
if (check && drift.length) {
  console.error(`protocol schemas drifted from docs/protocol; run \`npm run schemas\` and commit:\n  ${drift.join('\n  ')}`);
  process.exit(1);
}
console.log(check ? `schemas: ${SCHEMA_NAMES.length} up to date` : `schemas: wrote ${SCHEMA_NAMES.length} to ${dir}`);
