/**
 * Planning speed: builds a pipeline text whose foreach expands to about 10,000 stages and
 * times `loadPipeline` (parse, schema, params, expansion, kind params, inputs, topo order).
 * Target: <= 1 s. Prints the figure when run alone (`node dist/bench/plan.js`); never
 * asserts on time.
 */
import { pathToFileURL } from 'node:url';
import { loadPipeline } from '../src/dag/pipeline.js';
import type { JsonObject } from '../src/dag/pipeline-types.js';
import { defineStage, type StageKind, type StageRegistry } from '../src/dag/stage-kind.js';

const kind = (name: string, paramsSchema: JsonObject, inputs: StageKind['inputs']): StageKind =>
  defineStage({
    kind: name,
    description: `benchmark kind ${name}`,
    paramsSchema,
    inputs,
    outputs: [],
    module: import.meta.url,
    async run() {},
  });

const strict = (properties: JsonObject): JsonObject => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
});

const registry: StageRegistry = new Map(
  [
    kind('fetch', strict({ dataset: { type: 'string' } }), {}),
    kind(
      'train',
      strict({
        learning_rate: { type: 'number' },
        epochs: { type: 'integer' },
        fold: { type: 'integer' },
      }),
      {
        data: { description: 'dataset' },
      },
    ),
    kind('select', strict({ metric: { type: 'string' } }), { history: { description: 'history' } }),
    kind('aggregate', strict({}), { runs: { description: 'selected', many: true } }),
  ].map((k) => [k.kind, k]),
);

/** 1 fetch + regimes x folds train + as many select + one aggregate per regime. */
export function planningPipeline(regimes: number, folds: number): string {
  const regimeLines = Array.from(
    { length: regimes },
    (_, i) => `    r${i}: { learning_rate: 0.${i + 1}, epochs: ${i + 1} }`,
  );
  const d = '$';
  return [
    'version: 1',
    'name: planning-benchmark',
    'params:',
    `  folds: ${folds}`,
    '  regimes:',
    ...regimeLines,
    'stages:',
    '  data: { kind: fetch, params: { dataset: mini } }',
    '  train:',
    '    kind: train',
    `    foreach: { regime: { keys: "${d}{regimes}" }, fold: { range: "${d}{folds}" } }`,
    '    inputs: { data: data }',
    '    params:',
    `      learning_rate: ${d}{regimes[regime].learning_rate}`,
    `      epochs: ${d}{regimes[regime].epochs}`,
    `      fold: ${d}{fold}`,
    '  select:',
    '    kind: select',
    `    foreach: { regime: { keys: "${d}{regimes}" }, fold: { range: "${d}{folds}" } }`,
    `    inputs: { history: "train[${d}{regime},${d}{fold}]:history.json" }`,
    '    params: { metric: val_acc }',
    '  aggregate:',
    '    kind: aggregate',
    `    foreach: { regime: { keys: "${d}{regimes}" } }`,
    `    inputs: { runs: "select[${d}{regime},*]" }`,
    '',
  ].join('\n');
}

export async function benchPlanning(): Promise<{ stages: number; ms: number }> {
  const text = planningPipeline(10, 500);
  loadPipeline(planningPipeline(2, 2), 'pipeline.yaml', registry);
  const start = performance.now();
  const result = loadPipeline(text, 'pipeline.yaml', registry);
  const ms = performance.now() - start;
  if (!result.ok) throw new Error(`benchmark pipeline is invalid: ${JSON.stringify(result.error)}`);
  return { stages: result.value.stages.length, ms };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { stages, ms } = await benchPlanning();
  process.stdout.write(`planning: ${stages} stages in ${ms.toFixed(0)} ms (target <= 1000 ms)\n`);
}
