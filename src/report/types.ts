/**
 * The typed data the report layer reads: per-fold results as the ML stages write them, and
 * the aggregate (mean +- std over folds) that figures, tables and report.html are drawn from.
 * Plain JSON shapes only, so they are written to disk and read back unchanged.
 */
import type { JsonObject } from '../dag/pipeline-types.js';

/** Where a number came from: the stage that wrote the file and the sha256 of the file. */
export interface Source {
  stageId: string;
  /** Path inside that stage's output tree. */
  file: string;
  /** sha256 of the file's bytes: the object address in the store, so `why <digest>` finds it. */
  digest: string;
  /** Which numbers the file holds, so each figure and table cites only its own sources. */
  holds: 'history' | 'selection' | 'evaluation' | 'metrics' | 'distances';
}

/** Mean and standard deviation (population, ddof = 0, as numpy's default) of n values. */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/** Per-example perturbation sizes of one adversarial set (one attack, one fold). */
export interface DistanceSamples {
  l0: number[];
  l2: number[];
  linf: number[];
}

export const HISTORY_SERIES = ['loss', 'val_loss', 'acc', 'val_acc'] as const;
export type HistorySeries = (typeof HISTORY_SERIES)[number];

/** Everything one (regime, fold) run produced, as the aggregate stage collects it. */
export interface FoldResult {
  fold: number;
  /** 1-based epochs of the training history, one value per epoch in each series. */
  history: { epochs: number[] } & Record<HistorySeries, number[]>;
  selectedEpoch: number;
  /** Every epoch snapshot on the clean test set and on each attack's adversarial set. */
  evaluation: { epochs: number[]; testAccuracy: number[]; asr: Record<string, number[]> };
  /** Robustness metrics of every epoch snapshot. */
  metrics: {
    epochs: number[];
    clever: number[];
    lossSensitivity: number[];
    empiricalRobustness: number[];
  };
  /** attack name -> per-example distances of its adversarial set. */
  distances: Record<string, DistanceSamples>;
  sources: Source[];
}

/** One attack's row of Tables 2-5: pooled over every example of every fold. */
export interface DistanceRow {
  attack: string;
  examples: number;
  l0: Stat;
  l2: Stat;
  linf: Stat;
}

export interface EpochSeries {
  epochs: number[];
  values: Stat[];
}

/** One fold's per-epoch curves, kept beside the means so verdicts can measure each fold. */
export type FoldCurves = Pick<
  FoldResult,
  'fold' | 'selectedEpoch' | 'history' | 'evaluation' | 'metrics'
>;

export interface RegimeAggregate {
  regime: string;
  folds: number[];
  selectedEpochs: number[];
  history: Record<HistorySeries, EpochSeries>;
  testAccuracy: EpochSeries;
  asr: Record<string, EpochSeries>;
  clever: EpochSeries;
  lossSensitivity: EpochSeries;
  empiricalRobustness: EpochSeries;
  distances: DistanceRow[];
  foldCurves: FoldCurves[];
  sources: Source[];
}

/** What aggregate writes and plot/report read. */
export interface ExperimentAggregate {
  dataset: string;
  regimes: RegimeAggregate[];
  /** The resolved parameters of the run, shown in the report. */
  params: JsonObject;
}
