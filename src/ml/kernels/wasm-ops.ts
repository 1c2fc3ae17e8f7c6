/**
 * Direct calls to the wasm backend's own kernels (Conv2D, Transpose, Slice, ...) on
 * TensorInfos, for use inside the project's kernels: no engine bookkeeping, no tape.
 * Every TensorInfo these return is owned by the caller, who frees intermediates with
 * `release`. Calls reach the backend's original kernels, never the project's replacements.
 */

import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

type Attrs = tf.NamedAttrMap;

/** What tfjs hands every kernel function (the project's wasm and webgpu kernels alike). */
export type KernelArgs = Parameters<tf.KernelFunc>[0];
type Inputs = tf.NamedTensorInfoMap;

/** The wasm backend's own kernels that this project replaced, saved before replacing. */
const originals = new Map<string, tf.KernelFunc>();

/** Remembers the wasm backend's kernel `name` (once) so `callOriginal` can reach it later. */
export function saveOriginal(name: string): void {
  if (originals.has(name)) return;
  const config = tf.getKernel(name, 'wasm');
  if (config !== undefined) originals.set(name, config.kernelFunc);
}

/** The wasm backend's own kernel `name`, if it had one and it was saved. */
export function originalKernel(name: string): tf.KernelFunc | undefined {
  return originals.get(name);
}

/** Runs the wasm backend's own kernel `name`, even when the project has replaced it. */
export function callOriginal(
  backend: BackendWasm,
  name: string,
  inputs: Inputs,
  attrs: Attrs,
): tf.TensorInfo {
  const func = originals.get(name) ?? tf.getKernel(name, 'wasm')?.kernelFunc;
  if (func === undefined) throw new Error(`wasm backend has no kernel ${name}`);
  return func({ inputs, backend, attrs }) as tf.TensorInfo;
}

const call = callOriginal;

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

/** A new float32 wasm tensor and a writable view of it (views are taken after allocating,
 * because allocating may grow the wasm heap and detach older views). */
export function allocate(backend: BackendWasm, shape: number[]): tf.TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

export function view(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
