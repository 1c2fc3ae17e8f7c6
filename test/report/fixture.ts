/** Small synthetic fold results for the report tests (generated, not recorded). */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { aggregateRegime } from '../../src/report/aggregate.js';
import type { ExperimentAggregate, FoldResult, Source } from '../../src/report/types.js';
import type { VerdictThresholds } from '../../src/report/verdicts.js';

/** The verdict thresholds the repository's pipeline.yaml ships. */
export function shippedThresholds(): VerdictThresholds {
  const doc = parse(readFileSync(new URL('../../pipeline.yaml', import.meta.url), 'utf8')) as {
    params: { verdicts: VerdictThresholds };
  };
  return doc.params.verdicts;
}

/** `scale` multiplies every per-epoch curve, to make a second, different run. */
export function foldResult(regime: string, fold: number, epochs = 4, scale = 1): FoldResult {
  const e = Array.from({ length: epochs }, (_, i) => i + 1);
  const x = e.map((epoch) => epoch * scale);
  const wobble = (i: number) => 0.01 * ((fold + i) % 3);
  const source = (stageId: string, file: string, holds: Source['holds']): Source => ({
    stageId,
    file,
    digest: `${fold}`.padStart(64, 'a'),
    holds,
  });
  return {
    fold,
    history: {
      epochs: e,
      loss: x.map((v, i) => 2 / v + wobble(i)),
      val_loss: x.map((v, i) => 2.2 / v + wobble(i)),
      acc: x.map((v, i) => Math.min(1, 0.2 * v + wobble(i))),
      val_acc: x.map((v, i) => Math.min(1, 0.18 * v + wobble(i))),
    },
    selectedEpoch: epochs,
    evaluation: {
      epochs: e,
      testAccuracy: x.map((v) => 0.15 * v),
      asr: {
        fgsm: x.map(() => 0.9),
        pgd: x.map(() => 0.99),
        cw: x.map((v) => 0.1 * v + wobble(0)),
      },
    },
    metrics: {
      epochs: e,
      clever: x.map((v) => 0.1 * v),
      lossSensitivity: x.map((v) => 0.5 + 0.2 * v),
      empiricalRobustness: x.map((v) => 0.05 * v),
    },
    distances: {
      fgsm: { l0: [780, 784], l2: [8.1, 8.3], linf: [0.3, 0.3] },
      pgd: { l0: [770, 784], l2: [7.1, 7.2], linf: [0.3, 0.3] },
      cw: { l0: [784, 784], l2: [0.4, 0.6 + fold], linf: [0.05, 0.07] },
    },
    sources: [
      source(`train[${regime},${fold}]`, 'history.json', 'history'),
      source(`evaluate[${regime},${fold}]`, 'asr.json', 'evaluation'),
      source(`metrics[${regime},${fold}]`, 'metrics.json', 'metrics'),
      source(`attack[${regime},${fold},cw]`, 'distances.json', 'distances'),
    ],
  };
}

export function experiment(dataset = 'toy', folds = 2, scale = 1): ExperimentAggregate {
  return {
    dataset,
    params: { folds, note: '<b>escaped</b>' },
    regimes: ['normal', 'overfitting'].map((regime) =>
      aggregateRegime(
        regime,
        Array.from({ length: folds }, (_, f) => foldResult(regime, f, 4, scale)),
      ),
    ),
  };
}
