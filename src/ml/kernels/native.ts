/**
 * The native kernels (native/*.cc: convolutions and products in AVX2 + FMA), built at
 * install by scripts/build-native.mjs where a C++ compiler and Node's headers exist. They
 * work in place on the wasm backend's heap, so the wasm backend keeps every tensor and only
 * these kernels leave wasm SIMD (128-bit, no fused multiply-add) for the CPU's own vectors.
 * Optional: without the built addon, on a CPU without AVX2 and FMA, or with ADVROB_NATIVE=0,
 * the wasm kernels run as before. Results differ from the wasm kernels' in the last bits
 * (another summation order, fused multiply-adds), so whether they ran is part of the
 * backend's description in provenance.
 */

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

interface Addon {
  supported: boolean;
  conv2d(heap: ArrayBuffer, params: Float64Array): void;
  conv2dFilterGrad(heap: ArrayBuffer, params: Float64Array): void;
  conv2dInputGrad(heap: ArrayBuffer, params: Float64Array): void;
  matmul(heap: ArrayBuffer, params: Float64Array): void;
}

export interface NativeStatus {
  active: boolean;
  /** Where the addon was loaded from, or why it is not used. */
  detail: string;
}

/** Where scripts/build-native.mjs puts the addon, relative to the project root. */
export const NATIVE_ADDON = path.join('native', 'build', 'advrob_kernels.node');

function projectAddon(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, NATIVE_ADDON);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let loaded: { addon?: Addon; status: NativeStatus } | undefined;

function load(): { addon?: Addon; status: NativeStatus } {
  if (process.env.ADVROB_NATIVE === '0') {
    return { status: { active: false, detail: 'off (ADVROB_NATIVE=0)' } };
  }
  const file = projectAddon();
  if (file === undefined) {
    return { status: { active: false, detail: `not built (${NATIVE_ADDON}; npm run build)` } };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as Addon;
    if (!addon.supported) {
      return { status: { active: false, detail: 'this CPU lacks AVX2 or FMA' } };
    }
    return { addon, status: { active: true, detail: file } };
  } catch (e) {
    const reason = e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
    return { status: { active: false, detail: `failed to load: ${reason}` } };
  }
}

function addon(): Addon | undefined {
  loaded ??= load();
  return loaded.addon;
}

export function nativeStatus(): NativeStatus {
  loaded ??= load();
  return loaded.status;
}

/** Byte offset of a tensor in the heap, or -1 for none. */
function offset(backend: BackendWasm, t: tf.TensorInfo | undefined): number {
  return t === undefined ? -1 : backend.getMemoryOffset(t.dataId);
}

/** The heap as it is now: growing it replaces the buffer, so it is fetched on every call. */
function heap(backend: BackendWasm): ArrayBufferLike {
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer;
}

/**
 * The addon, where it can work on this backend's heap: a plain ArrayBuffer (the threaded
 * wasm build, which Node does not run, would share a SharedArrayBuffer).
 */
function kernels(backend: BackendWasm): Addon | undefined {
  const k = addon();
  return k !== undefined && heap(backend) instanceof ArrayBuffer ? k : undefined;
}

type ConvInfo = tf.backend_util.Conv2DInfo;

function geometry(info: ConvInfo): number[] {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.filterHeight,
    info.filterWidth,
    info.outChannels,
    info.outHeight,
    info.outWidth,
    info.strideHeight,
    info.strideWidth,
    info.dilationHeight,
    info.dilationWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

const allFloat = (...ts: Array<tf.TensorInfo | undefined>): boolean =>
  ts.every((t) => t === undefined || t.dtype === 'float32');

/**
 * The addon's convolution `op` on [x or dy, filter or dy, bias] (absent ones: none) into a
 * new float32 tensor of `shape`, or undefined where the native kernels do not run.
 */
function runConv(
  backend: BackendWasm,
  op: 'conv2d' | 'conv2dFilterGrad' | 'conv2dInputGrad',
  [first, second, bias]: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo?],
  shape: number[],
  info: ConvInfo,
  relu: boolean,
): tf.TensorInfo | undefined {
  const k = kernels(backend);
  if (k === undefined || !allFloat(first, second, bias)) return undefined;
  const out = backend.makeOutput(shape, 'float32');
  const offsets = [first, second, bias, out].map((t) => offset(backend, t));
  k[op](
    heap(backend) as ArrayBuffer,
    Float64Array.from([...offsets, ...geometry(info), relu ? 1 : 0]),
  );
  return out;
}

/**
 * The forward convolution (NHWC, HWIO filter) plus bias and ReLU when given, or undefined
 * where the native kernels do not run.
 */
export function nativeConv2d(
  backend: BackendWasm,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: ConvInfo,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | undefined {
  return runConv(backend, 'conv2d', [x, filter, bias], [...info.outShape], info, relu);
}

/** dW of a convolution, or undefined where the native kernels do not run. */
export function nativeFilterGrad(
  backend: BackendWasm,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: ConvInfo,
): tf.TensorInfo | undefined {
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  return runConv(backend, 'conv2dFilterGrad', [x, dy], [kh, kw, ci, co], info, false);
}

/** dX of a convolution, or undefined where the native kernels do not run. */
export function nativeInputGrad(
  backend: BackendWasm,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: ConvInfo,
): tf.TensorInfo | undefined {
  return runConv(backend, 'conv2dInputGrad', [dy, filter], [...info.inShape], info, false);
}

/**
 * a . b of unbatched operands (leading dimensions all 1), either transposed, plus bias and
 * ReLU when given; the result has the operands' rank. Undefined where the native kernels do
 * not run.
 */
export function nativeMatMul(
  backend: BackendWasm,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias?: tf.TensorInfo,
  relu = false,
): tf.TensorInfo | undefined {
  const k = kernels(backend);
  const batchOf = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape.slice(0, -2));
  if (k === undefined || !allFloat(a, b, bias) || batchOf(a) !== 1 || batchOf(b) !== 1) {
    return undefined;
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, depth] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  if (bias !== undefined && tf.util.sizeFromShape(bias.shape) !== n) return undefined;
  const rank = Math.max(a.shape.length, b.shape.length);
  const out = backend.makeOutput([...new Array(rank - 2).fill(1), m, n], 'float32');
  if (m * n === 0) return out;
  // Strides of a by (row, summed index) and of b by (column, summed index).
  const aStrides = transposeA ? [1, m] : [depth, 1];
  const bStrides = transposeB ? [depth, 1] : [1, n];
  const offsets = [a, b, bias, out].map((t) => offset(backend, t));
  k.matmul(
    heap(backend) as ArrayBuffer,
    Float64Array.from([...offsets, m, n, depth, ...aStrides, ...bStrides, relu ? 1 : 0]),
  );
  return out;
}
