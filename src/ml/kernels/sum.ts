/**
 * Sum for wasm, where it reduces every axis but the last of a float32 tensor (the bias
 * gradients: dy summed over batch, rows and columns): generated SIMD code adds rows with
 * the channels as lanes (simd/column-sum-code.ts). The backend's own kernel first
 * transposes the whole input so that the reduced axes are innermost; it still does every
 * other reduction. Each column is summed in row order from zero (wasm's own kernel sums in
 * another order: results differ in the last bits). Must never be registered for a backend
 * other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { columnSumBody, MAX_VECTORS } from './simd/column-sum-code.js';
import { simdKernel } from './simd/instance.js';
import { allocate, callOriginal, type KernelArgs } from './wasm-ops.js';

/** Sums x [.., c] over all axes but the last into a new [c] tensor, or undefined where
 * the engine cannot run the SIMD code. */
export function columnSum(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo | undefined {
  const c = x.shape[x.shape.length - 1] as number;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const calls = [];
  for (let c0 = 0; c0 < c; c0 += 4 * MAX_VECTORS) {
    const width = Math.min(4 * MAX_VECTORS, c - c0);
    const vectors = Math.ceil(width / 4);
    const lastLanes = width - 4 * (vectors - 1);
    const fn = simdKernel(backend, `column-sum:${vectors}:${lastLanes}`, () =>
      columnSumBody(vectors, lastLanes),
    );
    if (fn === undefined) return undefined;
    calls.push({ c0, fn });
  }
  const out = allocate(backend, [c]);
  const xAt = backend.getMemoryOffset(x.dataId);
  const outAt = backend.getMemoryOffset(out.dataId);
  for (const { c0, fn } of calls) fn(xAt + 4 * c0, outAt + 4 * c0, rows, 4 * c);
  return out;
}

function sum(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { axis, keepDims } = (args.attrs ?? {}) as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const allButLast = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
  const simple = allButLast && x.dtype === 'float32' && tf.util.sizeFromShape(x.shape) > 0;
  const out = simple ? columnSum(backend, x) : undefined;
  if (out === undefined) return callOriginal(backend, tf.Sum, args.inputs, args.attrs ?? {});
  if (keepDims) out.shape = [...new Array(rank - 1).fill(1), out.shape[0] as number];
  return out;
}

export const sumConfig: tf.KernelConfig = {
  kernelName: tf.Sum,
  backendName: 'wasm',
  kernelFunc: sum as unknown as tf.KernelFunc,
};
