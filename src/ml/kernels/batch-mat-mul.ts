/**
 * BatchMatMul for wasm. The backend sends a product with transposeA or transposeB (every
 * dense-layer gradient) to a scalar C++ loop, and only a plain, unbatched product to
 * XNNPACK. Here a transposed operand is copied into plain layout first (wasm Transpose)
 * and the product runs on the XNNPACK path; batched products are left to the backend.
 * Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { callOriginal, release, reshape, transpose } from './wasm-ops.js';

function plain(backend: BackendWasm, t: tf.TensorInfo, transposed: boolean): tf.TensorInfo {
  const rank = t.shape.length;
  const [rows, cols] = [t.shape[rank - 2] as number, t.shape[rank - 1] as number];
  const matrix = reshape(backend, t, [rows, cols]);
  if (!transposed) return matrix;
  const flipped = transpose(backend, matrix, [1, 0]);
  release(backend, matrix);
  return flipped;
}

function batchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = (args.attrs ?? {}) as {
    transposeA?: boolean;
    transposeB?: boolean;
  };
  const batchOf = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2));
  const unbatched = batchOf(a) === 1 && batchOf(b) === 1;
  if (!unbatched || (!transposeA && !transposeB) || a.dtype !== 'float32') {
    return callOriginal(backend, tf.BatchMatMul, args.inputs, args.attrs ?? {});
  }
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
