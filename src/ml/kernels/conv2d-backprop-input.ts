/**
 * Conv2DBackpropInput for wasm. The backend's own kernel is a scalar C++ loop. Where the
 * native kernels are built (native.ts) they compute it; otherwise this one expresses the input gradient as a forward correlation
 *   dx = conv2d(dilate(dy, stride), rot180(W) with in/out channels swapped, stride 1,
 *               padding top = kh - 1 - padTop, left = kw - 1 - padLeft, bottom/right so
 *               that the output is H x W)
 * and runs it on the wasm Conv2D (XNNPACK) where the generated SIMD code does not apply
 * (strides, an engine without wasm SIMD). For stride 1 the SIMD code does:
 * - up to 4 input channels: that correlation one input-channel plane at a time, image
 *   columns as the lanes (simd/input-grad-code.ts; 1.2-3x faster than XNNPACK, whose
 *   8-wide output tiles few channels mostly waste);
 * - more: a gather over only the taps inside dy, output channels as the lanes
 *   (simd/input-grad-dot-code.ts; LeNet's second layer: 1.5-3x faster than XNNPACK at
 *   28x28 and 32x32, which multiplies 2.25x as many padding zeros as real values there;
 *   about even at 96x96).
 * Padding the forward pass could not produce (more than kh - 1 on a side) goes to the
 * backend's own kernel. Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { nativeInputGrad } from './native.js';
import { inputGradBody, vectorsPerBlock } from './simd/input-grad-code.js';
import { inputGradDotBody, MAX_REGISTERS } from './simd/input-grad-dot-code.js';
import { simdKernel } from './simd/instance.js';
import {
  allocate,
  callOriginal,
  conv2d,
  type KernelArgs,
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

/** Input channels up to which the planar code is used; the gathering code beyond (at 6,
 * LeNet's second layer, the planar code was 1.4x slower than XNNPACK, the gather 2x faster). */
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

/** Per input row (or column): byte offsets into dy and the filter of the first filter tap
 * that reaches it from inside dy, and how many taps do; int32 triples. */
function tapTable(
  backend: BackendWasm,
  inSize: number,
  outSize: number,
  k: number,
  before: number,
  dyStride: number,
  wStride: number,
): tf.TensorInfo {
  const table = backend.makeOutput([inSize, 3], 'int32');
  const t = backend.typedArrayFromHeap(table) as Int32Array;
  for (let i = 0; i < inSize; i++) {
    const lo = Math.max(0, i + before - (outSize - 1));
    const hi = Math.min(k - 1, i + before);
    const count = Math.max(0, hi - lo + 1);
    t[3 * i] = count > 0 ? (i + before - lo) * dyStride : 0;
    t[3 * i + 1] = count > 0 ? lo * wStride : 0;
    t[3 * i + 2] = count;
  }
  return table;
}

/** dx by the gathering SIMD code (stride 1, more input channels), or undefined where it
 * does not apply. */
export function inputGradDot(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo | undefined {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, batchSize: n } = info;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return undefined;
  const vectors = Math.ceil(co / 4);
  if (ci + vectors > MAX_REGISTERS) return undefined;
  const lastLanes = co - 4 * (vectors - 1);
  const fn = simdKernel(backend, `input-grad-dot:${ci}:${vectors}:${lastLanes}`, () =>
    inputGradDotBody(ci, vectors, lastLanes),
  );
  if (fn === undefined) return undefined;
  const bytes = 4 * co;
  const rows = tapTable(backend, h, oh, kh, info.padInfo.top, ow * bytes, kw * ci * bytes);
  const cols = tapTable(backend, w, ow, kw, info.padInfo.left, bytes, ci * bytes);
  const dx = allocate(backend, [n, h, w, ci]);
  const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
  fn(
    at(dy),
    at(filter),
    at(dx),
    at(rows),
    at(cols),
    n,
    h,
    w,
    oh * ow * bytes,
    ow * bytes,
    kw * ci * bytes,
  );
  release(backend, rows, cols);
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

function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
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
  if (attrs.dataFormat === 'NHWC') {
    const native = nativeInputGrad(backend, dy, filter, info);
    if (native !== undefined) return native;
  }
  const top = info.filterHeight - 1 - info.padInfo.top;
  const left = info.filterWidth - 1 - info.padInfo.left;
  if (attrs.dataFormat !== 'NHWC' || top < 0 || left < 0) {
    return callOriginal(backend, tf.Conv2DBackpropInput, args.inputs, args.attrs ?? {});
  }
  const simd =
    info.inChannels <= SIMD_MAX_IN_CHANNELS
      ? inputGradSimd(backend, dy, filter, info)
      : inputGradDot(backend, dy, filter, info);
  return simd ?? inputGradXnnpack(backend, dy, filter, info);
}

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
