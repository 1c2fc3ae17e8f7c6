/**
 * Installs the project's wasm kernels over the backend's own (or where it has none).
 * Idempotent: a kernel already installed by us is left alone. Must run after the wasm
 * backend is initialised and never touch other backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';

/** Kernels we provide for wasm, in the order they are registered. */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [conv2DBackpropFilterConfig];

/** Registers WASM_KERNELS for 'wasm'; returns their names. */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  return WASM_KERNELS.map((k) => k.kernelName);
}
