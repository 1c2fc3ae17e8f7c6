/**
 * The one view of a trained model that attacks and metrics see: a function from a batch of
 * NHWC images to logits. Probabilities are derived from logits here, in one place, so that
 * "output: probabilities | logits" means the same thing everywhere.
 * Must never copy weights: the classifier shares the variables of the model it wraps.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { gradientChain, inferenceChain } from './layer-chain.js';

export interface Classifier {
  /** Logits for a batch [n, h, w, c] -> [n, classes]. Differentiable (usable inside tf.grad). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** [height, width, channels] of one input image. */
  readonly inputShape: [number, number, number];
  /**
   * grad_x head(logits(x)) for a scalar function `head` of the logits, when the classifier
   * has a cheaper way than tf.grad over `logits` (`inputGradient` falls back to that).
   */
  gradient?(x: tf.Tensor4D, head: (logits: tf.Tensor2D) => tf.Scalar): tf.Tensor4D;
}

export type OutputMode = 'probabilities' | 'logits';

/** Name of the layer whose output is the logits in models built by `buildLeNet`. */
export const LOGITS_LAYER = 'logits';

/**
 * Wraps a LayersModel whose layer `logitsLayer` (default 'logits') outputs logits. The
 * returned classifier runs a sub-model that shares the model's weights, in inference mode.
 */
export function classifierFromModel(
  model: tfl.LayersModel,
  logitsLayer: string = LOGITS_LAYER,
): Classifier {
  const layer = model.layers.find((l) => l.name === logitsLayer);
  if (layer === undefined) {
    throw new Error(
      `model '${model.name}' has no layer named '${logitsLayer}'; layers: ${model.layers
        .map((l) => l.name)
        .join(', ')}`,
    );
  }
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || input === undefined) {
    throw new Error(`model '${model.name}' must have exactly one input`);
  }
  const shape = input.shape;
  const [h, w, c] = [shape[1], shape[2], shape[3]];
  if (shape.length !== 4 || h == null || w == null || c == null) {
    throw new Error(`model input must be [batch, h, w, c] with known sizes; got [${shape}]`);
  }
  const logitsModel = tfl.model({
    inputs: input,
    outputs: layer.output as tfl.SymbolicTensor,
    name: `${model.name}_logits`,
  });
  const differentiable = gradientChain(model, logitsLayer);
  const direct = inferenceChain(model, logitsLayer);
  return {
    inputShape: [h, w, c],
    logits: (x) =>
      direct === null ? (logitsModel.apply(x, { training: false }) as tf.Tensor2D) : direct(x),
    ...(differentiable === null
      ? {}
      : {
          gradient: (x, head) =>
            tf.tidy(
              () =>
                tf.grad((xi: tf.Tensor) => head(differentiable(xi as tf.Tensor4D)))(
                  x,
                ) as tf.Tensor4D,
            ),
        }),
  };
}

/**
 * grad_x head(logits(x)): the classifier's own `gradient` when it has one, else tf.grad.
 * With a head that sums per-row terms, row r of the result is row r's own gradient.
 */
export function inputGradient(
  c: Classifier,
  x: tf.Tensor4D,
  head: (logits: tf.Tensor2D) => tf.Scalar,
): tf.Tensor4D {
  if (c.gradient !== undefined) return c.gradient(x, head);
  return tf.tidy(
    () => tf.grad((xi: tf.Tensor) => head(c.logits(xi as tf.Tensor4D)))(x) as tf.Tensor4D,
  );
}

/** `output` computed from given logits (see outputOf). */
export function outputFromLogits(z: tf.Tensor2D, mode: OutputMode): tf.Tensor2D {
  return mode === 'logits' ? z : tf.softmax(z);
}

/** The classifier's output in the requested mode: softmax(logits) or the logits themselves. */
export function outputOf(c: Classifier, x: tf.Tensor4D, mode: OutputMode): tf.Tensor2D {
  if (mode === 'logits') return c.logits(x);
  return tf.tidy(() => tf.softmax(c.logits(x)));
}
