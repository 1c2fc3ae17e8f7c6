import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { renderSchema, SCHEMA_PATH } from '../../scripts/gen-schema.js';
import { formatDiagnostic } from '../../src/dag/diagnostics.js';
import { loadPipeline } from '../../src/dag/pipeline.js';
import { testRegistry } from './test-registry.js';

const root = new URL('../../', import.meta.url);
const formatDoc = readFileSync(new URL('docs/pipeline-format.md', root), 'utf8');
const example = /```yaml\n([\s\S]*?)```/.exec(formatDoc)?.[1] ?? '';

test('the committed JSON Schema is the one schema.ts generates (node dist/scripts/gen-schema.js)', () => {
  expect(readFileSync(new URL(SCHEMA_PATH, root), 'utf8')).toBe(renderSchema());
});

test('the committed JSON Schema compiles as draft-07 and admits the documented example', () => {
  const validate = new Ajv({ allowUnionTypes: true, strict: false }).compile(
    JSON.parse(renderSchema()),
  );
  expect(validate(parse(example))).toBe(true);
});

test('the example in docs/pipeline-format.md loads as documented', () => {
  const result = loadPipeline(example, 'pipeline.yaml', testRegistry, { profile: 'paper' });
  if (!result.ok) throw new Error(result.error.map(formatDiagnostic).join('\n'));
  const { groups, stages } = result.value;
  expect(groups.train).toHaveLength(10);
  expect(groups.aggregate).toEqual(['aggregate[normal]', 'aggregate[overfitting]']);
  const aggregate = stages.find((s) => s.id === 'aggregate[normal]');
  expect(aggregate?.inputs[0]?.refs.map((r) => r.stageId)).toEqual(
    [0, 1, 2, 3, 4].map((f) => `select[normal,${f}]`),
  );
  expect(stages.find((s) => s.id === 'split')?.params).toEqual({ folds: 5, seed: 0 });
});
