/**
 * Pieces shared by the attacks and the robustness metrics: norms, labels, the cross-entropy
 * loss gradient, steepest-ascent directions, projection onto Lp balls and uniform sampling in
 * them (IBM ART's `projection` and `random_sphere`), batching with progress and abort.
 * Everything here is batched over the first axis and treats examples independently.
 * Must never keep a tensor it does not return: callers rely on tf.memory() staying flat.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's Node bundle registers no gradients; tfjs-layers registers all of core's. Every
// attack and metric differentiates, and must not depend on some caller having loaded layers.
import '@tensorflow/tfjs-layers';
import { type Classifier, inputGradient } from '../classifier.js';
import type { Rng } from '../rng.js';

/** An Lp norm as ART names them: `'inf'` (np.inf), 1 or 2. */
export type Norm = 'inf' | 1 | 2;

/** Reported after every batch an attack or metric finishes. */
export interface BatchProgress {
  /** Batches finished so far (over all restarts, for attacks with restarts). */
  done: number;
  total: number;
}

/** Options every batched routine accepts. */
export interface RunOptions {
  /** Examples per batch; results do not depend on it (examples are independent). */
  batchSize?: number;
  onProgress?: (p: BatchProgress) => void;
  /** Checked before every batch (and every inner iteration of iterative attacks). */
  signal?: AbortSignal;
}

export function assertNorm(norm: unknown): asserts norm is Norm {
  if (norm !== 'inf' && norm !== 1 && norm !== 2) {
    throw new Error(`norm must be 'inf', 1 or 2; got ${JSON.stringify(norm)}`);
  }
}

/** The dual norm q of p (1/p + 1/q = 1), used for gradient norms in CLEVER. */
export function dualNorm(norm: Norm): Norm {
  if (norm === 'inf') return 1;
  if (norm === 1) return 'inf';
  return 2;
}

/** Per-row Lp norm of a 2-D tensor [n, d] -> [n]. */
export function rowNorm(v: tf.Tensor2D, norm: Norm): tf.Tensor1D {
  return tf.tidy(() => {
    if (norm === 'inf') return tf.max(tf.abs(v), 1) as tf.Tensor1D;
    if (norm === 1) return tf.sum(tf.abs(v), 1) as tf.Tensor1D;
    return tf.sqrt(tf.sum(tf.square(v), 1)) as tf.Tensor1D;
  });
}

/** Per-example Lp norm of a batch of images [n, h, w, c] (flattened) -> [n]. */
export function exampleNorm(v: tf.Tensor, norm: Norm): tf.Tensor1D {
  return tf.tidy(() => rowNorm(tf.reshape(v, [v.shape[0] ?? 0, -1]) as tf.Tensor2D, norm));
}

/** Lp norm of a plain vector, in float64. */
export function vectorNorm(v: ArrayLike<number>, norm: Norm): number {
  let acc = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i] as number);
    if (norm === 'inf') acc = Math.max(acc, a);
    else if (norm === 1) acc += a;
    else acc += a * a;
  }
  return norm === 2 ? Math.sqrt(acc) : acc;
}

/** Yields to the event loop so that an abort (or a progress write) can get through. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Index ranges [start, end) of consecutive batches covering n examples. */
export function batchRanges(n: number, batchSize: number): Array<[number, number]> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`batchSize must be a positive integer; got ${batchSize}`);
  }
  const out: Array<[number, number]> = [];
  for (let s = 0; s < n; s += batchSize) out.push([s, Math.min(n, s + batchSize)]);
  return out;
}

/** Rows [start, end) of a batch of images. */
export function sliceBatch(x: tf.Tensor4D, start: number, end: number): tf.Tensor4D {
  return tf.slice(x, [start, 0, 0, 0], [end - start, -1, -1, -1]);
}

/** Argmax of each row of a [n, k] array given as flat values. */
export function argmaxRows(values: ArrayLike<number>, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) {
      if ((values[i * k + j] as number) > (values[i * k + best] as number)) best = j;
    }
    out[i] = best;
  }
  return out;
}

/** Predicted class of every example (argmax of the logits; the same as of probabilities). */
export async function predictLabels(
  classifier: Classifier,
  x: tf.Tensor4D,
  batchSize = 128,
): Promise<Int32Array> {
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (const [s, e] of batchRanges(n, batchSize)) {
    const pred = tf.tidy(() => tf.argMax(classifier.logits(sliceBatch(x, s, e)), 1));
    out.set((await pred.data()) as Int32Array, s);
    pred.dispose();
  }
  return out;
}

