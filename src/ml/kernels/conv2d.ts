/**
 * Conv2D and FusedConv2D (bias, linear or ReLU) for wasm on the native kernels where they
 * are built (native.ts); every other case, and every machine without them, runs the
 * backend's own (XNNPACK). Must never be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { nativeConv2d } from './native.js';
import { callOriginal, type KernelArgs } from './wasm-ops.js';

interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

function convInfo(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: Conv2DAttrs) {
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
}

function conv2D(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as Conv2DAttrs;
  const native =
    attrs.dataFormat === 'NHWC'
      ? nativeConv2d(backend, x, filter, convInfo(x, filter, attrs))
      : undefined;
  return native ?? callOriginal(backend, tf.Conv2D, args.inputs, args.attrs ?? {});
}

function fusedConv2D(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, filter, bias, preluActivationWeights } = args.inputs as {
    x: tf.TensorInfo;
    filter: tf.TensorInfo;
    bias?: tf.TensorInfo;
    preluActivationWeights?: tf.TensorInfo;
  };
  const attrs = args.attrs as unknown as Conv2DAttrs;
  const activation = attrs.activation ?? 'linear';
  const simple =
    attrs.dataFormat === 'NHWC' &&
    preluActivationWeights === undefined &&
    (activation === 'linear' || activation === 'relu') &&
    (bias === undefined || tf.util.sizeFromShape(bias.shape) === filter.shape[3]);
  const native = simple
    ? nativeConv2d(backend, x, filter, convInfo(x, filter, attrs), bias, activation === 'relu')
    : undefined;
  return native ?? callOriginal(backend, tf.FusedConv2D, args.inputs, args.attrs ?? {});
}

export const conv2DConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: 'wasm',
  kernelFunc: conv2D as unknown as tf.KernelFunc,
};

export const fusedConv2DConfig: tf.KernelConfig = {
  kernelName: tf.FusedConv2D,
  backendName: 'wasm',
  kernelFunc: fusedConv2D as unknown as tf.KernelFunc,
};
