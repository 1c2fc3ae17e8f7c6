/**
 * CLEVER (Weng et al. 2018), IBM ART's `clever_t` and `clever_u`: for the predicted class p
 * and a target t, sample poolFactor * batchSize points uniformly in the norm ball of `radius`
 * around x (clipped to [0, 1]), take the dual norm of grad(out[p] - out[t]) at each, draw
 * nbBatches maxima of batchSize of those norms (with replacement), fit a reverse Weibull
 * (weibull_min on the negated maxima), and score min((out[p] - out[t])(x) / -loc, radius).
 * Untargeted = minimum over all t != p. "out" is the model output in `output` mode
 * (probabilities by default, as the paper's softmax model). Seeded per example, so a score
 * does not depend on the other examples or on batching. Never keeps tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  assertNorm,
  batchRanges,
  definedOnly,
  dualNorm,
  type Norm,
  type RunOptions,
  rowNorm,
  sliceBatch,
  uniformInBall,
  yieldToEventLoop,
} from '../attacks/common.js';
import { type Classifier, type OutputMode, outputOf } from '../classifier.js';
import { deriveSeed, Rng } from '../rng.js';
import { fitWeibullMin } from './weibull.js';

export interface CleverParams {
  /** Number of maxima fitted (ART nb_batches; the CLEVER paper uses 500). */
  nbBatches: number;
  /** Gradient norms per maximum (ART batch_size; the CLEVER paper uses 1024). */
  batchSize: number;
  /** Radius of the ball the points are sampled in, and the cap of the score. */
  radius: number;
  /** Norm of the perturbation; gradients are measured in its dual norm. */
  norm: Norm;
  /** Shape guess of the Weibull fit (ART: 1). */
  cInit: number;
  /** Pool size = poolFactor * batchSize (ART: 10). */
  poolFactor: number;
  output: OutputMode;
  /** Pool points per gradient evaluation; memory only, results do not depend on it. */
  gradientBatchSize: number;
}

/** ART's defaults for the parameters it has defaults for. */
export const CLEVER_DEFAULTS = {
  cInit: 1,
  poolFactor: 10,
  output: 'probabilities',
  gradientBatchSize: 256,
} as const satisfies Partial<CleverParams>;

export type CleverOptions = Pick<CleverParams, 'nbBatches' | 'batchSize' | 'radius' | 'norm'> &
  Partial<CleverParams> & {
    seed?: number;
    /** Checked before every chunk of pool gradients. */
    signal?: AbortSignal;
  };

function resolve(options: CleverOptions): CleverParams {
  const p: CleverParams = { ...CLEVER_DEFAULTS, ...definedOnly(options) } as CleverParams;
  assertNorm(p.norm);
  for (const key of ['nbBatches', 'batchSize', 'poolFactor', 'gradientBatchSize'] as const) {
    if (!Number.isInteger(p[key]) || p[key] < 1)
      throw new Error(`${key} must be a positive integer`);
  }
  if (!(p.radius > 0)) throw new Error(`radius must be > 0; got ${p.radius}`);
  return p;
}

/** Model output for one image [1, h, w, c] as float64 values. */
function outputs(classifier: Classifier, x1: tf.Tensor4D, mode: OutputMode): Float64Array {
  const out = outputOf(classifier, x1, mode);
  const values = Float64Array.from(out.dataSync());
  out.dispose();
  return values;
}

/** Per point, grad_x (out_pred(x) - out_target(x)) in `output` mode. */
export function marginGradients(
  classifier: Classifier,
  points: tf.Tensor4D,
  pred: number,
  target: number,
  output: OutputMode,
): tf.Tensor4D {
  return tf.tidy(() => {
    const margin = (xi: tf.Tensor): tf.Scalar => {
      const out = outputOf(classifier, xi as tf.Tensor4D, output);
      // A product with e_pred - e_target rather than a gather: gather's gradient needs the
      // UnsortedSegmentSum kernel, which the wasm backend lacks.
      const k = out.shape[1];
      const v = new Float32Array(k);
      v[pred] = 1;
      v[target] = -1;
      return tf.sum(tf.matMul(out, tf.tensor2d(v, [k, 1]))) as tf.Scalar;
    };
    return tf.grad(margin)(points) as tf.Tensor4D;
  });
}

