/** The geometry of a MaxPoolGrad kernel call, shared by the wasm and webgpu kernels. */
import * as tf from '@tensorflow/tfjs-core';

interface MaxPoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Window, strides and padding of max pooling over `input` (dilation 1, as tf.maxPool's). */
export function maxPoolGradInfo(
  input: tf.TensorInfo,
  attrs: tf.NamedAttrMap | undefined,
): tf.backend_util.Conv2DInfo {
  const a = attrs as unknown as MaxPoolGradAttrs;
  return tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}
