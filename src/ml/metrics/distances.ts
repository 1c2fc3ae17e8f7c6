/**
 * Size of adversarial perturbations per example (the paper's Tables 2-5): L0 = number of
 * PIXELS changed (a pixel counts once however many of its channels changed), L2 and L-inf of
 * (adversarial - original) over all values; mean and population standard deviation.
 * L0 compares |difference| > l0Tolerance, 0 by default as numpy's count_nonzero would: the
 * C&W attack's tanh round trip moves every pixel by ~1e-6, which is why the paper reports
 * L0 = all pixels for C&W. Never keeps tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchRanges, sliceBatch } from '../attacks/common.js';

export interface PerturbationDistances {
  l0: Float64Array;
  l2: Float64Array;
  linf: Float64Array;
}

export interface MeanStd {
  mean: number;
  /** Population standard deviation (numpy's default, ddof = 0). */
  std: number;
}

export async function perturbationDistances(
  original: tf.Tensor4D,
  adversarial: tf.Tensor4D,
  options: { l0Tolerance?: number; batchSize?: number } = {},
): Promise<PerturbationDistances> {
  if (original.shape.join() !== adversarial.shape.join()) {
    throw new Error(`shapes differ: [${original.shape}] vs [${adversarial.shape}]`);
  }
  const tol = options.l0Tolerance ?? 0;
  if (!(tol >= 0)) throw new Error(`l0Tolerance must be >= 0; got ${tol}`);
  const n = original.shape[0];
  const out: PerturbationDistances = {
    l0: new Float64Array(n),
    l2: new Float64Array(n),
    linf: new Float64Array(n),
  };
  for (const [s, e] of batchRanges(n, options.batchSize ?? 256)) {
    const [l0, l2, linf] = tf.tidy(() => {
      const d = tf.abs(tf.sub(sliceBatch(adversarial, s, e), sliceBatch(original, s, e)));
      const changedPixels = tf.greater(tf.max(d, 3), tol);
      return [
        tf.sum(tf.cast(changedPixels, 'float32'), [1, 2]),
        tf.sqrt(tf.sum(tf.square(d), [1, 2, 3])),
        tf.max(d, [1, 2, 3]),
      ];
    });
    out.l0.set(await l0.data(), s);
    out.l2.set(await l2.data(), s);
    out.linf.set(await linf.data(), s);
    tf.dispose([l0, l2, linf]);
  }
  return out;
}

export function meanStd(values: ArrayLike<number>): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] as number;
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += ((values[i] as number) - mean) ** 2;
  return { mean, std: Math.sqrt(ss / n) };
}

export function summarizeDistances(d: PerturbationDistances): {
  l0: MeanStd;
  l2: MeanStd;
  linf: MeanStd;
} {
  return { l0: meanStd(d.l0), l2: meanStd(d.l2), linf: meanStd(d.linf) };
}