/** Labels as an Int32Array, checked against the number of examples. */
export function toLabels(labels: ArrayLike<number>, n: number): Int32Array {
  if (labels.length !== n) throw new Error(`expected ${n} labels; got ${labels.length}`);
  return Int32Array.from(labels as ArrayLike<number>);
}

/** The labels an untargeted attack moves away from: the given ones, else the model's own predictions (as ART does). */
export async function attackLabels(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: ArrayLike<number> | undefined,
  batchSize: number,
): Promise<Int32Array> {
  return labels !== undefined
    ? toLabels(labels, x.shape[0])
    : predictLabels(classifier, x, batchSize);
}

export interface CorrectSubset {
  /** The correctly classified images, in their original order (caller disposes). */
  x: tf.Tensor4D;
  labels: Int32Array;
  /** Their positions in the input. */
  indices: Int32Array;
}

/** Keeps the examples the classifier classifies correctly (the paper attacks only those). */
export async function selectCorrectlyClassified(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: ArrayLike<number>,
  batchSize = 128,
): Promise<CorrectSubset> {
  const y = toLabels(labels, x.shape[0]);
  const pred = await predictLabels(classifier, x, batchSize);
  const kept: number[] = [];
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) kept.push(i);
  const indices = Int32Array.from(kept);
  return {
    x: takeRows(x, indices),
    labels: Int32Array.from(kept, (i) => y[i] as number),
    indices,
  };
}

/**
 * Gradient w.r.t. the input of the per-example softmax cross-entropy computed from the logits
 * (what tf.keras computes for a softmax model, ART's `loss_gradient` with reduction 'none').
 */
export function lossGradient(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: Int32Array,
): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.tensor1d(labels, 'int32');
    const loss = (z: tf.Tensor2D): tf.Scalar => {
      const onehot = tf.cast(tf.oneHot(y, z.shape[1]), 'float32');
      return tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(z)))) as tf.Scalar;
    };
    return inputGradient(classifier, x, loss);
  });
}

/**
 * ART's `_apply_norm`: the direction u with ||u||_p <= 1 that maximises <grad, u>:
 * sign(g) for inf, g/||g||_2 for 2 (0 where g is 0), a signed one-hot at argmax|g| for 1.
 */
export function steepestDirection(grad: tf.Tensor4D, norm: Norm): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === 'inf') return tf.sign(grad);
    const n = grad.shape[0];
    const flat = tf.reshape(grad, [n, -1]) as tf.Tensor2D;
    if (norm === 2) {
      const l2 = tf.reshape(rowNorm(flat, 2), [n, 1]);
      const safe = tf.where(tf.greater(l2, 0), l2, tf.onesLike(l2));
      return tf.reshape(tf.div(flat, safe), grad.shape) as tf.Tensor4D;
    }
    const d = flat.shape[1];
    const iMax = tf.argMax(tf.abs(flat), 1);
    const onehot = tf.cast(tf.oneHot(iMax, d), 'float32');
    return tf.reshape(tf.mul(onehot, tf.sign(flat)), grad.shape) as tf.Tensor4D;
  });
}

/**
 * ART's `projection` (suboptimal=True): the perturbation delta clipped to the eps-ball,
 * coordinate-wise for inf, by rescaling (delta * min(1, eps/||delta||)) for 1 and 2.
 */
export function projectPerturbation(delta: tf.Tensor4D, eps: number, norm: Norm): tf.Tensor4D {
  return tf.tidy(() => {
    if (norm === 'inf') return tf.clipByValue(delta, -eps, eps);
    const n = delta.shape[0];
    const flat = tf.reshape(delta, [n, -1]) as tf.Tensor2D;
    const len = tf.reshape(rowNorm(flat, norm), [n, 1]);
    const factor = tf.where(
      tf.greater(len, 0),
      tf.minimum(1, tf.div(eps, tf.where(tf.greater(len, 0), len, tf.onesLike(len)))),
      tf.zerosLike(len),
    );
    return tf.reshape(tf.mul(flat, factor), delta.shape) as tf.Tensor4D;
  });
}

