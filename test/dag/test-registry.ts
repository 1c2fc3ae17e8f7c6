/** A tiny registry of kinds for the pure-core tests: shapes like the real ones, no behaviour. */
import type { JsonObject } from '../../src/dag/pipeline-types.js';
import { defineStage, type StageKind, type StageRegistry } from '../../src/dag/stage-kind.js';

const kind = (
  name: string,
  paramsSchema: JsonObject,
  inputs: StageKind['inputs'] = {},
): StageKind =>
  defineStage({
    kind: name,
    description: `test kind ${name}`,
    paramsSchema,
    inputs,
    outputs: [],
    module: import.meta.url,
    async run() {},
  });

const object = (properties: JsonObject, required: string[] = []): JsonObject => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const testRegistry: StageRegistry = new Map(
  [
    kind('fetch', object({ dataset: { type: 'string' } }, ['dataset'])),
    kind('split', object({ folds: { type: 'integer', minimum: 1 }, seed: { type: 'integer' } }), {
      data: { description: 'dataset' },
    }),
    kind(
      'train',
      object({ learning_rate: { type: 'number' }, epochs: { type: 'integer' } }, ['epochs']),
      {
        data: { description: 'dataset' },
        split: { description: 'fold file' },
        init: { description: 'warm start', optional: true },
      },
    ),
    kind('select', object({}), { history: { description: 'history.json' } }),
    kind('aggregate', object({}), { runs: { description: 'selected runs', many: true } }),
    kind(
      'command',
      object(
        {
          cmd: { type: 'string' },
          outs: { type: 'array', items: { type: 'string' } },
          env: { type: 'object', additionalProperties: { type: 'string' } },
        },
        ['cmd'],
      ),
    ),
  ].map((k) => [k.kind, k]),
);
