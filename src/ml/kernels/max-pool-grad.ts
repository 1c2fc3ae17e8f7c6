/**
 * MaxPoolGrad for wasm in plain JS over the wasm heap: each dy value goes to the position
 * of its window's maximum in the forward input (the first one in row-major order on ties,
 * as the cpu backend does), accumulated where windows overlap. One pass over dy with a
 * scan of each window, with a direct path for 2x2 windows that tile the input (LeNet):
 * generated wasm SIMD code (simd/max-pool-grad-code.ts) where the engine runs it, else a JS
 * loop. The JS loops are 3-4x faster than the backend's own kernel on LeNet shapes.
 * Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { maxPoolGradInfo } from './pool-info.js';
import { simdKernel } from './simd/instance.js';
import { maxPoolGradBody } from './simd/max-pool-grad-code.js';
import { allocate, type KernelArgs, view } from './wasm-ops.js';

/** Channels up to which the SIMD code is generated (it unrolls over channel vectors). */
const SIMD_MAX_CHANNELS = 64;

/** The 2x2 tiling case by the SIMD code into `out`; false where the engine cannot run it. */
export function pool2x2GradSimd(
  backend: BackendWasm,
  input: tf.TensorInfo,
  dy: tf.TensorInfo,
  out: tf.TensorInfo,
): boolean {
  const [n, h, w, c] = input.shape as [number, number, number, number];
  const [, oh, ow] = dy.shape as [number, number, number, number];
  if (c > SIMD_MAX_CHANNELS) return false;
  const fn = simdKernel(backend, `max-pool-grad-2x2:${c}`, () => maxPoolGradBody(c));
  if (fn === undefined) return false;
  // Rows or columns past the last window get no gradient.
  if (2 * oh < h || 2 * ow < w) view(backend, out).fill(0);
  fn(
    backend.getMemoryOffset(input.dataId),
    backend.getMemoryOffset(dy.dataId),
    backend.getMemoryOffset(out.dataId),
    n,
    oh,
    ow,
    w * c * 4,
    h * w * c * 4,
  );
  return true;
}

function maxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const info = maxPoolGradInfo(input, args.attrs);
  const { batchSize, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const out = allocate(backend, input.shape);
  // Windows tile the input: no padding, stride = window, and none runs past the edge.
  const tiles = top === 0 && left === 0 && sh === fh && sw === fw && oh * fh <= h && ow * fw <= w;
  const pairs = tiles && fh === 2 && fw === 2;
  if (pairs && pool2x2GradSimd(backend, input, dy, out)) return out;
  const x = view(backend, input);
  const g = view(backend, dy);
  const dx = view(backend, out);
  dx.fill(0);
  if (pairs) {
    pool2x2Grad(x, g, dx, batchSize, h, w, c, oh, ow);
    return out;
  }
  let gi = 0;
  for (let b = 0; b < batchSize; b++) {
    const base = b * h * w * c;
    for (let r = 0; r < oh; r++) {
      const r0 = Math.max(0, r * sh - top);
      const r1 = Math.min(h, r * sh - top + fh);
      for (let q = 0; q < ow; q++) {
        const q0 = Math.max(0, q * sw - left);
        const q1 = Math.min(w, q * sw - left + fw);
        for (let d = 0; d < c; d++, gi++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let i = r0; i < r1; i++) {
            for (let j = q0; j < q1; j++) {
              const k = base + (i * w + j) * c + d;
              const v = x[k] as number;
              if (v > best) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) dx[at] = (dx[at] as number) + (g[gi] as number);
        }
      }
    }
  }
  return out;
}

/** The LeNet case (2x2 windows tiling the input): windows do not overlap, so each dy
 * value is written, not added, and the four candidates are compared directly. */
function pool2x2Grad(
  x: Float32Array,
  g: Float32Array,
  dx: Float32Array,
  batchSize: number,
  h: number,
  w: number,
  c: number,
  oh: number,
  ow: number,
): void {
  const row = w * c;
  let gi = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      let k00 = b * h * row + 2 * r * row;
      for (let q = 0; q < ow; q++, k00 += 2 * c) {
        const k01 = k00 + c;
        const k10 = k00 + row;
        const k11 = k10 + c;
        for (let d = 0; d < c; d++, gi++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          let v = x[k00 + d] as number;
          if (v > best) {
            best = v;
            at = k00 + d;
          }
          v = x[k01 + d] as number;
          if (v > best) {
            best = v;
            at = k01 + d;
          }
          v = x[k10 + d] as number;
          if (v > best) {
            best = v;
            at = k10 + d;
          }
          v = x[k11 + d] as number;
          if (v > best) at = k11 + d;
          if (at >= 0) dx[at] = g[gi] as number;
        }
      }
    }
  }
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
