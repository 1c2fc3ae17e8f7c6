/**
 * Verdicts on synthetic per-fold histories built to make each claim hold, fail, or be
 * undecidable (too few folds, too few epochs, folds that disagree).
 */
import { describe, expect, it } from 'vitest';
import { aggregateRegime } from '../../src/report/aggregate.js';
import type { ExperimentAggregate, FoldResult } from '../../src/report/types.js';
import {
  decide,
  pearson,
  slope,
  type VerdictThresholds,
  verdictsOf,
} from '../../src/report/verdicts.js';

const T: VerdictThresholds = {
  regimes: { normal: 'normal', overfitting: 'overfitting' },
  cw_attack: 'cw',
  high_asr_attacks: ['fgsm', 'pgd'],
  min_folds: 2,
  min_epochs: 6,
  last_fraction: 0.33,
  spread: 1,
  rising_slope: 0,
  correlation: 0.5,
  peak_fraction: 0.5,
  min_drop: 0.01,
  min_train_gain: 0,
  stable_slope: 0.005,
  stable_range: 0.15,
  high_asr: 0.5,
  growth_ratio: 1,
};

type Curve = (epoch: number, fold: number) => number;

interface Shape {
  valAcc: Curve;
  acc: Curve;
  testAcc: Curve;
  cw: Curve;
  high: Curve;
  sensitivity: Curve;
  clever: Curve;
}

function fold(shape: Shape, f: number, epochs: number): FoldResult {
  const e = Array.from({ length: epochs }, (_, i) => i + 1);
  const at = (c: Curve) => e.map((x) => c(x, f));
  return {
    fold: f,
    history: {
      epochs: e,
      loss: at(() => 1),
      val_loss: at(() => 1),
      acc: at(shape.acc),
      val_acc: at(shape.valAcc),
    },
    selectedEpoch: 1,
    evaluation: {
      epochs: e,
      testAccuracy: at(shape.testAcc),
      asr: { cw: at(shape.cw), fgsm: at(shape.high), pgd: at(shape.high) },
    },
    metrics: {
      epochs: e,
      clever: at(shape.clever),
      lossSensitivity: at(shape.sensitivity),
      empiricalRobustness: at(() => 0.1),
    },
    distances: {},
    sources: [{ stageId: `train[${f}]`, file: 'history.json', digest: 'd', holds: 'history' }],
  };
}

function experiment(normal: Shape, over: Shape, folds = 3, epochs = 30): ExperimentAggregate {
  const regime = (name: string, shape: Shape) =>
    aggregateRegime(
      name,
      Array.from({ length: folds }, (_, f) => fold(shape, f, epochs)),
    );
  return {
    dataset: 'synthetic',
    params: {},
    regimes: [regime('normal', normal), regime('overfitting', over)],
  };
}

/** A small fold-dependent wobble, so spreads are not zero. */
const w = (e: number, f: number) => 0.002 * (((e + f) % 3) - 1);

// The paper's picture: normal keeps improving and CW follows accuracy; overfitting peaks at
// epoch 5, CW flat, FGSM/PGD high, sensitivity and CLEVER larger when overfitting.
const paperNormal: Shape = {
  valAcc: (e, f) => 0.3 + 0.02 * e + w(e, f),
  acc: (e, f) => 0.3 + 0.021 * e + w(e, f),
  testAcc: (e, f) => 0.3 + 0.02 * e + w(e, f),
  cw: (e, f) => 0.1 + 0.025 * e + w(e, f),
  high: () => 0.95,
  sensitivity: (e) => 0.5 + 0.01 * e,
  clever: () => 0.5,
};
const paperOver: Shape = {
  valAcc: (e, f) => (e <= 5 ? 0.5 + 0.06 * e : 0.8 - 0.005 * (e - 5)) + w(e, f),
  acc: (e, f) => Math.min(1, 0.5 + 0.016 * e) + w(e, f),
  testAcc: (e, f) => (e <= 5 ? 0.5 + 0.06 * e : 0.8 - 0.005 * (e - 5)) + w(e, f),
  cw: (e, f) => 0.55 + w(e, f),
  high: () => 0.97,
  sensitivity: (e) => 0.6 + 0.2 * e,
  clever: (e) => 0.5 + 0.1 * e,
};

// Everything the other way round.
const contraryNormal: Shape = {
  ...paperNormal,
  valAcc: (e, f) => 0.9 - 0.01 * e + w(e, f),
  cw: (e, f) => 0.9 - 0.02 * e + w(e, f),
  high: () => 0.2,
  sensitivity: () => 3,
  clever: () => 3,
};
const contraryOver: Shape = {
  ...paperOver,
  valAcc: (e, f) => 0.3 + 0.02 * e + w(e, f),
  acc: (e, f) => 0.3 + 0.02 * e + w(e, f),
  cw: (e, f) => 0.2 + 0.02 * e + w(e, f),
  high: () => 0.1,
  sensitivity: () => 1,
  clever: () => 1,
};

