/**
 * Stage kind `metrics`: robustness metrics of every epoch snapshot of one training run
 * (Figures 5, 6, 9, 10): untargeted CLEVER, loss sensitivity and empirical robustness, on
 * the first `examples` test images. Writes metrics.json and metrics.csv (one row per epoch).
 * tfjs is loaded inside `run` only.
 */
import { join } from 'node:path';
import type { JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import { ML_BACKEND_PACKAGES, startBackend } from './backend.js';
import { fetchedDataset, forEachSnapshot, inputPath, writeCsv, writeJson } from './io.js';

type NormParam = 'inf' | 1 | 2;

type MetricsParams = JsonObject & {
  regime: string;
  fold: number;
  /** The first N test images (ours; the paper does not say how many). */
  examples: number;
  /** What CLEVER's margins are computed on. */
  output: 'probabilities' | 'logits';
  clever: {
    nb_batches: number;
    batch_size: number;
    radius: number;
    norm: NormParam;
    pool_factor: number;
    c_init: number;
  };
  empirical_robustness: { eps: number; eps_step: number; norm: NormParam };
  batch_size: number;
  seed: number;
};

/** What metrics.json holds: one value per epoch in each series. */
export interface MetricsFile {
  stage: string;
  regime: string;
  fold: number;
  examples: number;
  epochs: number[];
  /** Mean untargeted CLEVER score over the examples. */
  clever: number[];
  /** Per epoch, the untargeted CLEVER score of each example (the means' terms). */
  cleverPerImage: number[][];
  lossSensitivity: number[];
  empiricalRobustness: number[];
}

const NORM = { enum: ['inf', 1, 2] };

export const metrics = defineStage<MetricsParams>({
  kind: 'metrics',
  description: 'CLEVER, loss sensitivity and empirical robustness of every epoch snapshot.',
  paramsSchema: {
    type: 'object',
    required: [
      'regime',
      'fold',
      'examples',
      'output',
      'clever',
      'empirical_robustness',
      'batch_size',
      'seed',
    ],
    additionalProperties: false,
    properties: {
      regime: { type: 'string', minLength: 1 },
      fold: { type: 'integer', minimum: 0 },
      examples: { type: 'integer', minimum: 1 },
      output: { enum: ['probabilities', 'logits'] },
      clever: {
        type: 'object',
        required: ['nb_batches', 'batch_size', 'radius', 'norm', 'pool_factor', 'c_init'],
        additionalProperties: false,
        properties: {
          nb_batches: { type: 'integer', minimum: 1 },
          batch_size: { type: 'integer', minimum: 1 },
          radius: { type: 'number', exclusiveMinimum: 0 },
          norm: NORM,
          pool_factor: { type: 'integer', minimum: 1 },
          c_init: { type: 'number', exclusiveMinimum: 0 },
        },
      },
      empirical_robustness: {
        type: 'object',
        required: ['eps', 'eps_step', 'norm'],
        additionalProperties: false,
        properties: {
          eps: { type: 'number', exclusiveMinimum: 0 },
          eps_step: { type: 'number', exclusiveMinimum: 0 },
          norm: NORM,
        },
      },
      batch_size: { type: 'integer', minimum: 1 },
      seed: { type: 'integer', minimum: 0 },
    },
  },
  inputs: {
    data: { description: 'output of a fetch stage' },
    model: { description: 'output tree of a train stage' },
  },
  outputs: ['metrics.json', 'metrics.csv'],
  resources: { cpu: 1 },
  module: import.meta.url,
  runtimePackages: ML_BACKEND_PACKAGES,
  async run(ctx) {
    const p = ctx.params;
    await startBackend(ctx);
    const tf = await import('@tensorflow/tfjs-core');
    const { CleverPools, cleverUntargeted } = await import('../ml/metrics/clever.js');
    const { lossSensitivity } = await import('../ml/metrics/loss-sensitivity.js');
    const { empiricalRobustness } = await import('../ml/metrics/empirical-robustness.js');

    const test = fetchedDataset(ctx, 'test');
    const n = Math.min(p.examples, test.labels.length);
    const [, h, w, c] = test.shape;
    const x = tf.tensor4d(test.images.subarray(0, n * h * w * c), [n, h, w, c]);
    const labels = test.labels.subarray(0, n);
    const clever: number[] = [];
    const cleverPerImage: number[][] = [];
    const sensitivity: number[] = [];
    const robustness: number[] = [];
    // Every snapshot samples the same CLEVER pools: drawn once, kept across epochs.
    const pools = new CleverPools();
    const history = await forEachSnapshot(
      inputPath(ctx, 'model'),
      ctx.signal,
      async (classifier, e, total) => {
        const images = await cleverUntargeted(classifier, x, {
          nbBatches: p.clever.nb_batches,
          batchSize: p.clever.batch_size,
          radius: p.clever.radius,
          norm: p.clever.norm,
          poolFactor: p.clever.pool_factor,
          cInit: p.clever.c_init,
          output: p.output,
          seed: p.seed,
          signal: ctx.signal,
          pools,
          onProgress: (b) =>
            ctx.progress({
              unit: 'epoch',
              done: e,
              total,
              inner: { unit: 'image', done: b.done, total: b.total },
              message: 'CLEVER',
            }),
        });
        const scores = images.map((im) => im.score);
        cleverPerImage.push(scores);
        clever.push(scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length));
        sensitivity.push(
          await lossSensitivity(classifier, x, labels, {
            batchSize: p.batch_size,
            signal: ctx.signal,
          }),
        );
        const er = await empiricalRobustness(classifier, x, {
          eps: p.empirical_robustness.eps,
          epsStep: p.empirical_robustness.eps_step,
          norm: p.empirical_robustness.norm,
          batchSize: p.batch_size,
          signal: ctx.signal,
        });
        robustness.push(er.value);
        ctx.progress({
          unit: 'epoch',
          done: e + 1,
          total,
          metrics: {
            clever: clever.at(-1) ?? Number.NaN,
            loss_sens: sensitivity.at(-1) ?? Number.NaN,
          },
        });
      },
    );
    x.dispose();
    const result: MetricsFile = {
      stage: ctx.stageId,
      regime: p.regime,
      fold: p.fold,
      examples: n,
      epochs: history.epochs,
      clever,
      cleverPerImage,
      lossSensitivity: sensitivity,
      empiricalRobustness: robustness,
    };
    writeJson(join(ctx.outDir, 'metrics.json'), result);
    writeCsv(
      join(ctx.outDir, 'metrics.csv'),
      ['epoch', 'clever', 'loss_sensitivity', 'empirical_robustness'],
      result.epochs.map((epoch, i) => [epoch, clever[i], sensitivity[i], robustness[i]]),
    );
  },
});