/**
 * ART's clever_t for one image x1 [1, h, w, c] and a target class other than the predicted one.
 */
export function cleverTargeted(
  classifier: Classifier,
  x1: tf.Tensor4D,
  target: number,
  options: CleverOptions,
  rng: Rng,
): number {
  const p = resolve(options);
  if (x1.shape[0] !== 1) throw new Error(`clever needs one image; got ${x1.shape[0]}`);
  const values = outputs(classifier, x1, p.output);
  const pred = argmax(values);
  if (target === pred) throw new Error('the target class is the predicted class');
  if (!(target >= 0 && target < values.length)) throw new Error(`no class ${target}`);

  const [, h, w, c] = x1.shape;
  const dim = h * w * c;
  const poolSize = p.poolFactor * p.batchSize;
  const q = dualNorm(p.norm);
  const gradNorms = new Float64Array(poolSize);
  const xFlat = x1.dataSync();
  for (const [s, e] of batchRanges(poolSize, p.gradientBatchSize)) {
    options.signal?.throwIfAborted();
    // Drawn chunk by chunk (the same stream as drawing the whole pool at once), so that memory
    // stays at gradientBatchSize images however large the pool.
    const chunk = uniformInBall(rng, e - s, dim, p.radius, p.norm);
    const norms = tf.tidy(() => {
      const points = tf.clipByValue(
        tf.add(tf.tensor2d(chunk, [e - s, dim]), tf.tensor2d(xFlat, [1, dim])),
        0,
        1,
      );
      const g = marginGradients(
        classifier,
        tf.reshape(points, [e - s, h, w, c]) as tf.Tensor4D,
        pred,
        target,
        p.output,
      );
      return rowNorm(tf.reshape(g, [e - s, dim]) as tf.Tensor2D, q);
    });
    gradNorms.set(norms.dataSync(), s);
    norms.dispose();
  }
  for (let i = 0; i < poolSize; i++) {
    if (Number.isNaN(gradNorms[i] as number)) throw new Error('the classifier gives NaN gradients');
  }

  const negatedMaxima = new Float64Array(p.nbBatches);
  for (let b = 0; b < p.nbBatches; b++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < p.batchSize; k++) m = Math.max(m, gradNorms[rng.int(poolSize)] as number);
    negatedMaxima[b] = -m;
  }
  const { loc } = fitWeibullMin(negatedMaxima, p.cInit);
  const value = (values[pred] as number) - (values[target] as number);
  return Math.min(-value / loc, p.radius);
}

/** ART's clever_u for one image: the minimum of clever_t over every class but the predicted one. */
export function cleverUntargetedOne(
  classifier: Classifier,
  x1: tf.Tensor4D,
  options: CleverOptions,
  rng: Rng,
): number {
  const values = outputs(classifier, x1, options.output ?? CLEVER_DEFAULTS.output);
  const pred = argmax(values);
  let score = Number.POSITIVE_INFINITY;
  for (let t = 0; t < values.length; t++) {
    if (t !== pred) score = Math.min(score, cleverTargeted(classifier, x1, t, options, rng));
  }
  return score;
}

/**
 * Untargeted CLEVER score of every image of x. Example i uses the generator seeded by
 * deriveSeed(seed, 'clever', i); progress is reported per example.
 */
export async function cleverUntargeted(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: CleverOptions & Omit<RunOptions, 'batchSize'>,
): Promise<Float64Array> {
  resolve(options);
  const n = x.shape[0];
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    options.signal?.throwIfAborted();
    const x1 = sliceBatch(x, i, i + 1);
    try {
      scores[i] = cleverUntargetedOne(
        classifier,
        x1,
        options,
        Rng.fromSeed(deriveSeed(options.seed ?? 0, 'clever', i)),
      );
    } finally {
      x1.dispose();
    }
    options.onProgress?.({ done: i + 1, total: n });
    await yieldToEventLoop();
  }
  return scores;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}
