/**
 * Verdicts on the paper's claims (../shared/PAPER.md, "What the paper reports"), measured on
 * a run's own per-fold curves. Every claim is one statistic computed per fold, compared with
 * a threshold the report stage is given (docs/verdicts.md): it holds when mean - k std over
 * folds clears the threshold, does not hold when mean + k std misses it, and is
 * inconclusive otherwise (spread too wide) or when there are too few folds or epochs to say.
 * Pure: aggregates and thresholds in, records out.
 */
import type { ExperimentAggregate, FoldCurves, RegimeAggregate, Source } from './types.js';

export interface VerdictThresholds {
  /** Which regime of the run plays the paper's normal and overfitting regime. */
  regimes: { normal: string; overfitting: string };
  /** The attack whose ASR the paper finds follows accuracy (Carlini & Wagner). */
  cw_attack: string;
  /** Attacks whose ASR the paper finds high throughout (FGSM, PGD). */
  high_asr_attacks: string[];
  /** Fewer folds than this: inconclusive. */
  min_folds: number;
  /** Fewer epochs than this: inconclusive. */
  min_epochs: number;
  /** "The last epochs": this fraction of them, at least 3. */
  last_fraction: number;
  /** k: a verdict is reached only when mean +- k std over folds is on one side. */
  spread: number;
  /** Normal regime: slope of validation accuracy per epoch over the last epochs, above. */
  rising_slope: number;
  /** Normal regime: Pearson correlation of CW ASR with test accuracy over epochs, above. */
  correlation: number;
  /** Overfitting regime: epoch of peak validation accuracy, below this fraction of the epochs. */
  peak_fraction: number;
  /** Overfitting regime: validation accuracy lost from its peak to the last epoch, above. */
  min_drop: number;
  /** Overfitting regime: training accuracy gained from the peak epoch to the last, above. */
  min_train_gain: number;
  /** Overfitting regime: slope of CW ASR per epoch over the last epochs, below. */
  stable_slope: number;
  /** Overfitting regime: max - min of CW ASR over the last epochs, below. */
  stable_range: number;
  /** FGSM/PGD: lowest ASR over the epochs, above. */
  high_asr: number;
  /** Loss sensitivity and CLEVER at the last epoch, overfitting over normal (same fold), above. */
  growth_ratio: number;
}

export type VerdictValue = 'holds' | 'does not hold' | 'inconclusive';

export interface Verdict {
  /** Stable id for scripts, e.g. `normal.val_acc_rising`. */
  id: string;
  dataset: string;
  /** The regime(s) measured, as named in this run. */
  regime: string;
  /** The paper's claim, in words. */
  claim: string;
  /** How the value is computed, in words. */
  statistic: string;
  /** Mean of the per-fold values (null when none could be computed). */
  value: number | null;
  /** Standard deviation of the per-fold values (population). */
  std: number | null;
  perFold: number[];
  /** The value must be above ('>') or below ('<') the threshold for the claim to hold. */
  direction: '>' | '<';
  threshold: number;
  verdict: VerdictValue;
  /** Why: the interval compared, or what is missing. */
  reason: string;
  /** Ids of the stages whose files the value was computed from. */
  stages: string[];
}

// ---------------------------------------------------------------------------------------
// Statistics on one fold's series.

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function std(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) * (x - m))));
}

/** Least-squares slope of y on x; NaN with fewer than two points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * ((ys[i] as number) - my);
    den += (x - mx) * (x - mx);
  });
  return den === 0 ? Number.NaN : num / den;
}

/** Pearson correlation; NaN when either series is constant (no direction to follow). */
export function pearson(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const dy = (ys[i] as number) - my;
    sxy += (x - mx) * dy;
    sxx += (x - mx) * (x - mx);
    syy += dy * dy;
  });
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** Index of the first maximum. */
const argmax = (xs: readonly number[]): number =>
  xs.reduce((best, x, i) => (x > (xs[best] as number) ? i : best), 0);

const lastCount = (n: number, t: VerdictThresholds): number =>
  Math.min(n, Math.max(3, Math.ceil(n * t.last_fraction)));

const tail = <T>(xs: readonly T[], n: number): T[] => xs.slice(xs.length - n);

// ---------------------------------------------------------------------------------------
// From per-fold values to a verdict.

