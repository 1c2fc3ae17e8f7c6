/**
 * CLEVER (Weng et al. 2018), IBM ART's `clever_t` and `clever_u`: for the predicted class p
 * and a target t, sample poolFactor * batchSize points uniformly in the norm ball of `radius`
 * around x (clipped to [0, 1]), take the dual norm of grad(out[p] - out[t]) at each, draw
 * nbBatches maxima of batchSize of those norms (with replacement), fit a reverse Weibull
 * (weibull_min on the negated maxima), and score min((out[p] - out[t])(x) / -loc, radius).
 * Untargeted = minimum over all t != p. "out" is the model output in `output` mode
 * (probabilities by default, as the paper's softmax model).
 *
 * Every (image, target) pair draws its own pool, as ART's clever_t does, from its own
 * generator (pool first, then the maxima), so a score depends neither on the other pairs nor
 * on batching. The untargeted path differentiates all pools of an image at once: the gradient
 * of sum_rows <out(row), e_p - e_t(row)> gives each row its own class-difference gradient (one
 * row of the Jacobian's difference), in one forward and one backward pass per chunk.
 * Never keeps tensors.
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
import {
  type Classifier,
  inputGradient,
  type OutputMode,
  outputFromLogits,
  outputOf,
} from '../classifier.js';
import { deriveSeed, Rng, type RngState } from '../rng.js';
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
  gradientBatchSize: 512,
} as const satisfies Partial<CleverParams>;

export type CleverOptions = Pick<CleverParams, 'nbBatches' | 'batchSize' | 'radius' | 'norm'> &
  Partial<CleverParams> & {
    seed?: number;
    /** Checked before every chunk of pool gradients. */
    signal?: AbortSignal;
    /** Pools kept from earlier calls on the same images (cleverUntargeted only). */
    pools?: CleverPools;
  };

/** One (image, target) pool as drawn, and its generator's state after the draw. */
interface DrawnPool {
  x: Float32Array;
  points: Float32Array;
  after: RngState;
}

/**
 * Pools drawn by cleverUntargeted, kept for later calls on the same images: a pair's pool
 * depends on the image, the seed and the sampling parameters only, not on the model, so
 * every epoch snapshot of a run samples the same points. Up to `maxBytes` of points; a
 * pool is used again only for an identical image (compared value by value).
 */
export class CleverPools {
  private readonly pools = new Map<string, DrawnPool>();
  private bytes = 0;

  constructor(private readonly maxBytes = 256 * 2 ** 20) {}

  /** The pool of `key` drawn for image values `x`, if kept. */
  get(key: string, x: Float32Array): DrawnPool | undefined {
    const pool = this.pools.get(key);
    if (pool === undefined || pool.x.length !== x.length) return undefined;
    for (let i = 0; i < x.length; i++) if (pool.x[i] !== x[i]) return undefined;
    return pool;
  }

  /** Whether a pool of `floats` values may still be kept. */
  fits(floats: number): boolean {
    return this.bytes + 4 * floats <= this.maxBytes;
  }

  set(key: string, pool: DrawnPool): void {
    this.bytes += 4 * (pool.points.length + pool.x.length);
    this.pools.set(key, pool);
  }
}

/** One target's estimate, as ART's clever_t computes it. */
export interface CleverTarget {
  target: number;
  /** out[p] - out[t] at the image. */
  value: number;
  /** The negated maxima the Weibull distribution was fitted to. */
  negatedMaxima: Float64Array;
  /** Fitted location: minus the estimated local Lipschitz constant. */
  loc: number;
  /** min(value / -loc, radius). */
  score: number;
}

/** One image's untargeted estimate: the minimum over its targets. */
export interface CleverImage {
  predicted: number;
  score: number;
  targets: CleverTarget[];
}

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

/** The generator of image `image`'s target `target` under master seed `seed`. */
export function cleverRng(seed: number, image: number, target: number): Rng {
  return Rng.fromSeed(deriveSeed(seed, 'clever', image, target));
}

/** Model output for one image [1, h, w, c] as float64 values. */
async function outputs(
  classifier: Classifier,
  x1: tf.Tensor4D,
  mode: OutputMode,
): Promise<Float64Array> {
  const out = outputOf(classifier, x1, mode);
  const values = Float64Array.from(await out.data());
  out.dispose();
  return values;
}

/** Per point, grad_x (out_pred(x) - out_target(x)) in `output` mode: one target for all. */
export function marginGradients(
  classifier: Classifier,
  points: tf.Tensor4D,
  pred: number,
  target: number,
  output: OutputMode,
): tf.Tensor4D {
  const margin = (z: tf.Tensor2D): tf.Scalar => {
    const k = z.shape[1];
    const v = new Float32Array(k);
    v[pred] = 1;
    v[target] = -1;
    return tf.sum(tf.matMul(outputFromLogits(z, output), tf.tensor2d(v, [k, 1]))) as tf.Scalar;
  };
  return tf.tidy(() => inputGradient(classifier, points, margin));
}