/** A standard normal deviate (Box-Muller on the seeded generator). */
export function gaussian(rng: Rng): number {
  let u = rng.next();
  while (u === 0) u = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * `count` points drawn uniformly in the Lp ball of `radius` in `dim` dimensions (ART's
 * `random_sphere`): inf: uniform in the cube; 2: Gaussian direction times radius*U^(1/dim);
 * 1: spacings of sorted uniforms (uniform on the simplex) with random signs.
 */
export function uniformInBall(
  rng: Rng,
  count: number,
  dim: number,
  radius: number,
  norm: Norm,
): Float32Array {
  const out = new Float32Array(count * dim);
  if (norm === 'inf') {
    for (let i = 0; i < out.length; i++) out[i] = radius * (2 * rng.next() - 1);
    return out;
  }
  if (norm === 2) {
    const g = new Float64Array(dim);
    for (let p = 0; p < count; p++) {
      let ss = 0;
      for (let j = 0; j < dim; j++) {
        const v = gaussian(rng);
        g[j] = v;
        ss += v * v;
      }
      const r = (radius * rng.next() ** (1 / dim)) / Math.sqrt(ss);
      for (let j = 0; j < dim; j++) out[p * dim + j] = (g[j] as number) * r;
    }
    return out;
  }
  const u = new Float64Array(dim);
  for (let p = 0; p < count; p++) {
    for (let j = 0; j < dim; j++) u[j] = rng.next();
    u.sort();
    let prev = 0;
    for (let j = 0; j < dim; j++) {
      const sign = rng.next() < 0.5 ? -1 : 1;
      out[p * dim + j] = radius * ((u[j] as number) - prev) * sign;
      prev = u[j] as number;
    }
  }
  return out;
}

/** Number of set entries of a mask. */
export function countTrue(mask: ArrayLike<boolean | number>): number {
  let c = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) c++;
  return c;
}

/**
 * Whether tensors live in this process's memory (wasm, cpu, tfjs-node), where reading one
 * back is a copy: there rows are moved in JS, because those backends' Gather and Tile
 * kernels are scalar loops that cost more than the model on a batch of 32. A GPU backend
 * keeps the tensor ops (a synchronous read from it is slow, and impossible under Node).
 */
function onHost(): boolean {
  const name = tf.getBackend();
  return name === 'wasm' || name === 'cpu' || name === 'tensorflow';
}

/** Per example: rows of `a` where `take[i]` is set, rows of `b` elsewhere. */
export function selectRows(
  take: ArrayLike<boolean | number>,
  a: tf.Tensor4D,
  b: tf.Tensor4D,
): tf.Tensor4D {
  if (!onHost()) {
    return tf.tidy(() => {
      const flags = Uint8Array.from(take as ArrayLike<number>, (v) => (v ? 1 : 0));
      return tf.where(tf.tensor4d(flags, [take.length, 1, 1, 1], 'bool'), a, b) as tf.Tensor4D;
    });
  }
  const size = a.size / a.shape[0];
  const out = Float32Array.from(b.dataSync() as Float32Array);
  const from = a.dataSync() as Float32Array;
  for (let i = 0; i < take.length; i++) {
    if (take[i]) out.set(from.subarray(i * size, (i + 1) * size), i * size);
  }
  return tf.tensor4d(out, a.shape);
}

/** Rows `rows` of t, in that order (a copy; float32 tensors). */
export function takeRows(t: tf.Tensor4D, rows: ArrayLike<number>): tf.Tensor4D {
  if (!onHost()) {
    return tf.tidy(() => tf.gather(t, tf.tensor1d(Int32Array.from(rows), 'int32')));
  }
  const size = t.size / t.shape[0];
  const from = t.dataSync() as Float32Array;
  const out = new Float32Array(rows.length * size);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    out.set(from.subarray(i * size, (i + 1) * size), r * size);
  }
  return tf.tensor4d(out, [rows.length, t.shape[1], t.shape[2], t.shape[3]]);
}

/** A copy of `t` whose rows `rows` are the rows of `values`, in that order. */
export function putRows(t: tf.Tensor4D, rows: ArrayLike<number>, values: tf.Tensor4D): tf.Tensor4D {
  if (rows.length === 0) return tf.clone(t);
  if (!onHost()) {
    const take = new Uint8Array(t.shape[0]);
    const source = new Int32Array(t.shape[0]);
    for (let r = 0; r < rows.length; r++) {
      take[rows[r] as number] = 1;
      source[rows[r] as number] = r;
    }
    return tf.tidy(() => selectRows(take, tf.gather(values, tf.tensor1d(source, 'int32')), t));
  }
  const size = t.size / t.shape[0];
  const out = Float32Array.from(t.dataSync() as Float32Array);
  const v = values.dataSync() as Float32Array;
  for (let r = 0; r < rows.length; r++) {
    out.set(v.subarray(r * size, (r + 1) * size), (rows[r] as number) * size);
  }
  return tf.tensor4d(out, t.shape);
}

/** Drops keys whose value is undefined, so that spreading options does not erase defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