interface Gate {
  folds: number;
  epochs: number;
  /** Set when the claim cannot be measured at all (missing regime or attack). */
  missing?: string;
}

export function decide(
  perFold: readonly number[],
  direction: '>' | '<',
  threshold: number,
  gate: Gate,
  t: VerdictThresholds,
): { value: number | null; std: number | null; verdict: VerdictValue; reason: string } {
  const finite = perFold.filter(Number.isFinite);
  const value = finite.length > 0 ? mean(finite) : null;
  const spread = finite.length > 0 ? std(finite) : null;
  const inconclusive = (reason: string) => ({
    value,
    std: spread,
    verdict: 'inconclusive' as const,
    reason,
  });
  if (gate.missing) return inconclusive(gate.missing);
  if (gate.folds < t.min_folds)
    return inconclusive(`too few folds: ${gate.folds} < ${t.min_folds}`);
  if (gate.epochs < t.min_epochs)
    return inconclusive(`too few epochs: ${gate.epochs} < ${t.min_epochs}`);
  if (finite.length < t.min_folds)
    return inconclusive(
      `undefined on ${perFold.length - finite.length} of ${perFold.length} folds (a constant series)`,
    );
  const m = value as number;
  const lo = m - t.spread * (spread as number);
  const hi = m + t.spread * (spread as number);
  const interval = `mean ± ${t.spread} std = [${round(lo)}, ${round(hi)}]`;
  const above = direction === '>';
  if (above ? lo > threshold : hi < threshold)
    return {
      value,
      std: spread,
      verdict: 'holds',
      reason: `${interval} ${direction} ${round(threshold)}`,
    };
  if (above ? hi <= threshold : lo >= threshold)
    return {
      value,
      std: spread,
      verdict: 'does not hold',
      reason: `${interval} ${above ? '≤' : '≥'} ${round(threshold)}`,
    };
  return inconclusive(`spread too wide: ${interval} straddles ${round(threshold)}`);
}

const round = (x: number): string =>
  Number.isFinite(x) ? String(Number(x.toPrecision(4))) : 'n/a';

// ---------------------------------------------------------------------------------------
// The claims.

interface ClaimDef {
  id: string;
  claim: string;
  statistic: string;
  direction: '>' | '<';
  threshold: number;
  perFold: number[];
  gate: Gate;
  regime: string;
  stages: string[];
}

const stagesOf = (r: RegimeAggregate | undefined, ...holds: Source['holds'][]): string[] =>
  r ? [...new Set(r.sources.filter((s) => holds.includes(s.holds)).map((s) => s.stageId))] : [];

const epochCount = (r: RegimeAggregate): number => r.history.val_acc.epochs.length;

function gateOf(r: RegimeAggregate | undefined, name: string, need?: string): Gate {
  if (!r) return { folds: 0, epochs: 0, missing: `no regime '${name}' in this run` };
  const missing =
    need && !r.foldCurves.every((f) => f.evaluation.asr[need])
      ? `no attack '${need}' in this run`
      : undefined;
  return { folds: r.foldCurves.length, epochs: epochCount(r), ...(missing ? { missing } : {}) };
}

const perFold = (r: RegimeAggregate | undefined, f: (c: FoldCurves) => number): number[] =>
  r ? r.foldCurves.map(f) : [];

function normalClaims(r: RegimeAggregate | undefined, t: VerdictThresholds): ClaimDef[] {
  const name = t.regimes.normal;
  const cw = t.cw_attack;
  const last = (c: FoldCurves) => lastCount(c.history.epochs.length, t);
  const corr = (c: FoldCurves, n: number) =>
    pearson(tail(c.evaluation.testAccuracy, n), tail(c.evaluation.asr[cw] ?? [], n));
  return [
    {
      id: 'normal.val_acc_rising',
      claim: 'validation accuracy still rises at the last epochs',
      statistic: 'slope of validation accuracy per epoch over the last epochs',
      direction: '>',
      threshold: t.rising_slope,
      perFold: perFold(r, (c) => {
        const n = last(c);
        return slope(tail(c.history.epochs, n), tail(c.history.val_acc, n));
      }),
      gate: gateOf(r, name),
      regime: name,
      stages: stagesOf(r, 'history'),
    },
    {
      id: 'normal.cw_asr_follows_accuracy',
      claim: `${cw} ASR rises as test accuracy rises`,
      statistic: `Pearson correlation of ${cw} ASR with test accuracy over all epochs`,
      direction: '>',
      threshold: t.correlation,
      perFold: perFold(r, (c) => corr(c, c.evaluation.epochs.length)),
      gate: gateOf(r, name, cw),
      regime: name,
      stages: stagesOf(r, 'evaluation'),
    },
    {
      id: 'normal.cw_asr_follows_accuracy_late',
      claim: `${cw} ASR rises as test accuracy rises, at the last epochs too`,
      statistic: `Pearson correlation of ${cw} ASR with test accuracy over the last epochs`,
      direction: '>',
      threshold: t.correlation,
      perFold: perFold(r, (c) => corr(c, lastCount(c.evaluation.epochs.length, t))),
      gate: gateOf(r, name, cw),
      regime: name,
      stages: stagesOf(r, 'evaluation'),
    },
  ];
}

