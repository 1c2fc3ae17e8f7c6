/**
 * Stage kind `evaluate`: the transfer evaluation of Figures 4 and 8. Every epoch snapshot of
 * one training run classifies the clean test set and each adversarial set crafted against
 * the selected snapshot; ASR = 1 - accuracy on the adversarial set. Writes asr.json and
 * asr.csv (one row per epoch). tfjs is loaded inside `run` only.
 */
import { join } from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import { ML_BACKEND_PACKAGES, startBackend } from './backend.js';
import {
  fetchedDataset,
  forEachSnapshot,
  inputPath,
  inputPaths,
  readJson,
  writeCsv,
  writeJson,
} from './io.js';

interface EvaluateParams {
  [key: string]: string | number;
  regime: string;
  fold: number;
  batch_size: number;
}

/** What asr.json holds: one value per epoch in each series. */
export interface AsrFile {
  stage: string;
  regime: string;
  fold: number;
  epochs: number[];
  testAccuracy: number[];
  /** attack name -> ASR of each epoch's snapshot on that attack's adversarial set. */
  asr: Record<string, number[]>;
  examples: Record<string, number>;
}

export const evaluate = defineStage<EvaluateParams>({
  kind: 'evaluate',
  description:
    'Every epoch snapshot on the clean test set and on each adversarial set (ASR per epoch).',
  paramsSchema: {
    type: 'object',
    required: ['regime', 'fold', 'batch_size'],
    additionalProperties: false,
    properties: {
      regime: { type: 'string', minLength: 1 },
      fold: { type: 'integer', minimum: 0 },
      batch_size: { type: 'integer', minimum: 1 },
    },
  },
  inputs: {
    data: { description: 'output of a fetch stage' },
    model: { description: 'output tree of a train stage' },
    adversarial: { description: 'output trees of the attack stages of this run', many: true },
  },
  outputs: ['asr.json', 'asr.csv'],
  resources: { cpu: 1 },
  module: import.meta.url,
  runtimePackages: ML_BACKEND_PACKAGES,
  async run(ctx) {
    const p = ctx.params;
    await startBackend(ctx);
    const tf = await import('@tensorflow/tfjs-core');
    const { loadNpy } = await import('../ml/data/npy.js');
    const { predictLabels } = await import('../ml/attacks/common.js');

    const test = fetchedDataset(ctx, 'test');
    const sets = [
      { name: '', x: tf.tensor4d(test.images, test.shape), labels: test.labels },
      ...inputPaths(ctx, 'adversarial').map((dir) => {
        const meta = readJson<{ attack: string }>(join(dir, 'attack.json'));
        const images = loadNpy(join(dir, 'adversarial.npy'));
        const labels = loadNpy(join(dir, 'labels.npy')).data as Int32Array;
        return {
          name: meta.attack,
          x: tf.tensor4d(
            images.data as Float32Array,
            images.shape as [number, number, number, number],
          ),
          labels,
        };
      }),
    ];
    const accuracy: number[][] = sets.map(() => []);
    const history = await forEachSnapshot(
      inputPath(ctx, 'model'),
      ctx.signal,
      async (classifier, e, total) => {
        for (const [s, set] of sets.entries()) {
          const n = set.labels.length;
          if (n === 0) {
            accuracy[s]?.push(Number.NaN);
            continue;
          }
          const predicted = await predictLabels(classifier, set.x, p.batch_size);
          let right = 0;
          for (let i = 0; i < n; i++) if (predicted[i] === set.labels[i]) right++;
          accuracy[s]?.push(right / n);
        }
        ctx.progress({
          unit: 'epoch',
          done: e + 1,
          total,
          metrics: { test_acc: accuracy[0]?.at(-1) ?? Number.NaN },
        });
      },
    );
    for (const set of sets) set.x.dispose();

    const attacks = sets.slice(1);
    const result: AsrFile = {
      stage: ctx.stageId,
      regime: p.regime,
      fold: p.fold,
      epochs: history.epochs,
      testAccuracy: accuracy[0] as number[],
      asr: Object.fromEntries(
        attacks.map((a, i) => [a.name, (accuracy[i + 1] as number[]).map((v) => 1 - v)]),
      ),
      examples: Object.fromEntries(attacks.map((a) => [a.name, a.labels.length])),
    };
    writeJson(join(ctx.outDir, 'asr.json'), result);
    const names = Object.keys(result.asr);
    writeCsv(
      join(ctx.outDir, 'asr.csv'),
      ['epoch', 'test_accuracy', ...names.map((n) => `asr_${n}`)],
      result.epochs.map((epoch, i) => [
        epoch,
        result.testAccuracy[i],
        ...names.map((n) => result.asr[n]?.[i]),
      ]),
    );
  },
});
