/**
 * BatchMatMul for wasm: unbatched products run on the native kernels where built (native.ts).
 * Without them: the backend sends a product with transposeA or transposeB (every
 * dense-layer gradient) to a scalar C++ loop, and only a plain, unbatched product to
 * XNNPACK. Here a transposed operand is copied into plain layout first (wasm Transpose)
 * and the product runs on the XNNPACK path; batched products are left to the backend.
 * XNNPACK packs its right operand on every call (it is a new tensor each train step), so
 * a . bT with a large b (a dense layer's input gradient dy . Wᵀ) runs as (b . aᵀ)ᵀ: the
 * small a is transposed and packed instead of the weights (at 96x96, a 7056x120 matrix).
 * Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { nativeMatMul } from './native.js';
import { callOriginal, type KernelArgs, release, reshape, transpose } from './wasm-ops.js';

function plain(backend: BackendWasm, t: tf.TensorInfo, transposed: boolean): tf.TensorInfo {
  const rank = t.shape.length;
  const [rows, cols] = [t.shape[rank - 2] as number, t.shape[rank - 1] as number];
  const matrix = reshape(backend, t, [rows, cols]);
  if (!transposed) return matrix;
  const flipped = transpose(backend, matrix, [1, 0]);
  release(backend, matrix);
  return flipped;
}

/** a . bT as (b . aT)T, for unbatched a [.., m, k] and b [.., n, k]. */
function swapped(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const aT = plain(backend, a, true);
  const [n, k] = b.shape.slice(-2) as [number, number];
  const b3 = reshape(backend, b, [1, n, k]);
  const aT3 = reshape(backend, aT, [1, ...aT.shape]);
  const product = callOriginal(
    backend,
    tf.BatchMatMul,
    { a: b3, b: aT3 },
    { transposeA: false, transposeB: false },
  );
  release(backend, aT, b3, aT3);
  const flat = reshape(backend, product, product.shape.slice(-2));
  const t = transpose(backend, flat, [1, 0]);
  release(backend, product, flat);
  const rank = Math.max(a.shape.length, b.shape.length);
  const out = reshape(backend, t, [...new Array(rank - 2).fill(1), ...t.shape]);
  release(backend, t);
  return out;
}

function batchMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  const native = nativeMatMul(backend, a, b, transposeA === true, transposeB === true);
  if (native !== undefined) return native;
  const batchOf = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2));
  const unbatched = batchOf(a) === 1 && batchOf(b) === 1;
  if (!unbatched || (!transposeA && !transposeB) || a.dtype !== 'float32') {
    return callOriginal(backend, tf.BatchMatMul, args.inputs, args.attrs ?? {});
  }
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.shape.length - 2] as number;
  if (transposeB && !transposeA && n * k > m * (k + n)) return swapped(backend, a, b);
  const a2 = plain(backend, a, transposeA === true);
  const b2 = plain(backend, b, transposeB === true);
  const product = callOriginal(
    backend,
    tf.BatchMatMul,
    { a: a2, b: b2 },
    { transposeA: false, transposeB: false },
  );
  release(backend, a2, b2);
  const rank = Math.max(a.shape.length, b.shape.length);
  const shape = [...new Array(rank - 2).fill(1), ...product.shape.slice(-2)] as number[];
  const out = reshape(backend, product, shape);
  release(backend, product);
  return out;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};

interface FusedMatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation: string;
}

/** A dense layer's product, bias and ReLU in one native call; anything else as the backend does. */
function fusedMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b, bias, preluActivationWeights } = args.inputs as {
    a: tf.TensorInfo;
    b: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const attrs = args.attrs as unknown as FusedMatMulAttrs;
  const activation = attrs.activation ?? 'linear';
  if (preluActivationWeights === undefined && (activation === 'linear' || activation === 'relu')) {
    const relu = activation === 'relu';
    const native = nativeMatMul(backend, a, b, attrs.transposeA, attrs.transposeB, bias, relu);
    if (native !== undefined) return native;
  }
  return callOriginal(backend, tf._FusedMatMul, args.inputs, args.attrs ?? {});
}

export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: tf._FusedMatMul,
  backendName: 'wasm',
  kernelFunc: fusedMatMul as unknown as tf.KernelFunc,
};
