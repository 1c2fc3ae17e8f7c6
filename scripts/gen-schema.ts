/**
 * Writes schema/pipeline.schema.json from src/dag/schema.ts, the only source of truth
 * (editors point their YAML language server at the file). A test fails when the committed
 * file and this output differ: run `node dist/scripts/gen-schema.js` after editing schema.ts.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pipelineSchema } from '../src/dag/schema.js';

export const SCHEMA_PATH = 'schema/pipeline.schema.json';

export function renderSchema(): string {
  return `${JSON.stringify(pipelineSchema, null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url));
  const target = new URL(SCHEMA_PATH, pathToFileURL(`${root.replace(/\/?$/, '/')}`));
  writeFileSync(target, renderSchema());
  process.stdout.write(`wrote ${fileURLToPath(target)}\n`);
}
