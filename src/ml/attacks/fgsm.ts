/**
 * Fast Gradient Method (Goodfellow et al. 2015), untargeted, as IBM ART's FastGradientMethod:
 * one step of size eps along the steepest-ascent direction of the cross-entropy loss for the
 * chosen norm, clipped to [0, 1] and projected onto the eps-ball; optional random start
 * (num_random_init) and ART's `minimal` mode (eps grows by eps_step until the label flips),
 * which empirical robustness uses. Must never return values outside [0, 1].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../classifier.js';
import { Rng } from '../rng.js';
import {
  assertNorm,
  attackLabels,
  batchRanges,
  definedOnly,
  lossGradient,
  type Norm,
  predictLabels,
  projectPerturbation,
  type RunOptions,
  selectRows,
  sliceBatch,
  steepestDirection,
  uniformInBall,
  yieldToEventLoop,
} from './common.js';

export interface FgsmParams {
  norm: Norm;
  /** Step size; the maximum perturbation in `minimal` mode. */
  eps: number;
  /** Increment of eps in `minimal` mode. */
  epsStep: number;
  /** 0: start at x; k > 0: start uniformly in the eps-ball, keep the best of k runs. */
  numRandomInit: number;
  minimal: boolean;
  batchSize: number;
}

/** IBM ART's FastGradientMethod defaults. */
export const FGSM_DEFAULTS: Readonly<FgsmParams> = {
  norm: 'inf',
  eps: 0.3,
  epsStep: 0.1,
  numRandomInit: 0,
  minimal: false,
  batchSize: 32,
};

export interface FgsmOptions extends Partial<FgsmParams>, RunOptions {
  /** True labels; when absent the model's predictions are used (as ART does). */
  labels?: ArrayLike<number>;
  /** Seed of the random starts. */
  seed?: number;
}

/**
 * ART's `FastGradientMethod._compute` on one batch: optional random start in the eps-ball,
 * step `epsStep` along the steepest direction of the loss, clip to [0, 1], project the
 * perturbation from `xInit` onto the eps-ball. PGD repeats it.
 */
export function fastGradientStep(
  classifier: Classifier,
  xAdv: tf.Tensor4D,
  xInit: tf.Tensor4D,
  labels: Int32Array,
  step: { norm: Norm; eps: number; epsStep: number; randomStart?: Rng },
): tf.Tensor4D {
  return tf.tidy(() => {
    let start = xAdv;
    if (step.randomStart !== undefined) {
      const [n, h, w, c] = xAdv.shape;
      const noise = uniformInBall(step.randomStart, n, h * w * c, step.eps, step.norm);
      start = tf.clipByValue(tf.add(xAdv, tf.tensor4d(noise, xAdv.shape)), 0, 1) as tf.Tensor4D;
    }
    const direction = steepestDirection(lossGradient(classifier, start, labels), step.norm);
    const moved = tf.clipByValue(tf.add(start, tf.mul(step.epsStep, direction)), 0, 1);
    const delta = projectPerturbation(tf.sub(moved, xInit) as tf.Tensor4D, step.eps, step.norm);
    return tf.clipByValue(tf.add(xInit, delta), 0, 1) as tf.Tensor4D;
  });
}

function checkParams(p: FgsmParams): void {
  assertNorm(p.norm);
  if (!(p.eps >= 0)) throw new Error(`eps must be >= 0; got ${p.eps}`);
  if (!(p.epsStep > 0)) throw new Error(`epsStep must be > 0; got ${p.epsStep}`);
  if (!Number.isInteger(p.numRandomInit) || p.numRandomInit < 0) {
    throw new Error(`numRandomInit must be an integer >= 0; got ${p.numRandomInit}`);
  }
}

/** Untargeted FGM adversarial examples for every input (caller disposes the result). */
export async function fgsm(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: FgsmOptions = {},
): Promise<tf.Tensor4D> {
  const p: FgsmParams = { ...FGSM_DEFAULTS, ...definedOnly(options) };
  checkParams(p);
  const n = x.shape[0];
  if (n === 0) return tf.clone(x);
  const labels = await attackLabels(classifier, x, options.labels, p.batchSize);
  const ranges = batchRanges(n, p.batchSize);
  if (p.minimal) return minimalPerturbation(classifier, x, labels, p, ranges, options);

  const runs = Math.max(1, p.numRandomInit);
  const rng = Rng.fromSeed(options.seed ?? 0);
  const total = runs * ranges.length;
  let done = 0;
  let best: tf.Tensor4D | undefined;
  let bestRate = -1;
  for (let r = 0; r < runs; r++) {
    const parts: tf.Tensor4D[] = [];
    let fooled = 0;
    try {
      for (const [s, e] of ranges) {
        options.signal?.throwIfAborted();
        const adv = tf.tidy(() => {
          const xb = sliceBatch(x, s, e);
          return fastGradientStep(classifier, xb, xb, labels.subarray(s, e), {
            norm: p.norm,
            eps: p.eps,
            epsStep: p.eps,
            randomStart: p.numRandomInit > 0 ? rng : undefined,
          });
        });
        parts.push(adv);
        const pred = await predictLabels(classifier, adv, e - s);
        for (let i = 0; i < pred.length; i++) if (pred[i] !== labels[s + i]) fooled++;
        options.onProgress?.({ done: ++done, total });
        await yieldToEventLoop();
      }
    } catch (err) {
      tf.dispose(parts);
      best?.dispose();
      throw err;
    }
    const run = tf.concat(parts, 0) as tf.Tensor4D;
    tf.dispose(parts);
    // ART keeps the whole run with the highest success rate (the first one on ties).
    if (fooled > bestRate) {
      best?.dispose();
      best = run;
      bestRate = fooled;
    } else {
      run.dispose();
    }
  }
  return best as tf.Tensor4D;
}

/**
 * ART's `_minimal_perturbation`: the direction is taken once at x; eps = epsStep, 2*epsStep, ...
 * (accumulated by repeated addition, as ART does) while eps <= p.eps; an example stops at the
 * first eps that changes its predicted label and keeps the last tried eps otherwise.
 */
async function minimalPerturbation(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: Int32Array,
  p: FgsmParams,
  ranges: Array<[number, number]>,
  options: RunOptions,
): Promise<tf.Tensor4D> {
  const parts: tf.Tensor4D[] = [];
  try {
    for (const [s, e] of ranges) {
      options.signal?.throwIfAborted();
      const y = labels.subarray(s, e);
      const xb = sliceBatch(x, s, e);
      const direction = tf.tidy(() => steepestDirection(lossGradient(classifier, xb, y), p.norm));
      let adv = xb.clone();
      let active = new Uint8Array(e - s).fill(1);
      let currentEps = p.epsStep;
      while (active.includes(1) && currentEps <= p.eps) {
        const eps = currentEps;
        const next = tf.tidy(() => {
          const candidate = tf.clipByValue(tf.add(xb, tf.mul(eps, direction)), 0, 1) as tf.Tensor4D;
          return selectRows(active, candidate, adv);
        });
        adv.dispose();
        adv = next;
        const pred = await predictLabels(classifier, adv, e - s);
        active = Uint8Array.from(pred, (v, i) => (v === y[i] ? 1 : 0));
        currentEps += p.epsStep;
      }
      direction.dispose();
      xb.dispose();
      parts.push(adv);
      options.onProgress?.({ done: parts.length, total: ranges.length });
      await yieldToEventLoop();
    }
    return tf.concat(parts, 0) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
}
