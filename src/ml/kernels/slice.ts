/**
 * Slice for wasm, where the slice is one contiguous run of the input (a batch of rows:
 * `sliceBatch`, tf.split along the first axis). The backend's own kernel first reads the
 * whole input out of the wasm heap into a new buffer (`readSync` copies), then copies the
 * slice from there: batching a 10,000-image set took 0.5 ms an image instead of 0.07, and
 * an `evaluate` stage of the fashion-mnist profile 263 s. Here the slice is copied straight
 * from heap to heap. Other slices, and strings, go to the backend's own kernel. Must never
 * be registered for a backend other than wasm.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { callOriginal, type KernelArgs } from './wasm-ops.js';

type Heap = Float32Array | Int32Array | Uint8Array;

function slice(args: KernelArgs): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size } = args.attrs as { begin: number | number[]; size: number | number[] };
  const [start, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [
    number[],
    number[],
  ];
  if (x.dtype === 'string' || !tf.slice_util.isSliceContinous(x.shape, start, extent)) {
    return callOriginal(backend, tf.Slice, args.inputs, args.attrs ?? {});
  }
  const out = backend.makeOutput(extent, x.dtype);
  // Views taken after the output is allocated: an allocation may grow (move) the heap.
  const from = tf.slice_util.computeFlatOffset(start, tf.util.computeStrides(x.shape));
  const count = tf.util.sizeFromShape(extent);
  const src = backend.typedArrayFromHeap(x) as Heap;
  (backend.typedArrayFromHeap(out) as Heap).set(src.subarray(from, from + count));
  return out;
}

export const sliceConfig: tf.KernelConfig = {
  kernelName: tf.Slice,
  backendName: 'wasm',
  kernelFunc: slice as unknown as tf.KernelFunc,
};
