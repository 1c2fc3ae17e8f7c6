/**
 * Conv2DBackpropFilter for the wasm backend, which ships none. The filter gradient
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s + kh - top, ow*s + kw - left, ci] * dy[n,oh,ow,co]
 * is itself a convolution: of x with channels and batch swapped ([ci,H,W,n]) by dy used as
 * a filter ([oh,ow,n,co]) with dilation = the forward stride. So it runs on the wasm
 * Conv2D (XNNPACK). Must never be registered for a backend other than wasm.
 */

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, release, slice, transpose } from './wasm-ops.js';

export interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`wasm Conv2DBackpropFilter supports NHWC only, got ${attrs.dataFormat}`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, padInfo } = info;
  // Padding so that the "valid" output of the swapped convolution covers kh x kw taps.
  const bottom = Math.max(0, (oh - 1) * sh + kh - h - padInfo.top);
  const right = Math.max(0, (ow - 1) * sw + kw - w - padInfo.left);
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

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
};
