/**
 * Projected Gradient Descent (Madry et al. 2018), untargeted, as IBM ART's
 * ProjectedGradientDescentNumpy: max_iter fast-gradient steps of eps_step, each clipped to
 * [0, 1] and projected onto the eps-ball around x; with num_random_init > 0 the first step
 * starts uniformly in the ball, and restarts after the first replace an example only where
 * they fool the model. Must never return values outside [0, 1] or the eps-ball.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../classifier.js';
import { Rng } from '../rng.js';
import {
  assertNorm,
  attackLabels,
  batchRanges,
  definedOnly,
  type Norm,
  predictLabels,
  type RunOptions,
  selectRows,
  sliceBatch,
  yieldToEventLoop,
} from './common.js';
import { fastGradientStep } from './fgsm.js';

export interface PgdParams {
  norm: Norm;
  eps: number;
  epsStep: number;
  maxIter: number;
  numRandomInit: number;
  batchSize: number;
}

/** IBM ART's ProjectedGradientDescent defaults. */
export const PGD_DEFAULTS: Readonly<PgdParams> = {
  norm: 'inf',
  eps: 0.3,
  epsStep: 0.1,
  maxIter: 100,
  numRandomInit: 0,
  batchSize: 32,
};

export interface PgdOptions extends Partial<PgdParams>, RunOptions {
  /** True labels; when absent the model's predictions are used (as ART does). */
  labels?: ArrayLike<number>;
  seed?: number;
}

function checkParams(p: PgdParams): void {
  assertNorm(p.norm);
  if (!(p.eps >= 0)) throw new Error(`eps must be >= 0; got ${p.eps}`);
  if (!(p.epsStep > 0)) throw new Error(`epsStep must be > 0; got ${p.epsStep}`);
  if (!Number.isInteger(p.maxIter) || p.maxIter < 0) {
    throw new Error(`maxIter must be an integer >= 0; got ${p.maxIter}`);
  }
  if (!Number.isInteger(p.numRandomInit) || p.numRandomInit < 0) {
    throw new Error(`numRandomInit must be an integer >= 0; got ${p.numRandomInit}`);
  }
}

/** Untargeted PGD adversarial examples for every input (caller disposes the result). */
export async function pgd(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: PgdOptions = {},
): Promise<tf.Tensor4D> {
  const p: PgdParams = { ...PGD_DEFAULTS, ...definedOnly(options) };
  checkParams(p);
  const n = x.shape[0];
  if (n === 0) return tf.clone(x);
  const labels = await attackLabels(classifier, x, options.labels, p.batchSize);
  const rng = Rng.fromSeed(options.seed ?? 0);
  const ranges = batchRanges(n, p.batchSize);
  const runs = Math.max(1, p.numRandomInit);
  const parts: tf.Tensor4D[] = [];
  try {
    for (const [s, e] of ranges) {
      const y = labels.subarray(s, e);
      const xb = sliceBatch(x, s, e);
      let kept: tf.Tensor4D | undefined;
      let adv: tf.Tensor4D | undefined;
      try {
        for (let r = 0; r < runs; r++) {
          adv = xb.clone();
          for (let it = 0; it < p.maxIter; it++) {
            options.signal?.throwIfAborted();
            const next = fastGradientStep(classifier, adv, xb, y, {
              norm: p.norm,
              eps: p.eps,
              epsStep: p.epsStep,
              randomStart: p.numRandomInit > 0 && it === 0 ? rng : undefined,
            });
            adv.dispose();
            adv = next;
          }
          if (kept === undefined) {
            kept = adv;
          } else {
            const pred = await predictLabels(classifier, adv, e - s);
            const fooled = Uint8Array.from(pred, (v, i) => (v !== y[i] ? 1 : 0));
            const merged = selectRows(fooled, adv, kept);
            kept.dispose();
            adv.dispose();
            kept = merged;
          }
          adv = undefined;
          await yieldToEventLoop();
        }
      } catch (err) {
        adv?.dispose();
        kept?.dispose();
        throw err;
      } finally {
        xb.dispose();
      }
      parts.push(kept as tf.Tensor4D);
      options.onProgress?.({ done: parts.length, total: ranges.length });
    }
    return tf.concat(parts, 0) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
}
