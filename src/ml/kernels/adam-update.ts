/**
 * A fused Adam update for wasm (kernel ADAM_UPDATE, the project's own name): new variable,
 * first and second moments from the old ones and the gradient in one pass of generated
 * SIMD code (simd/adam-code.ts), bitwise equal to the op-by-op update of
 * src/ml/optimizers.ts, which it replaces on wasm. That update is 12 kernel calls and 6
 * scalar tensors per variable, whose engine bookkeeping cost more than their arithmetic
 * on LeNet (15-25% of a 28x28 train step). Where the engine cannot run the SIMD code the
 * kernel is not registered and the optimizer keeps the op-by-op update.
 * Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { adamBody } from './simd/adam-code.js';
import { simdKernel } from './simd/instance.js';
import { allocate, type KernelArgs } from './wasm-ops.js';

export const ADAM_UPDATE = 'AdvrobAdamUpdate';

export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  /** The step's learning rate lr * sqrt(1 - beta2^t) / (1 - beta1^t). */
  lrT: number;
  epsilon: number;
}

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** The bit pattern of `x` rounded to float32, as tf.scalar(x) would hold it. */
function f32Bits(x: number): number {
  asFloat[0] = x;
  return bits[0] as number;
}

/** The SIMD update, or undefined where the engine cannot run it. */
export function adamKernel(backend: BackendWasm) {
  return simdKernel(backend, 'adam', adamBody);
}

function adamUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { variable, m, v, gradient } = args.inputs as Record<string, tf.TensorInfo>;
  const { beta1, beta2, lrT, epsilon } = args.attrs as unknown as AdamUpdateAttrs;
  const run = adamKernel(backend);
  if (run === undefined) throw new Error(`${ADAM_UPDATE} needs wasm SIMD`);
  const shape = (variable as tf.TensorInfo).shape;
  const outs = [allocate(backend, shape), allocate(backend, shape), allocate(backend, shape)];
  const at = (t: tf.TensorInfo | undefined) => backend.getMemoryOffset((t as tf.TensorInfo).dataId);
  run(
    at(variable),
    at(m),
    at(v),
    at(gradient),
    ...outs.map(at),
    tf.util.sizeFromShape(shape),
    f32Bits(beta1),
    f32Bits(1 - beta1),
    f32Bits(beta2),
    f32Bits(1 - beta2),
    f32Bits(lrT),
    f32Bits(epsilon),
  );
  return outs;
}

export const adamUpdateConfig: tf.KernelConfig = {
  kernelName: ADAM_UPDATE,
  backendName: 'wasm',
  kernelFunc: adamUpdate as unknown as tf.KernelFunc,
};

/**
 * [variable, m, v] after one Adam update by the fused kernel, or undefined where it does not
 * run (another backend, no wasm SIMD): then the caller does the update op by op.
 */
export function fusedAdamUpdate(
  variable: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  gradient: tf.Tensor,
  attrs: AdamUpdateAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (tf.getBackend() !== 'wasm' || tf.getKernel(ADAM_UPDATE, 'wasm') === undefined) {
    return undefined;
  }
  if (adamKernel(tf.backend() as BackendWasm) === undefined) return undefined;
  return tf
    .engine()
    .runKernel(ADAM_UPDATE, { variable, m, v, gradient }, attrs as unknown as tf.NamedAttrMap) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}
