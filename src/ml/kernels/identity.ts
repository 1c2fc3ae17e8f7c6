/**
 * Identity, and Cast to the dtype a tensor already has, for wasm: the output shares the
 * input's buffer (reference counted), as on the cpu and webgl backends and as wasm's own
 * Reshape does. The backend's own kernels copy; the engine calls Identity for every tensor
 * it saves for a backward pass (36 per LeNet train step, the conv inputs and activations
 * among them), and every ReLU gradient casts its float32 mask to float32. Sharing is safe
 * because no kernel writes into an input's buffer. Strings and real conversions go to the
 * backend's own kernels. Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { callOriginal, type KernelArgs } from './wasm-ops.js';

function identity(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype === 'string') return callOriginal(backend, tf.Identity, args.inputs, {});
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function cast(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = (args.attrs ?? {}) as { dtype: tf.DataType };
  if (dtype !== x.dtype || x.dtype === 'string') {
    return callOriginal(args.backend as BackendWasm, tf.Cast, args.inputs, args.attrs ?? {});
  }
  return identity(args);
}

export const castConfig: tf.KernelConfig = {
  kernelName: tf.Cast,
  backendName: 'wasm',
  kernelFunc: cast as unknown as tf.KernelFunc,
};

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
