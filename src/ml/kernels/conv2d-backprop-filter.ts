/**
 * Conv2DBackpropFilter for the wasm backend, which ships none:
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s + kh - top, ow*s + kw - left, ci] * dy[n,oh,ow,co]
 * Three ways, the first that applies:
 * - the native kernels (native.ts), where built;
 * - generated wasm SIMD code (simd/filter-grad-code.ts) run in place on the backend's
 *   memory, over x zero-padded by the backend's Pad kernel; output channels in blocks of 16;
 * - a convolution on the wasm Conv2D (XNNPACK): x with channels and batch swapped
 *   ([ci,H,W,n]) by dy used as a filter ([oh,ow,n,co]) with dilation = the forward stride.
 *   Its GEMM has a tiny M and N and K = n*oh*ow, which XNNPACK handles at a few GFLOP/s
 *   (the SIMD code is 2-4x faster on LeNet shapes).
 * Must never be registered for a backend other than wasm.
 */

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { nativeFilterGrad } from './native.js';
import { filterGradBody } from './simd/filter-grad-code.js';
import { simdKernel } from './simd/instance.js';
import {
  allocate,
  conv2d,
  type KernelArgs,
  pad,
  release,
  slice,
  transpose,
  view,
} from './wasm-ops.js';

export interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

type ConvInfo = tf.backend_util.Conv2DInfo;

/** Output channels per call of the generated code: four f32x4 vectors. */
const BLOCK = 16;

/** Zero rows/columns after x so that the last output position's taps are all in range. */
function padAfter(info: ConvInfo): { bottom: number; right: number } {
  const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: w } = info;
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, padInfo } = info;
  return {
    bottom: Math.max(0, (oh - 1) * sh + kh - h - padInfo.top),
    right: Math.max(0, (ow - 1) * sw + kw - w - padInfo.left),
  };
}

/** The functions for each block of output channels, or undefined without wasm SIMD. */
function blockKernels(backend: BackendWasm, info: ConvInfo) {
  const rowLength = info.filterWidth * info.inChannels;
  const blocks = [];
  for (let c0 = 0; c0 < info.outChannels; c0 += BLOCK) {
    const width = Math.min(BLOCK, info.outChannels - c0);
    const vectors = Math.ceil(width / 4);
    const lastLanes = width - 4 * (vectors - 1);
    const fn = simdKernel(backend, `filter-grad:${vectors}:${lastLanes}:${rowLength}`, () =>
      filterGradBody({ vectors, lastLanes, rowLength }),
    );
    if (fn === undefined) return undefined;
    blocks.push({ c0, width, vectors, fn });
  }
  return blocks;
}

/** dW by the generated SIMD code, or undefined where the engine cannot run it. */
export function filterGradSimd(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: ConvInfo,
): tf.TensorInfo | undefined {
  const blocks = blockKernels(backend, info);
  if (blocks === undefined) return undefined;
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { top, left } = info.padInfo;
  const { bottom, right } = padAfter(info);
  const padded =
    top + bottom + left + right > 0
      ? pad(backend, x, [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ])
      : x;
  const [n, hp, wp] = padded.shape as [number, number, number, number];
  const rowLength = kw * ci;
  const out = allocate(backend, [kh, kw, ci, co]);
  for (const { c0, width, vectors, fn } of blocks) {
    const acc = allocate(backend, [kh * rowLength * vectors * 4]);
    view(backend, acc).fill(0);
    const xRow = wp * ci * 4;
    fn(
      backend.getMemoryOffset(padded.dataId),
      backend.getMemoryOffset(dy.dataId) + 4 * c0,
      backend.getMemoryOffset(acc.dataId),
      n,
      hp * xRow,
      xRow,
      info.strideWidth * ci * 4,
      info.strideHeight * xRow,
      info.outHeight * info.outWidth * co * 4,
      co * 4,
      info.outHeight,
      info.outWidth,
      kh,
    );
    const sums = view(backend, acc);
    const dst = view(backend, out);
    const stride = vectors * 4;
    for (let row = 0; row < kh * rowLength; row++) {
      dst.set(sums.subarray(row * stride, row * stride + width), row * co + c0);
    }
    release(backend, acc);
  }
  if (padded !== x) release(backend, padded);
  return out;
}

/** dW as a convolution on the wasm Conv2D (XNNPACK). */
export function filterGradXnnpack(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: ConvInfo,
): tf.TensorInfo {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  const { bottom, right } = padAfter(info);
  const xt = transpose(backend, x, [3, 1, 2, 0]);
  const dyt = transpose(backend, dy, [1, 2, 0, 3]);
  const full = conv2d(backend, xt, dyt, {
    strides: 1,
    dilations: [sh, sw],
    pad: [
      [0, 0],
      [padInfo.top, bottom],
      [padInfo.left, right],
      [0, 0],
    ],
  });
  release(backend, xt, dyt);
  let taps = full;
  if (full.shape[1] !== kh || full.shape[2] !== kw) {
    taps = slice(backend, full, [0, 0, 0, 0], [ci, kh, kw, co]);
    release(backend, full);
  }
  const dw = transpose(backend, taps, [1, 2, 0, 3]);
  release(backend, taps);
  return dw;
}

/** The forward convolution's geometry, from the kernel's inputs and attributes. */
export function filterGradInfo(x: tf.TensorInfo, attrs: Conv2DBackpropFilterAttrs): ConvInfo {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropFilter supports NHWC only, got ${attrs.dataFormat}`);
  }
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

function conv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const info = filterGradInfo(x, args.attrs as unknown as Conv2DBackpropFilterAttrs);
  return (
    nativeFilterGrad(backend, x, dy, info) ??
    filterGradSimd(backend, x, dy, info) ??
    filterGradXnnpack(backend, x, dy, info)
  );
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