const byId = (agg: ExperimentAggregate) =>
  Object.fromEntries(verdictsOf(agg, T).map((v) => [v.id, v]));

describe('verdicts', () => {
  it('every claim holds on histories shaped like the paper', () => {
    const verdicts = verdictsOf(experiment(paperNormal, paperOver), T);
    expect(verdicts.map((v) => v.id).sort()).toEqual(
      [
        'clever_growth',
        'loss_sensitivity_growth',
        'normal.cw_asr_follows_accuracy',
        'normal.cw_asr_follows_accuracy_late',
        'normal.fgsm_asr_high',
        'normal.pgd_asr_high',
        'normal.val_acc_rising',
        'overfitting.cw_asr_stable_range',
        'overfitting.cw_asr_stable_slope',
        'overfitting.fgsm_asr_high',
        'overfitting.pgd_asr_high',
        'overfitting.train_acc_rising',
        'overfitting.val_acc_falls',
        'overfitting.val_acc_peaks_early',
      ].sort(),
    );
    for (const v of verdicts)
      expect([v.id, v.verdict, v.reason]).toEqual([v.id, 'holds', v.reason]);
    const v = byId(experiment(paperNormal, paperOver));
    expect(v['overfitting.val_acc_peaks_early']?.value).toBe(5);
    expect(v['overfitting.val_acc_peaks_early']?.threshold).toBe(15);
    expect(v['normal.val_acc_rising']?.value).toBeCloseTo(0.02, 3);
    expect(v['normal.val_acc_rising']?.perFold).toHaveLength(3);
    expect(v['normal.val_acc_rising']?.stages).toEqual(['train[0]', 'train[1]', 'train[2]']);
    // overfitting (0.6 + 0.2*30) over normal (0.5 + 0.01*30), fold by fold
    expect(v.loss_sensitivity_growth?.value).toBeCloseTo(6.6 / 0.8, 10);
  });

  it('every claim fails on histories shaped the other way', () => {
    for (const v of verdictsOf(experiment(contraryNormal, contraryOver), T))
      expect([v.id, v.verdict]).toEqual([v.id, 'does not hold']);
  });

  it('is inconclusive with one fold, with too few epochs, and when folds disagree', () => {
    for (const v of verdictsOf(experiment(paperNormal, paperOver, 1), T)) {
      expect(v.verdict).toBe('inconclusive');
      expect(v.reason).toBe('too few folds: 1 < 2');
    }
    for (const v of verdictsOf(experiment(paperNormal, paperOver, 3, 4), T)) {
      expect(v.verdict).toBe('inconclusive');
      expect(v.reason).toBe('too few epochs: 4 < 6');
    }
    const split: Shape = {
      ...paperNormal,
      valAcc: (e, f) => 0.5 + (f === 0 ? 0.01 : -0.01) * e,
    };
    const rising = byId(experiment(split, paperOver, 2))['normal.val_acc_rising'];
    expect(rising?.verdict).toBe('inconclusive');
    expect(rising?.reason).toMatch(
      /^spread too wide: mean ± 1 std = \[-0\.01, 0\.01\] straddles 0$/,
    );
  });

  it('is inconclusive when a regime or an attack is missing, or a series is constant', () => {
    const agg = experiment(paperNormal, { ...paperOver, testAcc: () => 0.5 });
    const only = { ...agg, regimes: agg.regimes.slice(0, 1) };
    const v = byId(only);
    expect(v['overfitting.val_acc_falls']?.reason).toBe("no regime 'overfitting' in this run");
    expect(v.clever_growth?.verdict).toBe('inconclusive');
    const noCw = verdictsOf(experiment(paperNormal, paperOver), { ...T, cw_attack: 'deepfool' });
    expect(noCw.find((x) => x.id === 'normal.cw_asr_follows_accuracy')?.reason).toBe(
      "no attack 'deepfool' in this run",
    );
    const flat = byId(experiment({ ...paperNormal, testAcc: () => 0.5 }, paperOver));
    expect(flat['normal.cw_asr_follows_accuracy']?.reason).toBe(
      'undefined on 3 of 3 folds (a constant series)',
    );
  });
});

describe('statistics', () => {
  it('slope and correlation match hand-computed values', () => {
    expect(slope([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(2, 12);
    expect(slope([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [1, 1, 1])).toBeNaN();
  });

  it('decides on mean ± k std, in either direction', () => {
    const gate = { folds: 3, epochs: 30 };
    expect(decide([1, 2, 3], '>', 0, gate, T).verdict).toBe('holds');
    expect(decide([1, 2, 3], '<', 0, gate, T).verdict).toBe('does not hold');
    expect(decide([1, 2, 3], '>', 1.5, gate, T).verdict).toBe('inconclusive');
    expect(decide([1, 2, 3], '>', 1.5, gate, { ...T, spread: 0.5 }).verdict).toBe('holds');
  });
});
