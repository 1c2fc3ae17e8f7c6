// Tiny classifiers for the attack and metric tests, with weights known to the test so that
// closed forms can be computed independently in plain float64 JavaScript.
import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '../../src/ml/classifier.js';
import { Rng } from '../../src/ml/rng.js';

export interface LinearModel extends Classifier {
  /** Row-major [d, k]: logits_j = sum_i x_i w[i, j] + b_j over the flattened NHWC image. */
  readonly w: Float64Array;
  readonly b: Float64Array;
  readonly classes: number;
  dispose(): void;
}

export function linearModel(
  inputShape: [number, number, number],
  classes: number,
  seed: number,
  scale = 1,
): LinearModel {
  const d = inputShape[0] * inputShape[1] * inputShape[2];
  const rng = Rng.fromSeed(seed);
  const w = Float64Array.from({ length: d * classes }, () => scale * (2 * rng.next() - 1));
  const b = Float64Array.from({ length: classes }, () => 0.1 * (2 * rng.next() - 1));
  return linearFrom(inputShape, classes, w, b);
}

export function linearFrom(
  inputShape: [number, number, number],
  classes: number,
  w: Float64Array,
  b: Float64Array,
): LinearModel {
  const d = inputShape[0] * inputShape[1] * inputShape[2];
  const wT = tf.tensor2d(Float32Array.from(w), [d, classes]);
  const bT = tf.tensor1d(Float32Array.from(b));
  return {
    inputShape,
    w,
    b,
    classes,
    logits: (x) =>
      tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], d]), wT), bT) as tf.Tensor2D),
    dispose: () => tf.dispose([wT, bT]),
  };
}

/** conv 3x3 (2 filters, same padding) -> tanh -> dense to `classes`; smooth, non-linear. */
export function tinyConvNet(
  inputShape: [number, number, number],
  classes: number,
  seed: number,
): Classifier & { dispose(): void } {
  const [h, w, c] = inputShape;
  const rng = Rng.fromSeed(seed);
  const rand = (n: number, s: number) =>
    Float32Array.from({ length: n }, () => s * (2 * rng.next() - 1));
  const kernel = tf.tensor4d(rand(9 * c * 2, 0.8), [3, 3, c, 2]);
  const dense = tf.tensor2d(rand(h * w * 2 * classes, 0.6), [h * w * 2, classes]);
  const bias = tf.tensor1d(rand(classes, 0.1));
  return {
    inputShape,
    logits: (x) =>
      tf.tidy(() => {
        const a = tf.tanh(tf.conv2d(x, kernel, 1, 'same'));
        return tf.add(tf.matMul(tf.reshape(a, [x.shape[0], -1]), dense), bias) as tf.Tensor2D;
      }),
    dispose: () => tf.dispose([kernel, dense, bias]),
  };
}

/** Logits of a linear model for one flattened image, in float64. */
export function linearLogits(m: LinearModel, x: ArrayLike<number>): Float64Array {
  const z = Float64Array.from(m.b);
  for (let i = 0; i < x.length; i++) {
    for (let j = 0; j < m.classes; j++)
      z[j] = (z[j] as number) + (x[i] as number) * (m.w[i * m.classes + j] as number);
  }
  return z;
}

export function softmax(z: ArrayLike<number>): Float64Array {
  const m = Math.max(...Array.from(z));
  const e = Float64Array.from(z, (v) => Math.exp(v - m));
  const s = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / s);
}

/** Random images in [lo, hi] with a seeded generator. */
export function randomImages(
  n: number,
  shape: [number, number, number],
  seed: number,
  lo = 0,
  hi = 1,
): tf.Tensor4D {
  const rng = Rng.fromSeed(seed);
  const size = n * shape[0] * shape[1] * shape[2];
  return tf.tensor4d(
    Float32Array.from({ length: size }, () => lo + (hi - lo) * rng.next()),
    [n, ...shape],
  );
}

/** Per-example flattened values of a batch. */
export function rows(x: tf.Tensor4D): Float32Array[] {
  const v = x.dataSync() as Float32Array;
  const d = v.length / x.shape[0];
  return Array.from({ length: x.shape[0] }, (_, i) => v.slice(i * d, (i + 1) * d));
}