/**
 * `count` pool points around x from `rng`: x + noise added in float64, rounded to float32 and
 * clipped to [0, 1], as ART clips its float32 pool. Drawing a pool in pieces gives the same
 * points as drawing it at once.
 */
function drawPoints(rng: Rng, count: number, xFlat: Float32Array, p: CleverParams): Float32Array {
  const dim = xFlat.length;
  const points = uniformInBall(rng, count, dim, p.radius, p.norm);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) {
      const v = Math.fround((xFlat[j] as number) + (points[i * dim + j] as number));
      points[i * dim + j] = Math.min(1, Math.max(0, v));
    }
  }
  return points;
}

/** Dual norm of each row of a batch of gradients [m, h, w, c], as float64 values. */
async function gradientNorms(g: tf.Tensor4D, q: Norm): Promise<Float64Array> {
  const norms = tf.tidy(() => rowNorm(tf.reshape(g, [g.shape[0], -1]) as tf.Tensor2D, q));
  const values = Float64Array.from(await norms.data());
  norms.dispose();
  for (const v of values)
    if (Number.isNaN(v)) throw new Error('the classifier gives NaN gradients');
  return values;
}

/**
 * A pair's state: its generator, its pool's gradient norms, filled chunk by chunk, and its
 * pool's points when drawn at once (else they are drawn chunk by chunk).
 */
interface Pair {
  target: number;
  rng: Rng;
  norms: Float64Array;
  points?: Float32Array;
}

/** ART's last steps of clever_t: nbBatches maxima drawn from the pool, the fit, the score. */
function scorePair(pair: Pair, value: number, p: CleverParams): CleverTarget {
  const poolSize = pair.norms.length;
  const negatedMaxima = new Float64Array(p.nbBatches);
  for (let b = 0; b < p.nbBatches; b++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < p.batchSize; k++) {
      m = Math.max(m, pair.norms[pair.rng.int(poolSize)] as number);
    }
    negatedMaxima[b] = -m;
  }
  const { loc } = fitWeibullMin(negatedMaxima, p.cInit);
  const score = Math.min(-value / loc, p.radius);
  return { target: pair.target, value, negatedMaxima, loc, score };
}

interface ImageInput {
  x1: tf.Tensor4D;
  xFlat: Float32Array;
  shape: [number, number, number];
  values: Float64Array;
  pred: number;
}

async function imageInput(
  classifier: Classifier,
  x1: tf.Tensor4D,
  p: CleverParams,
): Promise<ImageInput> {
  if (x1.shape[0] !== 1) throw new Error(`clever needs one image; got ${x1.shape[0]}`);
  const [, h, w, c] = x1.shape;
  const values = await outputs(classifier, x1, p.output);
  return {
    x1,
    xFlat: (await x1.data()) as Float32Array,
    shape: [h, w, c],
    values,
    pred: argmax(values),
  };
}

/**
 * ART's clever_t for one image x1 [1, h, w, c] and a target class other than the predicted
 * one, drawing its pool and then its maxima from `rng`. One target at a time: the reference
 * the batched untargeted path must agree with.
 */
export async function cleverTargeted(
  classifier: Classifier,
  x1: tf.Tensor4D,
  target: number,
  options: CleverOptions,
  rng: Rng,
): Promise<CleverTarget> {
  const p = resolve(options);
  const img = await imageInput(classifier, x1, p);
  if (target === img.pred) throw new Error('the target class is the predicted class');
  if (!(Number.isInteger(target) && target >= 0 && target < img.values.length)) {
    throw new Error(`no class ${target}`);
  }
  const pair: Pair = { target, rng, norms: new Float64Array(p.poolFactor * p.batchSize) };
  for (const [s, e] of batchRanges(pair.norms.length, p.gradientBatchSize)) {
    options.signal?.throwIfAborted();
    const points = drawPoints(rng, e - s, img.xFlat, p);
    const g = tf.tidy(() =>
      marginGradients(
        classifier,
        tf.tensor4d(points, [e - s, ...img.shape]),
        img.pred,
        target,
        p.output,
      ),
    );
    pair.norms.set(await gradientNorms(g, dualNorm(p.norm)), s);
    g.dispose();
  }
  return scorePair(pair, (img.values[img.pred] as number) - (img.values[target] as number), p);
}

/**
 * All targets of one image: the pools of every pair, laid end to end, are differentiated in
 * chunks of at most gradientBatchSize points that may span pairs. The weight of row r is
 * e_p - e_t(r), so grad sum_r <out(row r), weight r> is, row by row, each pair's own
 * class-difference gradient: one forward and one backward pass per chunk.
 */
