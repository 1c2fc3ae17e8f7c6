import { describe, expect, it } from 'vitest';
import { estimateEta } from '../../src/ui/eta.js';

describe('estimateEta', () => {
  it('is mean duration per kind times what is left of that kind, over the parallelism', () => {
    // train: mean (60 + 80) / 2 = 70 s, 4 left -> 280 s; attack: mean 10 s, 2 left -> 20 s.
    const eta = estimateEta({
      jobs: 2,
      finished: { train: [60_000, 80_000], attack: [10_000] },
      queued: { train: 4, attack: 2 },
      running: [],
    });
    expect(eta).toEqual({ ms: (280_000 + 20_000) / 2, partial: false });
  });

  it('counts a running stage by what is left of its mean, or by its own reported pace', () => {
    const eta = estimateEta({
      jobs: 4,
      finished: { train: [100_000] },
      queued: {},
      running: [
        { kind: 'train', elapsedMs: 30_000 }, // 70 s left by the kind's mean
        { kind: 'attack', elapsedMs: 20_000, fraction: 0.25 }, // 60 s left at its pace
      ],
    });
    // Two stages cannot use four slots: (70 + 60) / 2 = 65 s, but the longer needs 70 s.
    expect(eta).toEqual({ ms: 70_000, partial: false });
  });

  it('never counts a stage past its mean as negative time', () => {
    const eta = estimateEta({
      jobs: 1,
      finished: { train: [10_000] },
      queued: { train: 1 },
      running: [{ kind: 'train', elapsedMs: 50_000 }],
    });
    expect(eta).toEqual({ ms: 10_000, partial: false });
  });

  it('marks the estimate partial when a kind left has no sample yet', () => {
    const eta = estimateEta({
      jobs: 1,
      finished: { train: [10_000] },
      queued: { train: 1, attack: 3 },
      running: [],
    });
    expect(eta).toEqual({ ms: 10_000, partial: true });
  });

  it('has no estimate when nothing is left or nothing left has been measured', () => {
    expect(estimateEta({ jobs: 2, finished: { a: [1] }, queued: {}, running: [] })).toBeNull();
    expect(
      estimateEta({
        jobs: 2,
        finished: {},
        queued: { train: 3 },
        running: [{ kind: 'train', elapsedMs: 5 }],
      }),
    ).toBeNull();
  });
});
