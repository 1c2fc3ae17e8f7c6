/**
 * A sequential model's logits as direct tfjs ops, layer by layer, for the classifier's two
 * uses. tfjs-layers' `apply` costs 0.1-0.4 ms a call around the kernels (graph walk, input
 * checks, name scopes), as much as the arithmetic of a few images: C&W's line search calls
 * the model about 1,700 times per 256 images, mostly on a handful of rows.
 * - inference: each Conv2D and Dense as one fused kernel (conv or product + bias + ReLU),
 *   the kernels `apply` runs, so the logits are bitwise the same;
 * - input gradients: each Conv2D as `convInputOnly`, each Dense as product, bias add and
 *   activation, whose gradients tfjs computes per input: with the weights constant only
 *   the input's are computed (tf.fused.matMul computes the weights' as well).
 * For inference, layers other than Conv2D and Dense with ReLU or linear activations,
 * MaxPooling2D and Flatten (channels last, no dilation) make the chain null: the caller
 * keeps `apply`. For gradients such layers run through their own `apply`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

type Step = (t: tf.Tensor) => tf.Tensor;
type LayerConfig = Record<string, unknown>;

type Weight = tfl.layers.Layer['weights'][number];

interface Parts {
  cls: string;
  c: LayerConfig;
  kernel: Weight | undefined;
  bias: Weight | undefined;
  activation: 'relu' | 'linear';
}

/** The layer's class, config and weights, or null when the chain cannot run it. */
function partsOf(layer: tfl.layers.Layer): Parts | null {
  const c = layer.getConfig() as LayerConfig;
  const activation = (c.activation as string | undefined) ?? 'linear';
  if (activation !== 'relu' && activation !== 'linear') return null;
  if ((c.dataFormat ?? 'channelsLast') !== 'channelsLast') return null;
  if ([c.dilationRate ?? 1].flat().some((d) => d !== 1)) return null;
  const [kernel, bias] = layer.weights;
  return { cls: layer.getClassName(), c, kernel, bias, activation };
}

/** A conv's or pool's padding where the direct ops take it, else null. */
function padOf(c: LayerConfig): 'valid' | 'same' | null {
  return c.padding === 'valid' || c.padding === 'same' ? c.padding : null;
}
const pair = (v: unknown) => [v].flat() as number[];

/** MaxPooling2D and Flatten, the same ops in both uses; null for other layers. */
function shapeStep({ cls, c }: Parts): Step | null {
  const pad = padOf(c);
  if (cls === 'MaxPooling2D' && pad !== null) {
    const size = pair(c.poolSize) as [number, number];
    const strides = (c.strides == null ? size : pair(c.strides)) as [number, number];
    return (t) => tf.maxPool(t as tf.Tensor4D, size, strides, pad);
  }
  if (cls === 'Flatten') return (t) => tf.reshape(t, [t.shape[0] as number, -1]);
  return null;
}

function inferenceStep(layer: tfl.layers.Layer): Step | null {
  const p = partsOf(layer);
  if (p === null) return null;
  const { cls, c, kernel, bias, activation } = p;
  const pad = padOf(c);
  if (cls === 'Conv2D' && kernel !== undefined && pad !== null) {
    const strides = c.strides as [number, number];
    return (t) =>
      tf.fused.conv2d({
        x: t as tf.Tensor4D,
        filter: kernel.read() as tf.Tensor4D,
        bias: bias?.read(),
        strides,
        pad,
        activation,
      });
  }
  if (cls === 'Dense' && kernel !== undefined) {
    return (t) =>
      tf.fused.matMul({
        a: t as tf.Tensor2D,
        b: kernel.read() as tf.Tensor2D,
        bias: bias?.read(),
        activation,
      });
  }
  return shapeStep(p);
}

/** Never null: a layer the direct ops do not cover runs as tfjs-layers applies it. */
function gradientStep(layer: tfl.layers.Layer): Step {
  const p = partsOf(layer);
  const applied: Step = (t) => layer.apply(t, { training: false }) as tf.Tensor;
  if (p === null) return applied;
  const { cls, kernel, bias, activation } = p;
  if (cls === 'Conv2D') return convInputOnly(p) ?? applied;
  if (cls === 'Dense' && kernel !== undefined) {
    return (t) => {
      const z = tf.matMul(t as tf.Tensor2D, kernel.read() as tf.Tensor2D);
      const zb = bias === undefined ? z : tf.add(z, bias.read());
      return activation === 'relu' ? tf.relu(zb) : zb;
    };
  }
  return shapeStep(p) ?? applied;
}

/** The model's layers up to `logitsLayer` as steps made by `stepOf`, or null. */
function chain(
  model: tfl.LayersModel,
  logitsLayer: string,
  stepOf: (layer: tfl.layers.Layer) => Step | null,
): ((x: tf.Tensor4D) => tf.Tensor2D) | null {
  const end = model.layers.findIndex((l) => l.name === logitsLayer);
  if (!(model instanceof tfl.Sequential) || end < 0) return null;
  const layers = model.layers.slice(0, end + 1).filter((l) => l.getClassName() !== 'InputLayer');
  const steps = layers.map(stepOf);
  if (steps.some((s) => s === null)) return null;
  // Each step reads its variables when it runs: a snapshot loaded later is used.
  return (x) => (steps as Step[]).reduce((t: tf.Tensor, step) => step(t), x) as tf.Tensor2D;
}

/** Logits for inference (no gradients needed), or null where the chain cannot run. */
export function inferenceChain(model: tfl.LayersModel, logitsLayer: string) {
  return chain(model, logitsLayer, inferenceStep);
}

/** Logits whose gradient with respect to x is cheap, or null where the chain cannot run. */
export function gradientChain(model: tfl.LayersModel, logitsLayer: string) {
  return chain(model, logitsLayer, gradientStep);
}

/**
 * A Conv2D layer as one fused kernel (conv + bias + activation, as its forward pass runs
 * outside tf.grad) with a gradient for its input only. Under tf.grad tfjs-layers runs conv,
 * bias add and ReLU as three kernels, keeping copies of their inputs for the backward pass;
 * with the weights as constants the backward pass is ReLU's mask and the conv's input
 * gradient, the same kernels tf.grad would run. Null without a kernel or a padding the
 * direct ops take.
 */
function convInputOnly({ c, kernel, bias, activation }: Parts): Step | null {
  const pad = padOf(c);
  if (kernel === undefined || pad === null) return null;
  const strides = c.strides as [number, number];
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], activation };
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor4D, tf.GradSaveFunc];
    // The kernel itself: tf.fused.conv2d splits a ReLU into three kernels under tf.grad.
    const inputs = { x, filter: kernel.read(), bias: bias?.read() } as tf.NamedTensorMap;
    const y = tf.engine().runKernel(tf.FusedConv2D, inputs, attrs) as tf.Tensor4D;
    save([y]);
    const gradFunc = (dy: tf.Tensor4D, [saved]: tf.Tensor[]): tf.Tensor => {
      const g = activation === 'relu' ? tf.mul(dy, tf.step(saved as tf.Tensor)) : dy;
      return tf.conv2dTranspose(
        g as tf.Tensor4D,
        kernel.read() as tf.Tensor4D,
        x.shape,
        strides,
        pad,
      );
    };
    return { value: y, gradFunc };
  }) as unknown as Step;
}
