/**
 * Conv2DBackpropInput for wasm. The backend's own kernel is a scalar C++ loop; this one
 * expresses the input gradient as a forward correlation
 *   dx = conv2d(dilate(dy, stride), rot180(W) with in/out channels swapped, stride 1,
 *               padding top = kh - 1 - padTop, left = kw - 1 - padLeft, bottom/right so
 *               that the output is H x W)
 * and runs it, for stride 1, on generated wasm SIMD code (simd/input-grad-code.ts: one
 * input-channel plane at a time, image columns as the lanes; 1.2-3x faster than XNNPACK
 * for 1-3 input channels, whose 8-wide output tiles they mostly waste), and otherwise
 * (strides, more input channels, an engine without wasm SIMD) on the wasm Conv2D (XNNPACK).
 * Padding the forward pass could not produce (more than kh - 1 on a side) goes to the
 * backend's own kernel. Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { inputGradBody, vectorsPerBlock } from './simd/input-grad-code.js';
import { simdKernel } from './simd/instance.js';
import {
  allocate,
  callOriginal,
  conv2d,
  pad,
  release,
  reshape,
  slice,
  transpose,
  view,
} from './wasm-ops.js';

interface Conv2DBackpropInputAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** W[kh,kw,ci,co] -> W'[KH-1-kh, KW-1-kw, co, ci]. */
function flipFilter(backend: BackendWasm, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = allocate(backend, [kh, kw, co, ci]);
  const src = view(backend, filter);
  const dst = view(backend, out);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) {
      const from = (r * kw + c) * ci * co;
      const to = ((kh - 1 - r) * kw + (kw - 1 - c)) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) dst[to + o * ci + i] = src[from + i * co + o] as number;
      }
    }
  }
  return out;
}

/** Inserts stride-1 zero rows/columns between the rows/columns of dy. */
function dilate(backend: BackendWasm, dy: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [n, oh, ow, c] = dy.shape as [number, number, number, number];
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const out = allocate(backend, [n, dh, dw, c]);
  const src = view(backend, dy);
  const dst = view(backend, out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const from = ((b * oh + r) * ow + q) * c;
        dst.set(src.subarray(from, from + c), ((b * dh + r * sh) * dw + q * sw) * c);
      }
    }
  }
  return out;
}

/**
 * The SIMD code wins where XNNPACK wastes most of its 8-wide output tiles on few input
 * channels (LeNet's first layer: 1 or 3; measured 2-3x); at 6 (LeNet's second layer) XNNPACK
 * was 1.4-1.6x faster, its K = co*kh*kw being long enough.
 */
const SIMD_MAX_IN_CHANNELS = 4;

/** W[kh,kw,ci,co] -> [ci][co][KH-1-kh][KW-1-kw], the order the SIMD code reads it in. */
function planarFlippedFilter(backend: BackendWasm, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = allocate(backend, [ci, co, kh, kw]);
  const src = view(backend, filter);
  const dst = view(backend, out);
  let k = 0;
  for (let c = 0; c < ci; c++) {
    for (let o = 0; o < co; o++) {
      for (let a = kh - 1; a >= 0; a--) {
        for (let b = kw - 1; b >= 0; b--)
          dst[k++] = src[((a * kw + b) * ci + c) * co + o] as number;
      }
    }
  }
  return out;
}

/** dx by the generated SIMD code (stride 1, few input channels), or undefined where it
 * does not apply. */
export function inputGradSimd(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, batchSize: n } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  if (info.strideHeight !== 1 || info.strideWidth !== 1 || top < 0 || left < 0) return undefined;
  if (ci > SIMD_MAX_IN_CHANNELS) return undefined;
  const vectors = vectorsPerBlock(w);
  const blocks = Math.ceil(w / (4 * vectors));
  const rowWidth = blocks * 4 * vectors;
  const fn = simdKernel(backend, `input-grad:${vectors}:${kw}`, () => inputGradBody(vectors, kw));
  if (fn === undefined) return undefined;
  const planar = transpose(backend, dy, [0, 3, 1, 2]);
  // Columns up to the last block's last tap, so that no read leaves its row.
  const dyp = pad(backend, planar, [
    [0, 0],
    [0, 0],
    [top, Math.max(0, h + kh - 1 - oh - top)],
    [left, Math.max(0, rowWidth + kw - 1 - ow - left)],
  ]);
  release(backend, planar);
  const [, , hp, wp] = dyp.shape as [number, number, number, number];
  const flipped = planarFlippedFilter(backend, filter);
  const out = allocate(backend, [n, ci, h, rowWidth]);
  fn(
    backend.getMemoryOffset(dyp.dataId),
    backend.getMemoryOffset(flipped.dataId),
    backend.getMemoryOffset(out.dataId),
    n,
    ci,
    co,
    h,
    blocks,
    co * hp * wp * 4,
    hp * wp * 4,
    wp * 4,
    kh,
  );
  release(backend, dyp, flipped);
  const nhwc =
    ci === 1 ? reshape(backend, out, [n, h, rowWidth, 1]) : transpose(backend, out, [0, 2, 3, 1]);
  release(backend, out);
  if (rowWidth === w) return nhwc;
  const dx = slice(backend, nhwc, [0, 0, 0, 0], [n, h, w, ci]);
  release(backend, nhwc);
  return dx;
}

/** dx as a convolution on the wasm Conv2D (XNNPACK). */
export function inputGradXnnpack(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const spread = sh > 1 || sw > 1 ? dilate(backend, dy, sh, sw) : dy;
  const [, dh, dw] = spread.shape as [number, number, number, number];
  const bottom = info.inHeight + kh - 1 - dh - top;
  const right = info.inWidth + kw - 1 - dw - left;
  const flipped = flipFilter(backend, filter);
  const full = conv2d(backend, spread, flipped, {
    strides: 1,
    dilations: 1,
    pad: [
      [0, 0],
      [top, Math.max(0, bottom)],
      [left, Math.max(0, right)],
      [0, 0],
    ],
  });
  release(backend, flipped);
  if (spread !== dy) release(backend, spread);
  if (bottom >= 0 && right >= 0) return full;
  const dx = slice(backend, full, [0, 0, 0, 0], info.inShape);
  release(backend, full);
  return dx;
}

function conv2DBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  if (attrs.dataFormat !== 'NHWC' || top < 0 || left < 0) {
    return callOriginal(backend, tf.Conv2DBackpropInput, args.inputs, args.attrs ?? {});
  }
  return inputGradSimd(backend, dy, filter, info) ?? inputGradXnnpack(backend, dy, filter, info);
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
