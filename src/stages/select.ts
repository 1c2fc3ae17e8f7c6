/**
 * Stage kind `select`: the selected snapshot of one training run, the epoch with the best
 * validation accuracy (ties: the earliest). Pure over history.json.
 */
import { join } from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import { inputPath, readJson, writeJson } from './io.js';
import type { HistoryFile } from './train.js';

/** What selected.json holds. */
export interface SelectionFile {
  stage: string;
  regime: string;
  fold: number;
  /** 1-based epoch of the selected snapshot. */
  epoch: number;
  valAcc: number;
  /** The train stage whose snapshot this is. */
  trainStage: string;
}

/** 1-based epoch of the highest value; the first one wins a tie. NaN never wins. */
export function bestEpoch(epochs: readonly number[], valAcc: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < valAcc.length; i++) {
    const v = valAcc[i] as number;
    if (!Number.isNaN(v) && (best === -1 || v > (valAcc[best] as number))) best = i;
  }
  if (best === -1) throw new Error('no epoch has a validation accuracy');
  return epochs[best] as number;
}

export const select = defineStage<Record<string, never>>({
  kind: 'select',
  description: 'Pick the epoch with the best validation accuracy (ties: earliest).',
  paramsSchema: { type: 'object', additionalProperties: false, properties: {} },
  inputs: { history: { description: 'history.json of a train stage' } },
  outputs: ['selected.json'],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const h = readJson<HistoryFile>(inputPath(ctx, 'history'));
    const epoch = bestEpoch(h.epochs, h.val_acc);
    const selection: SelectionFile = {
      stage: ctx.stageId,
      regime: h.regime,
      fold: h.fold,
      epoch,
      valAcc: h.val_acc[h.epochs.indexOf(epoch)] as number,
      trainStage: h.stage,
    };
    writeJson(join(ctx.outDir, 'selected.json'), selection);
  },
});
