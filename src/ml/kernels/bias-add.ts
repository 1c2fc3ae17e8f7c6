/**
 * Add for wasm where one operand is a vector along the other's last axis (a layer's bias:
 * [n, h, w, c] + [c] under tf.grad, where conv and bias are not fused). The backend's own
 * kernel takes its general broadcasting loop there, about 3.7 ns an element against 0.55
 * for operands of one shape; it was 9% of a LeNet train step at batch 32. Here the bias is
 * repeated to lcm(c, 4) floats and added a vector at a time (simd/bias-add-code.ts); the
 * few elements past the last whole chunk are added here. Every element is one float32 add,
 * as in the backend's kernel, so results are bitwise the same. Every other Add goes to the
 * backend's own kernel. Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { biasAddBody } from './simd/bias-add-code.js';
import { simdKernel } from './simd/instance.js';
import { allocate, callOriginal, type KernelArgs, release, view } from './wasm-ops.js';

/** Which operand is the bias of the other, or undefined when neither is. */
function biasOperand(a: tf.TensorInfo, b: tf.TensorInfo): 'a' | 'b' | undefined {
  const isBiasOf = (bias: tf.TensorInfo, full: tf.TensorInfo): boolean => {
    const c = full.shape[full.shape.length - 1];
    const dims = bias.shape;
    return (
      c !== undefined &&
      dims.length >= 1 &&
      dims.length <= full.shape.length &&
      dims[dims.length - 1] === c &&
      dims.slice(0, -1).every((d) => d === 1) &&
      tf.util.sizeFromShape(full.shape) > c
    );
  };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  if (isBiasOf(b, a)) return 'b';
  if (isBiasOf(a, b)) return 'a';
  return undefined;
}

const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));

function biasAdd(backend: BackendWasm, x: tf.TensorInfo, bias: tf.TensorInfo): tf.TensorInfo {
  const fn = simdKernel(backend, 'bias-add', biasAddBody);
  if (fn === undefined) return callOriginal(backend, tf.Add, { a: x, b: bias }, {});
  const c = bias.shape[bias.shape.length - 1] as number;
  const period = (c * 4) / gcd(c, 4);
  const count = tf.util.sizeFromShape(x.shape);
  const chunks = Math.floor(count / period);
  const tiled = allocate(backend, [period]);
  const out = allocate(backend, [...x.shape]);
  // Views only after the allocations: an allocation may grow the heap, which detaches them.
  const [biasValues, tiles] = [view(backend, bias), view(backend, tiled)];
  for (let i = 0; i < period; i++) tiles[i] = biasValues[i % c] as number;
  const [xAt, outAt] = [backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId)];
  fn(xAt, backend.getMemoryOffset(tiled.dataId), outAt, chunks, period / 4);
  const [src, dst] = [view(backend, x), view(backend, out)];
  for (let i = chunks * period; i < count; i++) {
    dst[i] = (src[i] as number) + (biasValues[i % c] as number);
  }
  release(backend, tiled);
  return out;
}

function add(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const which = biasOperand(a, b);
  if (which === 'b') return biasAdd(backend, a, b);
  if (which === 'a') return biasAdd(backend, b, a);
  return callOriginal(backend, tf.Add, args.inputs, args.attrs ?? {});
}

export const biasAddConfig: tf.KernelConfig = {
  kernelName: tf.Add,
  backendName: 'wasm',
  kernelFunc: add as unknown as tf.KernelFunc,
};