function overfittingClaims(r: RegimeAggregate | undefined, t: VerdictThresholds): ClaimDef[] {
  const name = t.regimes.overfitting;
  const cw = t.cw_attack;
  const peak = (c: FoldCurves) => argmax(c.history.val_acc);
  const lastCw = (c: FoldCurves) => {
    const n = lastCount(c.evaluation.epochs.length, t);
    return { x: tail(c.evaluation.epochs, n), y: tail(c.evaluation.asr[cw] ?? [], n) };
  };
  const epochs = r ? epochCount(r) : 0;
  const common = { regime: name };
  return [
    {
      ...common,
      id: 'overfitting.val_acc_peaks_early',
      claim: 'validation accuracy peaks early',
      statistic: 'epoch of the highest validation accuracy (earliest if tied)',
      direction: '<',
      threshold: t.peak_fraction * epochs,
      perFold: perFold(r, (c) => c.history.epochs[peak(c)] as number),
      gate: gateOf(r, name),
      stages: stagesOf(r, 'history'),
    },
    {
      ...common,
      id: 'overfitting.val_acc_falls',
      claim: 'validation accuracy falls after its peak',
      statistic: 'validation accuracy at its peak minus at the last epoch',
      direction: '>',
      threshold: t.min_drop,
      perFold: perFold(
        r,
        (c) => (c.history.val_acc[peak(c)] as number) - (c.history.val_acc.at(-1) as number),
      ),
      gate: gateOf(r, name),
      stages: stagesOf(r, 'history'),
    },
    {
      ...common,
      id: 'overfitting.train_acc_rising',
      claim: 'training accuracy keeps rising after the validation peak',
      statistic: 'training accuracy at the last epoch minus at the validation peak',
      direction: '>',
      threshold: t.min_train_gain,
      perFold: perFold(
        r,
        (c) => (c.history.acc.at(-1) as number) - (c.history.acc[peak(c)] as number),
      ),
      gate: gateOf(r, name),
      stages: stagesOf(r, 'history'),
    },
    {
      ...common,
      id: 'overfitting.cw_asr_stable_slope',
      claim: `${cw} ASR stays stable or falls`,
      statistic: `slope of ${cw} ASR per epoch over the last epochs`,
      direction: '<',
      threshold: t.stable_slope,
      perFold: perFold(r, (c) => {
        const s = lastCw(c);
        return slope(s.x, s.y);
      }),
      gate: gateOf(r, name, cw),
      stages: stagesOf(r, 'evaluation'),
    },
    {
      ...common,
      id: 'overfitting.cw_asr_stable_range',
      claim: `${cw} ASR stays within a narrow band`,
      statistic: `max - min of ${cw} ASR over the last epochs`,
      direction: '<',
      threshold: t.stable_range,
      perFold: perFold(r, (c) => {
        const { y } = lastCw(c);
        return Math.max(...y) - Math.min(...y);
      }),
      gate: gateOf(r, name, cw),
      stages: stagesOf(r, 'evaluation'),
    },
  ];
}

function highAsrClaims(
  regimes: readonly (RegimeAggregate | undefined)[],
  names: readonly string[],
  t: VerdictThresholds,
): ClaimDef[] {
  const roles = ['normal', 'overfitting'];
  return t.high_asr_attacks.flatMap((attack) =>
    names.map((name, i) => {
      const r = regimes[i];
      return {
        id: `${roles[i]}.${attack}_asr_high`,
        claim: `${attack} ASR is high throughout`,
        statistic: `lowest ${attack} ASR over all epochs`,
        direction: '>' as const,
        threshold: t.high_asr,
        perFold: perFold(r, (c) => Math.min(...(c.evaluation.asr[attack] ?? []))),
        gate: gateOf(r, name, attack),
        regime: name,
        stages: stagesOf(r, 'evaluation'),
      };
    }),
  );
}

