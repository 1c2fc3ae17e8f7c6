/**
 * Conv2DBackpropInput for wasm. The backend's own kernel is a scalar C++ loop; this one
 * expresses the input gradient as a forward convolution and runs it on the wasm Conv2D
 * (XNNPACK):
 *   dx = conv2d(dilate(dy, stride), rot180(W) with in/out channels swapped, stride 1,
 *               padding top = kh - 1 - padTop, left = kw - 1 - padLeft, bottom/right so
 *               that the output is H x W).
 * Padding the forward pass could not produce (more than kh - 1 on a side) goes to the
 * backend's own kernel. Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { allocate, callOriginal, conv2d, release, slice, view } from './wasm-ops.js';

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
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  if (attrs.dataFormat !== 'NHWC' || top < 0 || left < 0) {
    return callOriginal(backend, tf.Conv2DBackpropInput, args.inputs, args.attrs ?? {});
  }
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

export const conv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as tf.KernelFunc,
};
