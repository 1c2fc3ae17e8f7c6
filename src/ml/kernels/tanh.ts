/**
 * Tanh for wasm. The backend's own kernel calls libm's tanhf one element at a time (about
 * 15 ns each here), and C&W L2 takes tanh of every trial point of its line search: it was
 * a fifth of that attack's kernel time. This one is Cephes' tanhf in generated SIMD code
 * (simd/tanh-code.ts), within a few ulp of the exact value as libm's is. Non-float inputs,
 * and engines without wasm SIMD, go to the backend's own kernel. Must never be registered
 * for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { mapElements } from './simd/instance.js';
import { tanhBody } from './simd/tanh-code.js';
import { callOriginal, type KernelArgs } from './wasm-ops.js';

function tanh(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const out = x.dtype === 'float32' ? mapElements(backend, x, 'tanh', tanhBody) : undefined;
  return out ?? callOriginal(backend, tf.Tanh, { x }, {});
}

export const tanhConfig: tf.KernelConfig = {
  kernelName: tf.Tanh,
  backendName: 'wasm',
  kernelFunc: tanh as unknown as tf.KernelFunc,
};