function growthClaims(
  normal: RegimeAggregate | undefined,
  over: RegimeAggregate | undefined,
  t: VerdictThresholds,
): ClaimDef[] {
  const metrics = [
    { key: 'lossSensitivity', label: 'loss sensitivity', id: 'loss_sensitivity' },
    { key: 'clever', label: 'CLEVER', id: 'clever' },
  ] as const;
  const gate: Gate = !normal
    ? gateOf(normal, t.regimes.normal)
    : !over
      ? gateOf(over, t.regimes.overfitting)
      : {
          folds: Math.min(normal.foldCurves.length, over.foldCurves.length),
          epochs: Math.min(epochCount(normal), epochCount(over)),
        };
  return metrics.map((m) => ({
    id: `${m.id}_growth`,
    claim: `${m.label} grows more in the overfitting regime than in the normal one`,
    statistic: `${m.label} at the last epoch, ${t.regimes.overfitting} over ${t.regimes.normal} (same fold)`,
    direction: '>' as const,
    threshold: t.growth_ratio,
    perFold:
      normal && over
        ? over.foldCurves.flatMap((c) => {
            const peer = normal.foldCurves.find((n) => n.fold === c.fold);
            return peer
              ? [(c.metrics[m.key].at(-1) as number) / (peer.metrics[m.key].at(-1) as number)]
              : [];
          })
        : [],
    gate,
    regime: `${t.regimes.overfitting} vs ${t.regimes.normal}`,
    stages: [...stagesOf(over, 'metrics'), ...stagesOf(normal, 'metrics')],
  }));
}

/** Every claim's verdict on one dataset's aggregate. */
export function verdictsOf(agg: ExperimentAggregate, t: VerdictThresholds): Verdict[] {
  const find = (name: string) => agg.regimes.find((r) => r.regime === name);
  const normal = find(t.regimes.normal);
  const over = find(t.regimes.overfitting);
  const claims = [
    ...normalClaims(normal, t),
    ...overfittingClaims(over, t),
    ...highAsrClaims([normal, over], [t.regimes.normal, t.regimes.overfitting], t),
    ...growthClaims(normal, over, t),
  ];
  return claims.map((c) => ({
    id: c.id,
    dataset: agg.dataset,
    regime: c.regime,
    claim: c.claim,
    statistic: c.statistic,
    ...decide(c.perFold, c.direction, c.threshold, c.gate, t),
    perFold: c.perFold,
    direction: c.direction,
    threshold: c.threshold,
    stages: c.stages,
  }));
}

const number = { type: 'number' };
const fraction = { type: 'number', exclusiveMinimum: 0, maximum: 1 };

/** JSON Schema of the thresholds, for the report stage's params (every one must be given). */
export const verdictThresholdsSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'regimes',
    'cw_attack',
    'high_asr_attacks',
    'min_folds',
    'min_epochs',
    'last_fraction',
    'spread',
    'rising_slope',
    'correlation',
    'peak_fraction',
    'min_drop',
    'min_train_gain',
    'stable_slope',
    'stable_range',
    'high_asr',
    'growth_ratio',
  ],
  properties: {
    regimes: {
      type: 'object',
      additionalProperties: false,
      required: ['normal', 'overfitting'],
      properties: { normal: { type: 'string' }, overfitting: { type: 'string' } },
    },
    cw_attack: { type: 'string' },
    high_asr_attacks: { type: 'array', items: { type: 'string' } },
    min_folds: { type: 'integer', minimum: 1 },
    min_epochs: { type: 'integer', minimum: 2 },
    last_fraction: fraction,
    spread: { type: 'number', minimum: 0 },
    rising_slope: number,
    correlation: { type: 'number', minimum: -1, maximum: 1 },
    peak_fraction: fraction,
    min_drop: number,
    min_train_gain: number,
    stable_slope: number,
    stable_range: { type: 'number', minimum: 0 },
    high_asr: { type: 'number', minimum: 0, maximum: 1 },
    growth_ratio: { type: 'number', minimum: 0 },
  },
};
