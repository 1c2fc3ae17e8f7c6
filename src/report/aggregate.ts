/**
 * Pure aggregation over folds: per-epoch mean +- std curves (Figures 3-10) and pooled
 * per-example distance statistics (Tables 2-5). No I/O; never invents a value for an epoch
 * that no fold measured.
 */
import {
  type DistanceRow,
  type EpochSeries,
  type FoldResult,
  HISTORY_SERIES,
  type HistorySeries,
  type RegimeAggregate,
  type Stat,
} from './types.js';

/** Population mean and standard deviation (ddof = 0). Empty input gives NaN, n = 0. */
export function stat(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let squares = 0;
  for (const v of values) squares += (v - mean) * (v - mean);
  return { mean, std: Math.sqrt(squares / n), n };
}

/**
 * Per-epoch statistics over folds. Each fold gives (epochs, values); an epoch's statistic
 * uses the folds that measured it, so n says how many did.
 */
export function epochSeries(runs: readonly { epochs: number[]; values: number[] }[]): EpochSeries {
  const byEpoch = new Map<number, number[]>();
  for (const run of runs) {
    if (run.epochs.length !== run.values.length) {
      throw new Error(`${run.epochs.length} epochs but ${run.values.length} values`);
    }
    run.epochs.forEach((epoch, i) => {
      const list = byEpoch.get(epoch) ?? [];
      list.push(run.values[i] as number);
      byEpoch.set(epoch, list);
    });
  }
  const epochs = [...byEpoch.keys()].sort((a, b) => a - b);
  return { epochs, values: epochs.map((e) => stat(byEpoch.get(e) as number[])) };
}

/** Tables 2-5: every example of every fold pooled, per attack, in first-seen attack order. */
export function distanceRows(folds: readonly FoldResult[]): DistanceRow[] {
  const attacks: string[] = [];
  for (const fold of folds) {
    for (const attack of Object.keys(fold.distances)) {
      if (!attacks.includes(attack)) attacks.push(attack);
    }
  }
  return attacks.map((attack) => {
    const sets = folds.flatMap((f) => (f.distances[attack] ? [f.distances[attack]] : []));
    const pooled = (key: 'l0' | 'l2' | 'linf') => stat(sets.flatMap((s) => s[key]));
    const l0 = pooled('l0');
    return { attack, examples: l0.n, l0, l2: pooled('l2'), linf: pooled('linf') };
  });
}

export function aggregateRegime(regime: string, folds: readonly FoldResult[]): RegimeAggregate {
  if (folds.length === 0) throw new Error(`regime '${regime}': no folds to aggregate`);
  const sorted = [...folds].sort((a, b) => a.fold - b.fold);
  const history = Object.fromEntries(
    HISTORY_SERIES.map((series) => [
      series,
      epochSeries(sorted.map((f) => ({ epochs: f.history.epochs, values: f.history[series] }))),
    ]),
  ) as Record<HistorySeries, EpochSeries>;
  const attacks = [...new Set(sorted.flatMap((f) => Object.keys(f.evaluation.asr)))];
  const asr = Object.fromEntries(
    attacks.map((attack) => [
      attack,
      epochSeries(
        sorted.flatMap((f) => {
          const values = f.evaluation.asr[attack];
          return values ? [{ epochs: f.evaluation.epochs, values }] : [];
        }),
      ),
    ]),
  );
  const metric = (key: 'clever' | 'lossSensitivity' | 'empiricalRobustness') =>
    epochSeries(sorted.map((f) => ({ epochs: f.metrics.epochs, values: f.metrics[key] })));
  return {
    regime,
    folds: sorted.map((f) => f.fold),
    selectedEpochs: sorted.map((f) => f.selectedEpoch),
    history,
    testAccuracy: epochSeries(
      sorted.map((f) => ({ epochs: f.evaluation.epochs, values: f.evaluation.testAccuracy })),
    ),
    asr,
    clever: metric('clever'),
    lossSensitivity: metric('lossSensitivity'),
    empiricalRobustness: metric('empiricalRobustness'),
    distances: distanceRows(sorted),
    foldCurves: sorted.map(({ fold, selectedEpoch, history, evaluation, metrics }) => ({
      fold,
      selectedEpoch,
      history,
      evaluation,
      metrics,
    })),
    sources: sorted.flatMap((f) => f.sources),
  };
}
