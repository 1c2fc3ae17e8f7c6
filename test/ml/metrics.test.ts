import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf } from '../../src/ml/classifier.js';
import { accuracy, attackOutcome, flipMask } from '../../src/ml/metrics/asr.js';
import {
  CleverPools,
  cleverRng,
  cleverTargeted,
  cleverUntargeted,
  marginGradients,
} from '../../src/ml/metrics/clever.js';
import {
  meanStd,
  perturbationDistances,
  summarizeDistances,
} from '../../src/ml/metrics/distances.js';
import { empiricalRobustness } from '../../src/ml/metrics/empirical-robustness.js';
import { lossSensitivity } from '../../src/ml/metrics/loss-sensitivity.js';
import { nelderMead } from '../../src/ml/metrics/nelder-mead.js';
import {
  fitWeibullMin,
  gamma,
  sumFloat32,
  weibullMinPenalizedNnlf,
} from '../../src/ml/metrics/weibull.js';
import { Rng } from '../../src/ml/rng.js';
import {
  linearFrom,
  linearLogits,
  linearModel,
  randomImages,
  rows,
  softmax,
  tinyConvNet,
} from './attacks-fixtures.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SHAPE: [number, number, number] = [4, 4, 3];
const D = 48;

describe('attack success', () => {
  it('ASR is 1 - accuracy on the adversarial set; a success needs a flip', () => {
    const labels = [0, 1, 2, 0, 1];
    const clean = [0, 1, 0, 0, 2]; // examples 2 and 4 are already wrong
    const adv = [1, 1, 0, 2, 2];
    expect(accuracy(adv, labels)).toBeCloseTo(1 / 5, 12);
    expect(Array.from(flipMask(labels, clean, adv))).toEqual([1, 0, 0, 1, 0]);
    expect(attackOutcome(labels, clean, adv)).toEqual({
      examples: 5,
      cleanCorrect: 3,
      flipped: 2,
      asr: 0.8,
      flipRate: 2 / 3,
    });
  });
});

describe('perturbation distances', () => {
  it('counts changed pixels once across channels, with a tolerance for float noise', async () => {
    const shape: [number, number, number, number] = [2, 2, 3, 3];
    const orig = new Float32Array(36).map((_, i) => (i % 7) / 7);
    const adv = orig.slice();
    const at = (n: number, h: number, w: number, c: number) => ((n * 2 + h) * 3 + w) * 3 + c;
    adv[at(0, 0, 0, 0)] = (adv[at(0, 0, 0, 0)] as number) + 0.25;
    adv[at(0, 0, 0, 2)] = (adv[at(0, 0, 0, 2)] as number) - 0.5; // same pixel, two channels
    adv[at(0, 1, 2, 1)] = (adv[at(0, 1, 2, 1)] as number) + 1e-4;
    adv[at(1, 0, 1, 0)] = (adv[at(1, 0, 1, 0)] as number) + 0.1;
    adv[at(1, 1, 1, 1)] = (adv[at(1, 1, 1, 1)] as number) + 0.1;
    adv[at(1, 1, 1, 2)] = (adv[at(1, 1, 1, 2)] as number) - 0.1;
    const o = tf.tensor4d(orig, shape);
    const a = tf.tensor4d(adv, shape);

    // Naive loops for the expected values.
    const expected = (tol: number) => {
      const l0: number[] = [];
      const l2: number[] = [];
      const linf: number[] = [];
      for (let n = 0; n < 2; n++) {
        let pixels = 0;
        let ss = 0;
        let mx = 0;
        for (let h = 0; h < 2; h++) {
          for (let w = 0; w < 3; w++) {
            let changed = false;
            for (let c = 0; c < 3; c++) {
              const d = Math.abs(
                (adv[at(n, h, w, c)] as number) - (orig[at(n, h, w, c)] as number),
              );
              if (d > tol) changed = true;
              ss += d * d;
              mx = Math.max(mx, d);
            }
            if (changed) pixels++;
          }
        }
        l0.push(pixels);
        l2.push(Math.sqrt(ss));
        linf.push(mx);
      }
      return { l0, l2, linf };
    };
    for (const tol of [0, 1e-3]) {
      const got = await perturbationDistances(o, a, { l0Tolerance: tol });
      const want = expected(tol);
      expect(Array.from(got.l0)).toEqual(want.l0);
      for (let i = 0; i < 2; i++) {
        expect(got.l2[i]).toBeCloseTo(want.l2[i] as number, 6);
        expect(got.linf[i]).toBeCloseTo(want.linf[i] as number, 6);
      }
    }
    expect(Array.from((await perturbationDistances(o, a)).l0)).toEqual([2, 2]);
    expect(Array.from((await perturbationDistances(o, a, { l0Tolerance: 1e-3 })).l0)).toEqual([
      1, 2,
    ]);
    const summary = summarizeDistances(await perturbationDistances(o, a, { l0Tolerance: 1e-3 }));
    expect(summary.l0).toEqual({ mean: 1.5, std: 0.5 });
    tf.dispose([o, a]);
  });

  it('mean and population std', () => {
    const { mean, std } = meanStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(Math.sqrt(1.25), 12);
  });
});

