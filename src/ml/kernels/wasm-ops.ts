/**
 * Direct calls to the wasm backend's own kernels (Conv2D, Transpose, Slice, ...) on
 * TensorInfos, for use inside the project's kernels: no engine bookkeeping, no tape.
 * Every TensorInfo these return is owned by the caller, who frees intermediates with
 * `release`. Must never be handed a kernel name this project overrides (that would recurse).
 */

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

type Attrs = tf.NamedAttrMap;
type Inputs = tf.NamedTensorInfoMap;

function call(backend: BackendWasm, kernel: string, inputs: Inputs, attrs: Attrs): tf.TensorInfo {
  const config = tf.getKernel(kernel, 'wasm');
  if (config === undefined) throw new Error(`wasm backend has no kernel ${kernel}`);
  return config.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

export function release(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function conv2d(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: {
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dilations: [number, number] | number;
  },
): tf.TensorInfo {
  return call(backend, tf.Conv2D, { x, filter }, {
    ...attrs,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
  } as unknown as Attrs);
}

export function transpose(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return call(backend, tf.Transpose, { x }, { perm });
}

export function slice(
  backend: BackendWasm,
  x: tf.TensorInfo,
  begin: number[],
  size: number[],
): tf.TensorInfo {
  return call(backend, tf.Slice, { x }, { begin, size });
}

export function reverse(backend: BackendWasm, x: tf.TensorInfo, dims: number[]): tf.TensorInfo {
  return call(backend, tf.Reverse, { x }, { dims });
}

export function pad(
  backend: BackendWasm,
  x: tf.TensorInfo,
  paddings: Array<[number, number]>,
): tf.TensorInfo {
  return call(backend, tf.PadV2, { x }, { paddings, constantValue: 0 } as unknown as Attrs);
}

/** Same data, new shape: a new TensorInfo sharing the buffer (release it like any other). */
export function reshape(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return call(backend, tf.Reshape, { x }, { shape });
}
