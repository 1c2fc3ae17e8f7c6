/**
 * Carlini & Wagner L2 attack (2017), untargeted, with IBM ART's CarliniL2Method semantics:
 * tanh change of variables, objective c * max(out[y] - max_{j != y} out[j] + confidence, 0)
 * + ||x' - x||_2^2 on the model OUTPUT (probabilities by default, as the paper's softmax
 * model; logits on request), gradient steps with ART's halving/doubling line search, and
 * ART's binary search over c (including its quirks, documented in docs/attacks-and-metrics.md).
 * Examples are independent, so the batch size does not change results; the line search runs
 * the model only on the examples that still search.
 * Must never return an example it has not verified as adversarial: failures return x itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  type Classifier,
  inputGradient,
  type OutputMode,
  outputFromLogits,
  outputOf,
} from '../classifier.js';
import {
  attackLabels,
  batchRanges,
  definedOnly,
  putRows,
  type RunOptions,
  selectRows,
  sliceBatch,
  takeRows,
  yieldToEventLoop,
} from './common.js';

export interface CwParams {
  confidence: number;
  learningRate: number;
  binarySearchSteps: number;
  maxIter: number;
  initialConst: number;
  maxHalving: number;
  maxDoubling: number;
  batchSize: number;
  /** What the objective's margin is computed on. */
  output: OutputMode;
}

/** IBM ART's CarliniL2Method defaults, except batchSize (ART: 1; results do not depend on it). */
export const CW_DEFAULTS: Readonly<CwParams> = {
  confidence: 0,
  learningRate: 0.01,
  binarySearchSteps: 10,
  maxIter: 10,
  initialConst: 0.01,
  maxHalving: 5,
  maxDoubling: 5,
  batchSize: 32,
  output: 'probabilities',
};

export interface CwOptions extends Partial<CwParams>, RunOptions {
  /** True labels; when absent the model's predictions are used (as ART does). */
  labels?: ArrayLike<number>;
}

/** ART: abort the binary search for c above this bound (Carlini & Wagner's value). */
const C_UPPER_BOUND = 10e10;
/** ART: arctanh argument scale that keeps 0 and 1 finite in tanh space. */
const TANH_SMOOTHER = 0.999999;