describe('Nelder-Mead and the Weibull fit', () => {
  it('gamma function', () => {
    expect(gamma(5)).toBeCloseTo(24, 10);
    expect(gamma(0.5)).toBeCloseTo(Math.sqrt(Math.PI), 10);
    expect(gamma(1.5)).toBeCloseTo(Math.sqrt(Math.PI) / 2, 10);
  });

  it("minimises the Rosenbrock function from scipy's classic start", () => {
    const rosen = ([x, y]: number[]) =>
      100 * ((y as number) - (x as number) ** 2) ** 2 + (1 - (x as number)) ** 2;
    const r = nelderMead(rosen, [-1.2, 1]);
    expect(r.x[0]).toBeCloseTo(1, 3);
    expect(r.x[1]).toBeCloseTo(1, 3);
    expect(r.iterations).toBeLessThanOrEqual(400);
  });

  it('recovers the parameters of samples drawn from a known weibull_min', () => {
    const truth = { c: 3, loc: -4, scale: 1.5 };
    const rng = Rng.fromSeed(2024);
    // Inverse CDF: F(x) = 1 - exp(-((x - loc) / scale)^c).
    const data = Float64Array.from(
      { length: 3000 },
      () => truth.loc + truth.scale * (-Math.log(1 - rng.next())) ** (1 / truth.c),
    );
    const fit = fitWeibullMin(data, 1);
    expect(Math.abs(fit.c - truth.c) / truth.c).toBeLessThan(0.1);
    expect(Math.abs(fit.loc - truth.loc)).toBeLessThan(0.1);
    expect(Math.abs(fit.scale - truth.scale) / truth.scale).toBeLessThan(0.1);
    // A maximum-likelihood fit is at least as likely as the truth.
    expect(weibullMinPenalizedNnlf(fit, data)).toBeLessThanOrEqual(
      weibullMinPenalizedNnlf(truth, data),
    );
  });

  it('recovers a reverse Weibull location (as CLEVER uses it) from negated maxima', () => {
    // Maxima of |uniform(-2, 2)| draws have the upper end point 2; negated, weibull_min's loc is -2.
    const rng = Rng.fromSeed(7);
    const data = Float64Array.from({ length: 400 }, () => {
      let m = 0;
      for (let k = 0; k < 50; k++) m = Math.max(m, Math.abs(4 * rng.next() - 2));
      return -m;
    });
    const fit = fitWeibullMin(data, 1);
    expect(fit.loc).toBeLessThanOrEqual(Math.min(...data));
    expect(fit.loc).toBeCloseTo(-2, 1);
  });
});

