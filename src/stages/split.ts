/**
 * Stage kind `split`: the training set's k folds (plain or stratified, seeded) as
 * fold-<i>.json, each with the indices to train on and the indices to validate on.
 * Reads only the labels; never looks at the test set.
 */
import { join } from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import { loadNpy } from '../ml/data/npy.js';
import { inputPath, writeJson } from './io.js';

interface SplitParams {
  [key: string]: number | boolean;
  folds: number;
  seed: number;
  stratified: boolean;
}

/** What fold-<i>.json holds. */
export interface FoldFile {
  stage: string;
  fold: number;
  folds: number;
  train: number[];
  val: number[];
}

export const split = defineStage<SplitParams>({
  kind: 'split',
  description: 'Seeded k-fold split of the training set (optionally stratified by class).',
  paramsSchema: {
    type: 'object',
    required: ['folds', 'seed', 'stratified'],
    additionalProperties: false,
    properties: {
      folds: { type: 'integer', minimum: 2 },
      seed: { type: 'integer', minimum: 0 },
      stratified: { type: 'boolean' },
    },
  },
  inputs: { data: { description: 'output of a fetch stage' } },
  outputs: ['fold-<i>.json'],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const { folds, seed, stratified } = ctx.params;
    const { kFold, stratifiedKFold } = await import('../ml/data/kfold.js');
    const labels = loadNpy(join(inputPath(ctx, 'data'), 'train_labels.npy')).data;
    const parts = stratified
      ? stratifiedKFold(labels, folds, seed)
      : kFold(labels.length, folds, seed);
    parts.forEach((part, fold) => {
      const file: FoldFile = {
        stage: ctx.stageId,
        fold,
        folds,
        train: Array.from(part.train),
        val: Array.from(part.val),
      };
      writeJson(join(ctx.outDir, `fold-${fold}.json`), file);
    });
  },
});
