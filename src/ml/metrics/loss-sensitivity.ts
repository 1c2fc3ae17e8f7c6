/**
 * Loss sensitivity (Arpit et al. 2017) as IBM ART's `loss_sensitivity`: the mean over
 * examples of the L2 norm of the gradient of the per-example cross-entropy loss (from the
 * logits) w.r.t. the input, flattened. Never keeps tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  batchRanges,
  exampleNorm,
  lossGradient,
  type RunOptions,
  sliceBatch,
  toLabels,
  yieldToEventLoop,
} from '../attacks/common.js';
import type { Classifier } from '../classifier.js';

/** Per-example ||d loss / d x||_2. */
export async function lossGradientNorms(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: ArrayLike<number>,
  options: RunOptions = {},
): Promise<Float64Array> {
  const n = x.shape[0];
  const y = toLabels(labels, n);
  const out = new Float64Array(n);
  const ranges = batchRanges(n, options.batchSize ?? 128);
  for (const [k, [s, e]] of ranges.entries()) {
    options.signal?.throwIfAborted();
    const norms = tf.tidy(() =>
      exampleNorm(lossGradient(classifier, sliceBatch(x, s, e), y.subarray(s, e)), 2),
    );
    out.set(await norms.data(), s);
    norms.dispose();
    options.onProgress?.({ done: k + 1, total: ranges.length });
    await yieldToEventLoop();
  }
  return out;
}

/** Mean over examples of ||d loss / d x||_2 (ART's loss_sensitivity). */
export async function lossSensitivity(
  classifier: Classifier,
  x: tf.Tensor4D,
  labels: ArrayLike<number>,
  options: RunOptions = {},
): Promise<number> {
  const norms = await lossGradientNorms(classifier, x, labels, options);
  return norms.reduce((a, v) => a + v, 0) / norms.length;
}