function checkParams(p: CwParams): void {
  const ints: Array<[string, number, number]> = [
    ['binarySearchSteps', p.binarySearchSteps, 0],
    ['maxIter', p.maxIter, 0],
    ['maxHalving', p.maxHalving, 1],
    ['maxDoubling', p.maxDoubling, 1],
  ];
  for (const [name, v, min] of ints) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}`);
  }
  if (p.output !== 'probabilities' && p.output !== 'logits') {
    throw new Error(`output must be 'probabilities' or 'logits'; got ${String(p.output)}`);
  }
}

/** ART's original_to_tanh for clip values [0, 1]. */
function toTanh(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(
    () =>
      tf.atanh(tf.mul(tf.sub(tf.mul(tf.clipByValue(x, 0, 1), 2), 1), TANH_SMOOTHER)) as tf.Tensor4D,
  );
}

/** ART's tanh_to_original for clip values [0, 1] (note: no division by the smoother). */
function fromTanh(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.div(tf.add(tf.tanh(w), 1), 2) as tf.Tensor4D);
}

/** `a[i]` for typed arrays under noUncheckedIndexedAccess. */
const at = (a: ArrayLike<number>, i: number): number => a[i] as number;

function perExample(values: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values), [values.length, 1, 1, 1]);
}

interface Objective {
  /** Model outputs [n * k]. */
  z: Float32Array;
  l2: Float64Array;
  loss: Float64Array;
}

/** The state `cwGradientTanh` differentiates at, for a batch of n examples with k classes. */
export interface CwIterate {
  /** Original images. */
  x: tf.Tensor4D;
  /** Current iterate in image space and in tanh space. */
  xAdv: tf.Tensor4D;
  xAdvTanh: tf.Tensor4D;
  labels: Int32Array;
  /** Model outputs at xAdv [n * k], which pick the best other class j*. */
  z: Float32Array;
  /** Trade-off constant per example. */
  c: Float64Array;
}

/**
 * ART's `_loss_gradient` in tanh space: [c grad(out_y - out_j*) + 2 (x' - x)] times
 * dx'/dw = (1 - tanh(w)^2) / (2 * smoother), j* the best other class of z. The hinge is not
 * applied (as in ART), so this is the gradient of the objective wherever the margin term is
 * positive.
 */
export function cwGradientTanh(
  classifier: Classifier,
  output: OutputMode,
  s: CwIterate,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = s.xAdv.shape[0];
    const k = s.z.length / n;
    const w = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      const yi = s.labels[i] as number;
      let sub = -1;
      for (let j = 0; j < k; j++) {
        if (j !== yi && (sub < 0 || (s.z[i * k + j] as number) > (s.z[i * k + sub] as number))) {
          sub = j;
        }
      }
      w[i * k + yi] = s.c[i] as number;
      if (sub >= 0) w[i * k + sub] = -(s.c[i] as number);
    }
    const weights = tf.tensor2d(w, [n, k]);
    const margin = (z: tf.Tensor2D): tf.Scalar =>
      tf.sum(tf.mul(outputFromLogits(z, output), weights)) as tf.Scalar;
    const g = tf.add(inputGradient(classifier, s.xAdv, margin), tf.mul(2, tf.sub(s.xAdv, s.x)));
    const dxdw = tf.div(tf.sub(1, tf.square(tf.tanh(s.xAdvTanh))), 2 * TANH_SMOOTHER);
    return tf.mul(g, dxdw) as tf.Tensor4D;
  });
}

/** Untargeted C&W L2 adversarial examples for every input (caller disposes the result). */
export async function carliniWagnerL2(
  classifier: Classifier,
  x: tf.Tensor4D,
  options: CwOptions = {},
): Promise<tf.Tensor4D> {
  const p: CwParams = { ...CW_DEFAULTS, ...definedOnly(options) };
  checkParams(p);
  const n = x.shape[0];
  if (n === 0) return tf.clone(x);
  const labels = await attackLabels(classifier, x, options.labels, p.batchSize);
  const ranges = batchRanges(n, p.batchSize);
  const parts: tf.Tensor4D[] = [];
  try {
    for (const [s, e] of ranges) {
      const xb = sliceBatch(x, s, e);
      try {
        parts.push(await attackBatch(classifier, xb, labels.subarray(s, e), p, options));
      } finally {
        xb.dispose();
      }
      options.onProgress?.({ done: parts.length, total: ranges.length });
    }
    return tf.concat(parts, 0) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
}

async function attackBatch(
  classifier: Classifier,
  xb: tf.Tensor4D,
  y: Int32Array,
  p: CwParams,
  options: RunOptions,
): Promise<tf.Tensor4D> {
  const n = xb.shape[0];

  const all = Int32Array.from({ length: n }, (_, i) => i);
  // ART's CarliniL2Method._loss: outputs, squared L2 distance, c * margin term + distance, for
  // the examples `rows` of the batch, whose points `xr` holds (one row each, in that order).
  const objective = async (
    xr: tf.Tensor4D,
    c: Float64Array,
    rows: Int32Array = all,
  ): Promise<Objective> => {
    const m = rows.length;
    const [zT, l2T] = tf.tidy(() => {
      const x0 = m === n ? xb : takeRows(xb, rows);
      return [
        outputOf(classifier, xr, p.output),
        tf.sum(tf.reshape(tf.square(tf.sub(x0, xr)), [m, -1]), 1),
      ];
    });
    const z = (await zT.data()) as Float32Array;
    const l2 = Float64Array.from(await l2T.data());
    tf.dispose([zT, l2T]);
    return { z, l2, loss: lossOf(z, l2, c, rows) };
  };
  // The c-weighted margin plus the distance, from outputs and distances already computed.
  const lossOf = (z: Float32Array, l2: Float64Array, c: Float64Array, rows: Int32Array) => {
    const m = rows.length;
    const k = z.length / m;
    const loss = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      const i = rows[r] as number;
      const yi = y[i] as number;
      let other = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) if (j !== yi) other = Math.max(other, z[r * k + j] as number);
      const margin = Math.max((z[r * k + yi] as number) - other + p.confidence, 0);
      loss[r] = (c[i] as number) * margin + (l2[r] as number);
    }
    return loss;
  };

  /** Indices of the set entries of a mask. */
  const rowsOf = (mask: Uint8Array): Int32Array => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (mask[i]) rows.push(i);
    return Int32Array.from(rows);
  };

  // The trial points of the examples `rows` only (elementwise: the same values as computing
  // every row and keeping those).
  const trialPoint = (
    xAdvTanh: tf.Tensor4D,
    pert: tf.Tensor4D,
    lr: Float64Array,
    rows: Int32Array,
  ): tf.Tensor4D =>
    tf.tidy(() => {
      const [w, d] =
        rows.length === n ? [xAdvTanh, pert] : [takeRows(xAdvTanh, rows), takeRows(pert, rows)];
      const rates = perExample(Array.from(rows, (i) => lr[i] as number));
      return fromTanh(tf.add(w, tf.mul(rates, d)) as tf.Tensor4D);
    });

  const xTanh = toTanh(xb);
  const c = new Float64Array(n).fill(p.initialConst);
  const cLower = new Float64Array(n);
  const cDouble = new Uint8Array(n).fill(1);
  const bestL2 = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  let bestAdv = xb.clone();
  let xAdv = xb.clone();
  let xAdvTanh = xTanh.clone();
  const keepBest = (success: Uint8Array, l2: Float64Array, current: tf.Tensor4D): void => {
    const improved = Uint8Array.from(success, (v, i) => (v && at(l2, i) < at(bestL2, i) ? 1 : 0));
    if (!improved.includes(1)) return;
    for (let i = 0; i < n; i++) if (improved[i]) bestL2[i] = l2[i] as number;
    const next = selectRows(improved, current, bestAdv);
    bestAdv.dispose();
    bestAdv = next;
  };

  let clean: Objective | undefined;
  try {
    for (let bss = 0; bss < p.binarySearchSteps; bss++) {
      if (!c.some((v) => v < C_UPPER_BOUND)) break;
      const lr = new Float64Array(n).fill(p.learningRate);
      xAdv.dispose();
      xAdvTanh.dispose();
      xAdv = xb.clone();
      xAdvTanh = xTanh.clone();
      // Every step of the binary search starts at x itself: the model's outputs there (and
      // the zero distance) are those of the first step; only c, and so the loss, changes.
      clean ??= await objective(xAdv, c);
      const z = clean.z.slice();
      const l2 = clean.l2.slice();
      const loss = lossOf(z, l2, c, all);
      let success = Uint8Array.from(loss, (v, i) => (v - at(l2, i) <= 0 ? 1 : 0));
      const overall = success.slice();

      for (let iter = 0; iter < p.maxIter; iter++) {
        options.signal?.throwIfAborted();
        keepBest(success, l2, xAdv);
        const active = Uint8Array.from(c, (v, i) => (v < C_UPPER_BOUND && at(lr, i) > 0 ? 1 : 0));
        if (!active.includes(1)) break;

        const pert = tf.tidy(
          () =>
            tf.neg(
              cwGradientTanh(classifier, p.output, { x: xb, xAdv, xAdvTanh, labels: y, z, c }),
            ) as tf.Tensor4D,
        );
        try {
          // Line search: halve the rate until the loss decreases...
          const prevLoss = loss.slice();
          const bestLoss = loss.slice();
          const bestLr = new Float64Array(n);
          const halving = new Float64Array(n);
          // The outputs and distance at each row's best trial: the update moves the row to
          // exactly that point (the same operations on the same values), so they are reused
          // instead of running the model there again.
          const k = z.length / n;
          const bestZ = new Float32Array(n * k);
          const bestL2 = new Float64Array(n);
          const tryRates = async (mask: Uint8Array): Promise<void> => {
            const rows = rowsOf(mask);
            const trial = trialPoint(xAdvTanh, pert, lr, rows);
            const ev = await objective(trial, c, rows);
            trial.dispose();
            for (const [r, i] of rows.entries()) {
              l2[i] = ev.l2[r] as number;
              loss[i] = ev.loss[r] as number;
              if (at(loss, i) < at(bestLoss, i)) {
                bestLr[i] = lr[i] as number;
                bestLoss[i] = loss[i] as number;
                bestZ.set(ev.z.subarray(r * k, (r + 1) * k), i * k);
                bestL2[i] = l2[i] as number;
              }
            }
          };
          for (let h = 0; h < p.maxHalving; h++) {
            const doHalving = Uint8Array.from(active, (a, i) =>
              a && at(loss, i) >= at(prevLoss, i) ? 1 : 0,
            );
            if (!doHalving.includes(1)) break;
            await tryRates(doHalving);
            for (let i = 0; i < n; i++) {
              if (doHalving[i]) {
                lr[i] = (lr[i] as number) / 2;
                halving[i] = (halving[i] as number) + 1;
              }
            }
          }
          for (let i = 0; i < n; i++) if (active[i]) lr[i] = (lr[i] as number) * 2;
          // ...then, if the first try already helped, double it while that keeps helping.
          for (let d = 0; d < p.maxDoubling; d++) {
            const doDoubling = Uint8Array.from(active, (a, i) =>
              a && halving[i] === 1 && at(loss, i) <= at(bestLoss, i) ? 1 : 0,
            );
            if (!doDoubling.includes(1)) break;
            for (let i = 0; i < n; i++) if (doDoubling[i]) lr[i] = (lr[i] as number) * 2;
            await tryRates(doDoubling);
          }
          for (let i = 0; i < n; i++) if (halving[i] === 1) lr[i] = (lr[i] as number) / 2;

          const update = Uint8Array.from(active, (a, i) => (a && at(bestLr, i) > 0 ? 1 : 0));
          if (update.includes(1)) {
            const nextTanh = tf.tidy(() =>
              selectRows(update, tf.add(xAdvTanh, tf.mul(perExample(bestLr), pert)), xAdvTanh),
            );
            xAdvTanh.dispose();
            xAdvTanh = nextTanh;
            const moved = rowsOf(update);
            const nextAdv = tf.tidy(() =>
              putRows(xAdv, moved, fromTanh(takeRows(xAdvTanh, moved))),
            );
            xAdv.dispose();
            xAdv = nextAdv;
            for (let i = 0; i < n; i++) {
              if (!update[i]) continue;
              z.set(bestZ.subarray(i * k, (i + 1) * k), i * k);
              l2[i] = bestL2[i] as number;
              loss[i] = bestLoss[i] as number;
            }
            success = Uint8Array.from(loss, (v, i) => (v - at(l2, i) <= 0 ? 1 : 0));
            for (let i = 0; i < n; i++) if (success[i]) overall[i] = 1;
          }
        } finally {
          pert.dispose();
        }
      }
      keepBest(success, l2, xAdv);

      // ART's update of c. ART aliases c_old to c_current, so the lower bound of a failed
      // example becomes its *new* c; reproduced on purpose (see docs).
      for (let i = 0; i < n; i++) {
        if (overall[i]) {
          cDouble[i] = 0;
          c[i] = ((cLower[i] as number) + (c[i] as number)) / 2;
        } else if (cDouble[i]) {
          c[i] = (c[i] as number) * 2;
        } else {
          c[i] = (c[i] as number) + ((c[i] as number) - (cLower[i] as number)) / 2;
        }
        if (!overall[i]) cLower[i] = c[i] as number;
      }
      await yieldToEventLoop();
    }
    return bestAdv;
  } catch (err) {
    bestAdv.dispose();
    throw err;
  } finally {
    xAdv.dispose();
    xAdvTanh.dispose();
    xTanh.dispose();
  }
}
