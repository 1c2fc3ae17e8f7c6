/**
 * Stage kind `train`: one regime on one fold. LeNet is trained on the fold's training
 * indices and validated on its held-out indices; every epoch's weights are kept as a
 * LayersModel (snapshots/epoch-NNN/) with history.json (train/val loss and accuracy per
 * epoch). Training runs in the scratch directory so a killed stage resumes from its last
 * finished epoch; only the snapshots and the history become the output. tfjs is loaded
 * inside `run`, never at import time (the registry is imported by every runner).
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import type { LeNetActivation } from '../ml/lenet.js';
import type { OptimizerName } from '../ml/optimizers.js';
import { ML_BACKEND_PACKAGES, startBackend } from './backend.js';
import { fetchedDataset, inputPath, writeJson } from './io.js';
import type { FoldFile } from './split.js';

type TrainParams = JsonObject & {
  regime: string;
  fold: number;
  learning_rate: number;
  epochs: number;
  batch_size: number;
  optimizer: OptimizerName;
  activation: LeNetActivation;
  /** Seeds weight initialisation and the per-epoch shuffles; the same for every regime. */
  seed: number;
  /** Batch of the per-epoch validation (default 256); a GPU wants larger ones. */
  eval_batch_size?: number;
};

/** What history.json holds: one value per epoch in each series (Keras's names). */
export interface HistoryFile {
  stage: string;
  regime: string;
  fold: number;
  learningRate: number;
  epochs: number[];
  loss: number[];
  acc: number[];
  val_loss: number[];
  val_acc: number[];
  /** snapshots/epoch-NNN, relative to this stage's output, one per epoch. */
  snapshots: string[];
}

export const SNAPSHOTS = 'snapshots';

export const train = defineStage<TrainParams>({
  kind: 'train',
  description: 'Train LeNet for one regime on one fold, keeping a snapshot per epoch.',
  paramsSchema: {
    type: 'object',
    required: [
      'regime',
      'fold',
      'learning_rate',
      'epochs',
      'batch_size',
      'optimizer',
      'activation',
      'seed',
    ],
    additionalProperties: false,
    properties: {
      regime: { type: 'string', minLength: 1 },
      fold: { type: 'integer', minimum: 0 },
      learning_rate: { type: 'number', exclusiveMinimum: 0 },
      epochs: { type: 'integer', minimum: 1 },
      batch_size: { type: 'integer', minimum: 1 },
      optimizer: { enum: ['adam', 'sgd', 'rmsprop'] },
      activation: { enum: ['relu', 'tanh', 'sigmoid', 'elu', 'selu'] },
      seed: { type: 'integer', minimum: 0 },
      eval_batch_size: { type: 'integer', minimum: 1 },
    },
  },
  inputs: {
    data: { description: 'output of a fetch stage' },
    split: { description: 'fold-<i>.json of a split stage' },
  },
  outputs: ['snapshots/epoch-NNN/{model.json,weights.bin}', 'history.json'],
  resources: { cpu: 1 },
  module: import.meta.url,
  runtimePackages: ML_BACKEND_PACKAGES,
  async run(ctx) {
    const p = ctx.params;
    await startBackend(ctx);
    const { subset } = await import('../ml/data/dataset.js');
    const { buildLeNet } = await import('../ml/lenet.js');
    const { deriveSeed } = await import('../ml/rng.js');
    const { trainModel, snapshotDir } = await import('../ml/train.js');

    const all = fetchedDataset(ctx, 'train');
    const fold = JSON.parse(readFileSync(inputPath(ctx, 'split'), 'utf8')) as FoldFile;
    const trainSet = subset(all, fold.train);
    const valSet = subset(all, fold.val);
    const [, h, w, c] = all.shape;
    const model = buildLeNet({
      inputShape: [h, w, c],
      seed: deriveSeed(p.seed, 'init', p.fold),
      activation: p.activation,
      numClasses: all.numClasses,
    });
    const work = join(ctx.scratchDir, 'train');
    let lastSent = 0;
    const result = await trainModel({
      model,
      train: trainSet,
      val: valSet,
      epochs: p.epochs,
      optimizer: { name: p.optimizer, learningRate: p.learning_rate },
      batchSize: p.batch_size,
      ...(p.eval_batch_size === undefined ? {} : { evalBatchSize: p.eval_batch_size }),
      seed: deriveSeed(p.seed, 'shuffle', p.fold),
      outDir: work,
      signal: ctx.signal,
      onBatch: (b) => {
        const now = Date.now();
        if (now - lastSent < 200 && b.batch !== b.batches) return;
        lastSent = now;
        ctx.progress({
          unit: 'epoch',
          done: b.epoch - 1,
          total: b.epochs,
          inner: { unit: 'batch', done: b.batch, total: b.batches },
          metrics: { loss: b.loss, acc: b.accuracy },
        });
      },
      onEpoch: (r) => {
        ctx.progress({
          unit: 'epoch',
          done: r.epoch,
          total: p.epochs,
          metrics: {
            loss: r.trainLoss,
            acc: r.trainAccuracy,
            val_acc: r.valAccuracy ?? Number.NaN,
          },
        });
        ctx.log(
          `epoch ${r.epoch}/${p.epochs} loss ${r.trainLoss.toFixed(4)} acc ${r.trainAccuracy.toFixed(4)} ` +
            `val_loss ${r.valLoss?.toFixed(4)} val_acc ${r.valAccuracy?.toFixed(4)}`,
        );
      },
    });
    if (result.resumedFromEpoch > 0) ctx.log(`resumed after epoch ${result.resumedFromEpoch}`);
    model.dispose();

    const snapshots = result.history.map((r) => {
      const rel = join(SNAPSHOTS, `epoch-${String(r.epoch).padStart(3, '0')}`);
      cpSync(snapshotDir(work, r.epoch), join(ctx.outDir, rel), { recursive: true });
      return rel;
    });
    const history: HistoryFile = {
      stage: ctx.stageId,
      regime: p.regime,
      fold: p.fold,
      learningRate: p.learning_rate,
      epochs: result.history.map((r) => r.epoch),
      loss: result.history.map((r) => r.trainLoss),
      acc: result.history.map((r) => r.trainAccuracy),
      val_loss: result.history.map((r) => r.valLoss ?? Number.NaN),
      val_acc: result.history.map((r) => r.valAccuracy ?? Number.NaN),
      snapshots,
    };
    writeJson(join(ctx.outDir, 'history.json'), history);
  },
});
