/** Small synthetic fold results for the report tests (generated, not recorded). */
import { aggregateRegime } from '../../src/report/aggregate.js';
import type { ExperimentAggregate, FoldResult, Source } from '../../src/report/types.js';

export function foldResult(regime: string, fold: number, epochs = 4): FoldResult {
  const e = Array.from({ length: epochs }, (_, i) => i + 1);
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
      loss: e.map((x, i) => 2 / x + wobble(i)),
      val_loss: e.map((x, i) => 2.2 / x + wobble(i)),
      acc: e.map((x, i) => Math.min(1, 0.2 * x + wobble(i))),
      val_acc: e.map((x, i) => Math.min(1, 0.18 * x + wobble(i))),
    },
    selectedEpoch: epochs,
    evaluation: {
      epochs: e,
      testAccuracy: e.map((x) => 0.15 * x),
      asr: {
        fgsm: e.map(() => 0.9),
        pgd: e.map(() => 0.99),
        cw: e.map((x) => 0.1 * x + wobble(0)),
      },
    },
    metrics: {
      epochs: e,
      clever: e.map((x) => 0.1 * x),
      lossSensitivity: e.map((x) => 0.5 + 0.2 * x),
      empiricalRobustness: e.map((x) => 0.05 * x),
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

export function experiment(dataset = 'toy', folds = 2): ExperimentAggregate {
  return {
    dataset,
    params: { folds, note: '<b>escaped</b>' },
    regimes: ['normal', 'overfitting'].map((regime) =>
      aggregateRegime(
        regime,
        Array.from({ length: folds }, (_, f) => foldResult(regime, f)),
      ),
    ),
  };
}