async function cleverImage(
  classifier: Classifier,
  img: ImageInput,
  pairOf: (target: number) => Pair,
  p: CleverParams,
  signal?: AbortSignal,
): Promise<CleverImage> {
  const k = img.values.length;
  const poolSize = p.poolFactor * p.batchSize;
  const pairs: Pair[] = [];
  for (let t = 0; t < k; t++) if (t !== img.pred) pairs.push(pairOf(t));
  const dim = img.xFlat.length;
  for (const [s, e] of batchRanges(pairs.length * poolSize, p.gradientBatchSize)) {
    signal?.throwIfAborted();
    const points = new Float32Array((e - s) * dim);
    const weights = new Float32Array((e - s) * k);
    for (let j = Math.floor(s / poolSize); j * poolSize < e; j++) {
      const pair = pairs[j] as Pair;
      const from = Math.max(s, j * poolSize);
      const count = Math.min(e, (j + 1) * poolSize) - from;
      const at = from - j * poolSize;
      points.set(
        pair.points?.subarray(at * dim, (at + count) * dim) ??
          drawPoints(pair.rng, count, img.xFlat, p),
        (from - s) * dim,
      );
      for (let r = from - s; r < from - s + count; r++) {
        weights[r * k + img.pred] = 1;
        weights[r * k + pair.target] = -1;
      }
    }
    const g = tf.tidy(() => {
      const w = tf.tensor2d(weights, [e - s, k]);
      const head = (z: tf.Tensor2D): tf.Scalar =>
        tf.sum(tf.mul(outputFromLogits(z, p.output), w)) as tf.Scalar;
      return inputGradient(classifier, tf.tensor4d(points, [e - s, ...img.shape]), head);
    });
    const norms = await gradientNorms(g, dualNorm(p.norm));
    g.dispose();
    for (let r = s; r < e; r++) {
      (pairs[Math.floor(r / poolSize)] as Pair).norms[r % poolSize] = norms[r - s] as number;
    }
  }
  const v = img.values;
  const targets = pairs.map((pair) =>
    scorePair(pair, (v[img.pred] as number) - (v[pair.target] as number), p),
  );
  const score = targets.reduce((a, t) => Math.min(a, t.score), Number.POSITIVE_INFINITY);
  return { predicted: img.pred, score, targets };
}

/**
 * Pair (image, target) drawing from `rng`, its whole pool taken from `pools` when kept there
 * (the generator continuing where the draw left it), or drawn at once and kept when it fits;
 * else the pool is drawn chunk by chunk. `id` names the pair (seed, image, target).
 */
function newPair(
  target: number,
  rng: Rng,
  xFlat: Float32Array,
  p: CleverParams,
  pools: CleverPools | undefined,
  id: number[],
): Pair {
  const poolSize = p.poolFactor * p.batchSize;
  const pair: Pair = { target, rng, norms: new Float64Array(poolSize) };
  if (pools === undefined) return pair;
  const key = JSON.stringify([...id, p.radius, p.norm, poolSize]);
  const kept = pools.get(key, xFlat);
  if (kept !== undefined) return { ...pair, rng: Rng.fromState(kept.after), points: kept.points };
  if (!pools.fits((poolSize + 1) * xFlat.length)) return pair;
  const points = drawPoints(rng, poolSize, xFlat, p);
  pools.set(key, { x: xFlat.slice(), points, after: rng.state() });
  return { ...pair, points };
}

/**
 * ART's clever_u for every image of x: per image, the minimum of clever_t over every class
 * but the predicted one; pair (i, t) draws from cleverRng(seed, i, t). Progress is per image.
 */
export async function cleverUntargeted(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: CleverOptions & Omit<RunOptions, 'batchSize'>,
): Promise<CleverImage[]> {
  const p = resolve(options);
  const n = x.shape[0];
  const images: CleverImage[] = [];
  for (let i = 0; i < n; i++) {
    options.signal?.throwIfAborted();
    const x1 = sliceBatch(x, i, i + 1);
    try {
      const img = await imageInput(classifier, x1, p);
      const pairOf = (t: number): Pair =>
        newPair(t, cleverRng(options.seed ?? 0, i, t), img.xFlat, p, options.pools, [
          options.seed ?? 0,
          i,
          t,
        ]);
      images.push(await cleverImage(classifier, img, pairOf, p, options.signal));
    } finally {
      x1.dispose();
    }
    options.onProgress?.({ done: i + 1, total: n });
    await yieldToEventLoop();
  }
  return images;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] as number) > (v[best] as number)) best = i;
  return best;
}
