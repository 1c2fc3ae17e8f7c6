/**
 * Sign for wasm. The backend's own kernel returns 0 for every |x| below about 1.2e-7
 * (measured: 1e-7 -> 0, 2e-7 -> 1), where TensorFlow, NumPy and tfjs's cpu backend give
 * +-1. FGSM and PGD step along sign(gradient), and a confident model's loss gradient is
 * often that small everywhere, so those images were left unperturbed and counted as
 * robust. This kernel is exact: 1 for x > 0, -1 for x < 0, 0 for +-0 and NaN (as the cpu
 * backend), in generated SIMD code (simd/sign-code.ts) where the engine has wasm SIMD.
 * Non-float inputs go to the backend's own kernel, which handles them.
 * Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { mapElements } from './simd/instance.js';
import { signBody } from './simd/sign-code.js';
import { allocate, callOriginal, type KernelArgs, view } from './wasm-ops.js';

function sign(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32') return callOriginal(backend, tf.Sign, { x }, {});
  const mapped = mapElements(backend, x, 'sign', signBody);
  if (mapped !== undefined) return mapped;
  const out = allocate(backend, x.shape);
  const src = view(backend, x);
  const dst = view(backend, out);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    dst[i] = v > 0 ? 1 : v < 0 ? -1 : 0;
  }
  return out;
}

export const signConfig: tf.KernelConfig = {
  kernelName: tf.Sign,
  backendName: 'wasm',
  kernelFunc: sign as unknown as tf.KernelFunc,
};
