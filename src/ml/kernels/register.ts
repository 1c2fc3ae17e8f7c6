/**
 * Installs the project's wasm and webgpu kernels over the backend's own (or where it has
 * none). Idempotent: a kernel already installed by us is left alone. Must run after the
 * backend is initialised and never touch other backends.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamUpdateConfig } from './adam-update.js';
import { batchMatMulConfig, fusedMatMulConfig } from './batch-mat-mul.js';
import { biasAddConfig } from './bias-add.js';
import { conv2DConfig, fusedConv2DConfig } from './conv2d.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { castConfig, identityConfig } from './identity.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { signConfig } from './sign.js';
import { sliceConfig } from './slice.js';
import { sumConfig } from './sum.js';
import { tanhConfig } from './tanh.js';
import { originalKernel, saveOriginal } from './wasm-ops.js';
import { webgpuMaxPoolGradConfig } from './webgpu-max-pool-grad.js';

/** Kernels we provide for wasm, in the order they are registered. */
export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  batchMatMulConfig,
  signConfig,
  identityConfig,
  castConfig,
  adamUpdateConfig,
  sumConfig,
  tanhConfig,
  biasAddConfig,
  sliceConfig,
  conv2DConfig,
  fusedConv2DConfig,
  fusedMatMulConfig,
];

/** Registers WASM_KERNELS for 'wasm'; returns their names. */
export function registerWasmKernels(): string[] {
  for (const config of WASM_KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'wasm');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) {
      saveOriginal(config.kernelName);
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  return WASM_KERNELS.map((k) => k.kernelName);
}

/** Kernels we provide for webgpu: where its own differ from the cpu backend's results. */
export const WEBGPU_KERNELS: readonly tf.KernelConfig[] = [webgpuMaxPoolGradConfig];

/** Registers WEBGPU_KERNELS for 'webgpu' in place of the backend's own; returns their names. */
export function registerWebgpuKernels(): string[] {
  for (const config of WEBGPU_KERNELS) {
    const existing = tf.getKernel(config.kernelName, 'webgpu');
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (existing !== undefined) tf.unregisterKernel(config.kernelName, 'webgpu');
    tf.registerKernel(config);
  }
  return WEBGPU_KERNELS.map((k) => k.kernelName);
}

/**
 * Puts the backend's own kernels back in place of ours for `names` (where it has one),
 * so that benchmarks can compare; registerWasmKernels() installs ours again.
 */
export function restoreOriginalWasmKernels(names: readonly string[]): void {
  for (const name of names) {
    const original = originalKernel(name);
    if (original === undefined) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: original });
  }
}
