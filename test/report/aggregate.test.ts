import { describe, expect, it } from 'vitest';
import { aggregateRegime, distanceRows, epochSeries, stat } from '../../src/report/aggregate.js';
import { foldResult } from './fixture.js';

describe('stat', () => {
  it('is the population mean and std (numpy ddof=0), computed here by the textbook formula', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    expect(stat(xs)).toEqual({ mean: 5, std: 2, n: 8 });
  });
  it('gives NaN with n = 0 for no values', () => {
    const s = stat([]);
    expect(s.n).toBe(0);
    expect(Number.isNaN(s.mean)).toBe(true);
  });
});

describe('epochSeries', () => {
  it('aligns folds by epoch number, and counts the folds that measured each epoch', () => {
    const s = epochSeries([
      { epochs: [1, 2, 3], values: [1, 2, 3] },
      { epochs: [2, 1], values: [4, 3] },
    ]);
    expect(s.epochs).toEqual([1, 2, 3]);
    expect(s.values.map((v) => [v.mean, v.std, v.n])).toEqual([
      [2, 1, 2],
      [3, 1, 2],
      [3, 0, 1],
    ]);
  });
  it('rejects a run whose values do not match its epochs', () => {
    expect(() => epochSeries([{ epochs: [1, 2], values: [1] }])).toThrow(/2 epochs but 1/);
  });
});

describe('distanceRows', () => {
  it('pools every example of every fold, not the per-fold means', () => {
    const a = foldResult('normal', 0);
    const b = foldResult('normal', 1);
    const cw = distanceRows([a, b]).find((r) => r.attack === 'cw');
    // cw l2 values: fold 0 -> [0.4, 0.6], fold 1 -> [0.4, 1.6]; pooled by hand:
    const pooled = [0.4, 0.6, 0.4, 1.6];
    const mean = pooled.reduce((x, y) => x + y) / 4;
    const std = Math.sqrt(pooled.map((v) => (v - mean) ** 2).reduce((x, y) => x + y) / 4);
    expect(cw?.examples).toBe(4);
    expect(cw?.l2.mean).toBeCloseTo(mean, 12);
    expect(cw?.l2.std).toBeCloseTo(std, 12);
    expect(cw?.linf.mean).toBeCloseTo(0.06, 12);
  });
});

describe('aggregateRegime', () => {
  it('orders folds, keeps their selected epochs and every attack curve', () => {
    const agg = aggregateRegime('normal', [foldResult('normal', 1), foldResult('normal', 0)]);
    expect(agg.folds).toEqual([0, 1]);
    expect(agg.selectedEpochs).toEqual([4, 4]);
    expect(Object.keys(agg.asr)).toEqual(['fgsm', 'pgd', 'cw']);
    expect(agg.history.acc.epochs).toEqual([1, 2, 3, 4]);
    expect(agg.sources).toHaveLength(8);
  });
  it('refuses an empty regime', () => {
    expect(() => aggregateRegime('normal', [])).toThrow(/no folds/);
  });
});