describe('CLEVER', () => {
  // For linear logits the margin's gradient is the constant w_p - w_t, so every sampled norm
  // is its dual norm L_t and the score is min_t min((z_p - z_t) / L_t, radius).
  const model = linearModel(SHAPE, 3, 81);
  afterAll(() => model.dispose());

  function closedForm(x: Float32Array, norm: 'inf' | 2, radius: number): number {
    const z = linearLogits(model, x);
    let pred = 0;
    for (let k = 1; k < 3; k++) if ((z[k] as number) > (z[pred] as number)) pred = k;
    let best = Number.POSITIVE_INFINITY;
    for (let t = 0; t < 3; t++) {
      if (t === pred) continue;
      let dual = 0;
      for (let i = 0; i < D; i++) {
        const a = (model.w[i * 3 + pred] as number) - (model.w[i * 3 + t] as number);
        dual = norm === 'inf' ? dual + Math.abs(a) : dual + a * a;
      }
      if (norm === 2) dual = Math.sqrt(dual);
      best = Math.min(best, ((z[pred] as number) - (z[t] as number)) / dual, radius);
    }
    return best;
  }

  for (const norm of ['inf', 2] as const) {
    it(`on linear logits equals margin / dual norm of (w_p - w_t) (norm ${norm})`, async () => {
      const x = randomImages(3, SHAPE, 82, 0.2, 0.8);
      const xs = rows(x);
      for (const radius of [5, 1e-3]) {
        const scores = await cleverUntargeted(model, x, {
          nbBatches: 20,
          batchSize: 8,
          radius,
          norm,
          output: 'logits',
          seed: 1,
        });
        for (let i = 0; i < 3; i++) {
          const want = closedForm(xs[i] as Float32Array, norm, radius);
          expect(Math.abs((scores[i]?.score as number) - want) / want).toBeLessThan(1e-3);
        }
      }
      x.dispose();
    });
  }

  it('differentiates the probability margin like finite differences do', () => {
    const net = tinyConvNet(SHAPE, 3, 85);
    const x = randomImages(2, SHAPE, 86);
    const g = marginGradients(net, x, 2, 0, 'probabilities');
    const grad = g.dataSync();
    const xs = rows(x);
    const margin = (img: Float32Array): number =>
      tf.tidy(() => {
        const p = outputOf(net, tf.tensor4d(img, [1, ...SHAPE]), 'probabilities').dataSync();
        return (p[2] as number) - (p[0] as number);
      });
    const h = 1e-2;
    for (let i = 0; i < 2; i++) {
      for (const j of [1, 10, 25, 40]) {
        const plus = (xs[i] as Float32Array).slice();
        const minus = plus.slice();
        plus[j] = (plus[j] as number) + h;
        minus[j] = (minus[j] as number) - h;
        expect(grad[i * D + j] as number).toBeCloseTo((margin(plus) - margin(minus)) / (2 * h), 4);
      }
    }
    tf.dispose([x, g]);
    net.dispose();
  });

  it('stops on abort without leaking tensors', async () => {
    const x = randomImages(3, SHAPE, 87);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const run = cleverUntargeted(model, x, {
      nbBatches: 5,
      batchSize: 4,
      radius: 1,
      norm: 2,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    await expect(run).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('on probabilities of a non-linear model: positive, capped by the radius, seeded, chunking-invariant, no leaks', async () => {
    const net = tinyConvNet(SHAPE, 3, 83);
    const x = randomImages(2, SHAPE, 84);
    const before = tf.memory().numTensors;
    const opts = { nbBatches: 10, batchSize: 5, radius: 2, norm: 2 as const, seed: 9 };
    const a = await cleverUntargeted(net, x, opts);
    const b = await cleverUntargeted(net, x, opts);
    expect(tf.memory().numTensors).toBe(before);
    for (const { score } of a) {
      expect(score).toBeGreaterThan(0);
      expect(score).toBeLessThanOrEqual(2);
    }
    expect(b).toEqual(a);
    // The pool is drawn chunk by chunk; the chunk size must not change the scores.
    const c = await cleverUntargeted(net, x, { ...opts, gradientBatchSize: 3 });
    expect(c).toEqual(a);
    tf.dispose([x]);
    net.dispose();
  });
});

describe('CLEVER pools kept across calls', () => {
  it('scores exactly as drawing the pools each time, for other models and chunkings too', async () => {
    const [netA, netB] = [tinyConvNet(SHAPE, 3, 90), tinyConvNet(SHAPE, 3, 91)];
    const x = randomImages(3, SHAPE, 92);
    const opts = { nbBatches: 6, batchSize: 4, radius: 0.5, norm: 'inf' as const, seed: 3 };
    const pools = new CleverPools();
    const drawn = await cleverUntargeted(netA, x, { ...opts, pools });
    expect(drawn).toEqual(await cleverUntargeted(netA, x, opts));
    // The pools now come from the cache, for another model and chunk size as well.
    expect(await cleverUntargeted(netA, x, { ...opts, pools })).toEqual(drawn);
    expect(await cleverUntargeted(netB, x, { ...opts, pools, gradientBatchSize: 7 })).toEqual(
      await cleverUntargeted(netB, x, opts),
    );
    // Another image at the same index, or another radius, draws its own pool.
    const y = randomImages(3, SHAPE, 93);
    expect(await cleverUntargeted(netA, y, { ...opts, pools })).toEqual(
      await cleverUntargeted(netA, y, opts),
    );
    const wider = { ...opts, radius: 0.7 };
    expect(await cleverUntargeted(netA, x, { ...wider, pools })).toEqual(
      await cleverUntargeted(netA, x, wider),
    );
    tf.dispose(x);
    tf.dispose(y);
    netA.dispose();
    netB.dispose();
  });

  it('draws chunk by chunk, keeping nothing, beyond its byte budget', async () => {
    const net = tinyConvNet(SHAPE, 3, 94);
    const x = randomImages(2, SHAPE, 95);
    const opts = { nbBatches: 6, batchSize: 4, radius: 0.5, norm: 2 as const, seed: 4 };
    const pools = new CleverPools(0);
    expect(await cleverUntargeted(net, x, { ...opts, pools })).toEqual(
      await cleverUntargeted(net, x, opts),
    );
    expect(pools.fits(1)).toBe(false);
    tf.dispose(x);
    net.dispose();
  });
});

describe('CLEVER, batched and saturated', () => {
  it('scores all targets of an image in shared passes exactly as one target at a time', async () => {
    const net = tinyConvNet(SHAPE, 3, 88);
    const x = randomImages(3, SHAPE, 89);
    const opts = { nbBatches: 6, batchSize: 4, radius: 0.5, norm: 'inf' as const, seed: 5 };
    // Chunks of 7 points straddle the pools of the two targets of an image.
    const batched = await cleverUntargeted(net, x, { ...opts, gradientBatchSize: 7 });
    for (const [i, img] of batched.entries()) {
      const x1 = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
      for (const t of img.targets) {
        const one = await cleverTargeted(net, x1, t.target, opts, cleverRng(5, i, t.target));
        expect(one).toEqual(t);
      }
      expect(img.score).toBe(Math.min(...img.targets.map((t) => t.score)));
      x1.dispose();
    }
    x.dispose();
    net.dispose();
  });

  it('is the radius where the softmax is saturated in the whole ball (zero gradients)', async () => {
    // Bias gaps of 300 against |w.x| <= 48: every other probability underflows to 0 in
    // float32, the margin is exactly 1 with zero gradient everywhere, so the Lipschitz
    // estimate is ~0 and every target's score is capped, as ART caps it.
    const rng = Rng.fromSeed(90);
    const w = Float64Array.from({ length: D * 3 }, () => 2 * rng.next() - 1);
    const net = linearFrom(SHAPE, 3, w, Float64Array.from([300, 0, -10]));
    const x = randomImages(2, SHAPE, 91);
    for (const norm of ['inf', 2] as const) {
      const images = await cleverUntargeted(net, x, {
        nbBatches: 8,
        batchSize: 5,
        radius: 0.3,
        norm,
        seed: 3,
      });
      for (const img of images) {
        expect(img.predicted).toBe(0);
        for (const t of img.targets) {
          expect(t.value).toBe(1);
          expect(Math.max(...t.negatedMaxima.map(Math.abs))).toBe(0);
          expect(t.loc).toBeLessThan(0);
          expect(t.score).toBe(0.3);
        }
        expect(img.score).toBe(0.3);
      }
    }
    x.dispose();
    net.dispose();
  });
});

describe("the Weibull fit against scipy's, as ART calls it", () => {
  // Recorded with Debian's scipy 1.10.1 / numpy 1.24.2 on the Weibull data (negated maxima of
  // gradient norms) of real default-pipeline snapshots, degenerate sets included; see the
  // file's `generated_by`.
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/weibull-scipy.json', import.meta.url), 'utf8'),
  ) as {
    sets: Array<{
      source: string;
      kind: string;
      data: number[];
      c_init: number;
      scipy: { loc: number };
    }>;
  };

  it('sums float32 values as numpy 1.24 does (pairwise, 8 accumulators, halves above 128)', () => {
    // What numpy printed (shortest float32 repr) for np.sum(np.array([...], dtype=np.float32)).
    // Summed one after the other in float32 they give 4 and 90016610.
    const a = Float32Array.from([
      1e8, 1, 1, 1, 1, 1, 1, 1, -1e8, 3, 0.1, 0.2, 0.3, 5e7, 1, 1, 1, -5e7,
    ]);
    expect(sumFloat32(a)).toBe(12);
    expect(sumFloat32(a.subarray(0, 10))).toBe(3);
    const b = Float32Array.from({ length: 300 }, (_, i) =>
      Math.fround(Math.fround(i * Math.fround(0.37)) + 3e5),
    );
    expect(sumFloat32(b)).toBe(Math.fround(90016590));
  });

  for (const [i, set] of fixture.sets.entries()) {
    it(`set ${i} (${set.kind}; ${set.source}): loc within 0.5% of scipy's`, () => {
      const fit = fitWeibullMin(Float64Array.from(set.data), set.c_init);
      expect(Math.abs(fit.loc - set.scipy.loc)).toBeLessThanOrEqual(5e-3 * Math.abs(set.scipy.loc));
    });
  }
});

describe('loss sensitivity', () => {
  it('on a linear model is the mean of ||sum_k (p_k - [k=y]) w_k||_2', async () => {
    const model = linearModel(SHAPE, 3, 91);
    const x = randomImages(5, SHAPE, 92);
    const labels = [0, 1, 2, 2, 1];
    const before = tf.memory().numTensors;
    const got = await lossSensitivity(model, x, labels, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    let sum = 0;
    for (const [n, xi] of rows(x).entries()) {
      const p = softmax(linearLogits(model, xi));
      let ss = 0;
      for (let i = 0; i < D; i++) {
        let g = 0;
        for (let k = 0; k < 3; k++)
          g += ((p[k] as number) - (k === labels[n] ? 1 : 0)) * (model.w[i * 3 + k] as number);
        ss += g * g;
      }
      sum += Math.sqrt(ss);
    }
    expect(got).toBeCloseTo(sum / 5, 5);
    x.dispose();
    model.dispose();
  });
});

describe('empirical robustness', () => {
  // Two classes: the cross-entropy gradient is (p_y - 1)(w_y - w_o), so FGSM's L-inf direction
  // is sign(w_o - w_y) at every eps, and each rung of ART's eps ladder has a closed form.
  const base = linearModel(SHAPE, 2, 95);
  base.dispose();
  // A bias towards class 0 so that some examples need more than the largest eps.
  const model = linearFrom(SHAPE, 2, base.w, Float64Array.from([6.5, -6.5]));
  afterAll(() => model.dispose());

  function expected(
    xs: Float32Array[],
    eps: number,
    epsStep: number,
  ): { value: number; flipped: number } {
    let sum = 0;
    let flipped = 0;
    for (const xi of xs) {
      const z = linearLogits(model, xi);
      const y = (z[1] as number) > (z[0] as number) ? 1 : 0;
      const sign = Array.from(xi, (_, i) =>
        Math.sign((model.w[i * 2 + 1 - y] as number) - (model.w[i * 2 + y] as number)),
      );
      // ART's ladder: eps_step, then repeated addition while <= eps.
      for (let e = epsStep; e <= eps; e += epsStep) {
        const moved = Array.from(xi, (v, i) =>
          Math.min(1, Math.max(0, v + e * (sign[i] as number))),
        );
        const zm = linearLogits(model, moved);
        if ((zm[1 - y] as number) > (zm[y] as number)) {
          flipped++;
          const linf = Math.max(...moved.map((v, i) => Math.abs(v - (xi[i] as number))));
          sum += linf / Math.max(...xi.map(Math.abs));
          break;
        }
      }
    }
    return { value: flipped === 0 ? 0 : sum / flipped, flipped };
  }

  it('matches the closed form of minimal FGSM on a two-class linear model', async () => {
    const x = randomImages(16, SHAPE, 96);
    const xs = rows(x);
    // The fixture must exercise both outcomes.
    const fine = expected(xs, 0.3, 0.05).flipped;
    expect(fine).toBeGreaterThan(0);
    expect(fine).toBeLessThan(16);
    for (const [eps, epsStep] of [
      [0.3, 0.05],
      [0.3, 0.1],
    ] as const) {
      const before = tf.memory().numTensors;
      const got = await empiricalRobustness(model, x, { eps, epsStep, batchSize: 5 });
      expect(tf.memory().numTensors).toBe(before);
      const want = expected(xs, eps, epsStep);
      expect(got.flipped).toBe(want.flipped);
      expect(got.value).toBeCloseTo(want.value, 5);
    }
    x.dispose();
  });
});
