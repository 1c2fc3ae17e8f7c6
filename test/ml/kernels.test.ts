/**
 * The project's wasm kernels against independent computations: naive float64 loops written
 * from the forward definitions, the cpu backend's kernels, and finite differences of
 * forward passes.
 */
import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import {
  type Conv2DBackpropFilterAttrs,
  filterGradInfo,
  filterGradSimd,
  filterGradXnnpack,
} from '../../src/ml/kernels/conv2d-backprop-filter.js';
import {
  inputGradDot,
  inputGradSimd,
  inputGradXnnpack,
} from '../../src/ml/kernels/conv2d-backprop-input.js';
import { WASM_KERNELS } from '../../src/ml/kernels/register.js';
import { callOriginal } from '../../src/ml/kernels/wasm-ops.js';
import { expectClose, values } from './kernel-values.js';

type Shape4 = [number, number, number, number];
type Padding = 'valid' | 'same';
/** [[0, 0], [top, bottom], [left, right], [0, 0]], as tf.conv2d takes explicit padding. */
type Explicit = [[0, 0], [number, number], [number, number], [0, 0]];

beforeAll(async () => {
  await initBackend('wasm');
});

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** TensorFlow's output size and leading pad for one spatial axis; `pad` may be explicit
 * [before, after] amounts. */
function axis(
  input: number,
  k: number,
  s: number,
  pad: Padding | [number, number],
): { out: number; before: number } {
  if (Array.isArray(pad))
    return { out: Math.floor((input + pad[0] + pad[1] - k) / s) + 1, before: pad[0] };
  if (pad === 'valid') return { out: Math.ceil((input - k + 1) / s), before: 0 };
  const out = Math.ceil(input / s);
  const total = Math.max((out - 1) * s + k - input, 0);
  return { out, before: Math.floor(total / 2) };
}

interface ConvCase {
  x: Shape4;
  k: [number, number];
  co: number;
  strides: [number, number];
  pad: Padding | Explicit;
}

/** Naive float64 gradients of y = conv2d(x, w) for upstream gradient dy. */
function naiveConvGrads(c: ConvCase, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const [n, h, wd, ci] = c.x;
  const [kh, kw] = c.k;
  const [sh, sw] = c.strides;
  const ah = axis(h, kh, sh, Array.isArray(c.pad) ? c.pad[1] : c.pad);
  const aw = axis(wd, kw, sw, Array.isArray(c.pad) ? c.pad[2] : c.pad);
  const dx = new Float64Array(size(c.x));
  const dw = new Float64Array(kh * kw * ci * c.co);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < ah.out; r++) {
      for (let q = 0; q < aw.out; q++) {
        for (let o = 0; o < c.co; o++) {
          const g = dy[((b * ah.out + r) * aw.out + q) * c.co + o] as number;
          for (let i = 0; i < kh; i++) {
            const xr = r * sh + i - ah.before;
            if (xr < 0 || xr >= h) continue;
            for (let j = 0; j < kw; j++) {
              const xc = q * sw + j - aw.before;
              if (xc < 0 || xc >= wd) continue;
              for (let d = 0; d < ci; d++) {
                const xi = ((b * h + xr) * wd + xc) * ci + d;
                const wi = ((i * kw + j) * ci + d) * c.co + o;
                dx[xi] = (dx[xi] as number) + g * (w[wi] as number);
                dw[wi] = (dw[wi] as number) + g * (x[xi] as number);
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw, dyShape: [n, ah.out, aw.out, c.co] as Shape4 };
}

/** Runs one kernel on `backendName` with inputs built there from plain arrays. */
async function runOn(
  backendName: 'wasm' | 'cpu',
  kernel: string,
  inputs: Record<string, { shape: number[]; data: Float32Array }>,
  attrs: tf.NamedAttrMap,
): Promise<Float32Array> {
  const previous = tf.getBackend();
  await tf.setBackend(backendName);
  try {
    const made: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(inputs)) made[k] = tf.tensor(v.data, v.shape);
    const out = tf.engine().runKernel(kernel, made, attrs) as tf.Tensor;
    const data = out.dataSync() as Float32Array;
    tf.dispose([out, ...Object.values(made)]);
    return data;
  } finally {
    await tf.setBackend(previous);
  }
}

const convCases: ConvCase[] = [
  { x: [2, 9, 9, 1], k: [3, 3], co: 4, strides: [1, 1], pad: 'valid' },
  { x: [2, 10, 10, 3], k: [5, 5], co: 6, strides: [2, 2], pad: 'same' },
  { x: [3, 8, 7, 3], k: [3, 2], co: 2, strides: [2, 1], pad: 'valid' },
  { x: [2, 11, 11, 3], k: [5, 5], co: 16, strides: [2, 2], pad: 'valid' },
  { x: [1, 6, 6, 1], k: [4, 4], co: 2, strides: [1, 1], pad: 'same' },
  { x: [2, 7, 7, 3], k: [4, 4], co: 3, strides: [2, 2], pad: 'same' },
  { x: [4, 14, 14, 6], k: [5, 5], co: 16, strides: [1, 1], pad: 'valid' },
  // Output channels past one 16-channel block of the SIMD filter gradient, with 1, 2 and 3
  // lanes in the last vector; filter rows (kw * ci) not a multiple of the rows per pass.
  { x: [2, 9, 8, 2], k: [3, 3], co: 21, strides: [1, 1], pad: 'valid' },
  { x: [3, 8, 8, 3], k: [5, 3], co: 38, strides: [1, 2], pad: 'same' },
  { x: [2, 12, 12, 1], k: [5, 5], co: 7, strides: [1, 1], pad: 'valid' },
  // The SIMD input gradient's row blocks: 7 vectors, 4 with 3 columns of padding, 2 blocks.
  { x: [2, 28, 28, 1], k: [5, 5], co: 6, strides: [1, 1], pad: 'valid' },
  { x: [2, 13, 13, 3], k: [5, 5], co: 6, strides: [1, 1], pad: 'same' },
  { x: [1, 5, 40, 2], k: [3, 4], co: 5, strides: [1, 1], pad: 'same' },
  // The gathering SIMD input gradient (5+ input channels): 1, 2, 3 lanes in the last vector.
  { x: [2, 9, 8, 6], k: [5, 3], co: 7, strides: [1, 1], pad: 'same' },
  { x: [1, 7, 9, 5], k: [3, 3], co: 9, strides: [1, 1], pad: 'valid' },
  { x: [2, 6, 6, 8], k: [2, 4], co: 2, strides: [1, 1], pad: 'same' },
  {
    x: [1, 6, 7, 6],
    k: [2, 3],
    co: 4,
    strides: [1, 1],
    pad: [
      [0, 0],
      [3, 0],
      [1, 2],
      [0, 0],
    ],
  },
  // Explicit padding: more after than the filter reaches (the input gradient crops its
  // result), and more before than the filter size (it defers to wasm's own kernel).
  {
    x: [2, 8, 8, 3],
    k: [3, 3],
    co: 4,
    strides: [2, 2],
    pad: [
      [0, 0],
      [1, 4],
      [0, 3],
      [0, 0],
    ],
  },
  {
    x: [2, 6, 7, 2],
    k: [2, 2],
    co: 3,
    strides: [1, 1],
    pad: [
      [0, 0],
      [3, 0],
      [1, 1],
      [0, 0],
    ],
  },
];

const label = (c: ConvCase) =>
  `x ${c.x.join('x')} k ${c.k.join('x')}x${c.co} s ${c.strides} ${c.pad}`;

describe('wasm kernel registration', () => {
  it('replaces the backend kernels on wasm, adds the fused Adam update, and leaves cpu alone', () => {
    for (const config of WASM_KERNELS) {
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
      expect(tf.getKernel(config.kernelName, 'cpu')?.kernelFunc).not.toBe(config.kernelFunc);
    }
    expect(WASM_KERNELS.map((k) => k.kernelName).sort()).toEqual(
      [
        'AdvrobAdamUpdate',
        'BatchMatMul',
        'Cast',
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'Identity',
        'MaxPoolGrad',
        'Sign',
        'Sum',
        'Tanh',
        'Add',
        'Slice',
        'Conv2D',
        'FusedConv2D',
        '_FusedMatMul',
      ].sort(),
    );
  });
});

describe('Identity (wasm)', () => {
  it('shares the buffer, and either tensor outlives the other', () => {
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor2d([1.5, -2, 3e-30, 4], [2, 2]);
    const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    expect(backend.getMemoryOffset(y.dataId)).toBe(backend.getMemoryOffset(x.dataId));
    expect(y.shape).toEqual([2, 2]);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual(Array.from(Float32Array.of(1.5, -2, 3e-30, 4)));
    const z = tf.engine().runKernel('Identity', { x: y }) as tf.Tensor;
    y.dispose();
    expect(Array.from(z.dataSync())).toEqual(Array.from(Float32Array.of(1.5, -2, 3e-30, 4)));
    z.dispose();
  });

  it('Cast to the same dtype shares too; real conversions convert', () => {
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor1d([1.75, -2.5, 3]);
    const same = tf.cast(x, 'float32');
    expect(backend.getMemoryOffset(same.dataId)).toBe(backend.getMemoryOffset(x.dataId));
    const ints = tf.cast(x, 'int32');
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3]);
    expect(Array.from(tf.cast(ints, 'float32').dataSync())).toEqual([1, -2, 3]);
    x.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.75, -2.5, 3]);
    tf.dispose([same, ints]);
  });

  it('keeps strings on the backend kernel', () => {
    const s = tf.tensor1d(['a', 'bc'], 'string');
    expect(tf.clone(s).arraySync()).toEqual(['a', 'bc']);
  });
});

describe('Sign (wasm)', () => {
  it('is +-1 for every non-zero float, however small (the backend kernel zeroes |x| < 1.2e-7)', () => {
    const xs = [1, -1, 0.5, -2e30, 1e-3, 2e-7, 1e-7, -1e-7, 1e-12, -3e-20, 1e-38, 1e-44, -1e-44];
    const special = [0, -0, Number.NaN];
    const input = Float32Array.from([...xs, ...special]);
    const expected = [...Array.from(input.subarray(0, xs.length), (v) => Math.sign(v)), 0, 0, 0];
    expect(Array.from(tf.sign(tf.tensor1d(input)).dataSync())).toEqual(expected);
  });

  it('signs every element of a tensor whose length is not a whole number of vectors', () => {
    const input = values(1031, 3).map((v, i) => (i % 7 === 0 ? v * 1e-30 : i % 11 === 0 ? 0 : v));
    input[1030] = Number.NaN;
    input[1029] = -1e-40;
    const expected = Array.from(input, (v) => (v > 0 ? 1 : v < 0 ? -1 : 0));
    expect(Array.from(tf.sign(tf.tensor2d(input, [1, 1031])).dataSync())).toEqual(expected);
  });

  it('leaves int32 tensors to the backend kernel', () => {
    expect(Array.from(tf.sign(tf.tensor1d([-3, 0, 7], 'int32')).dataSync())).toEqual([-1, 0, 1]);
  });
});

describe('Add of a bias along the last axis (wasm)', () => {
  const cases: Array<{ x: number[]; bias: number[]; biasFirst?: boolean }> = [
    { x: [3, 5, 5, 6], bias: [6] },
    { x: [2, 3, 3, 16], bias: [1, 1, 1, 16] },
    { x: [7, 120], bias: [120] },
    { x: [5, 10], bias: [10], biasFirst: true },
    { x: [3, 7], bias: [7] },
    { x: [9, 1], bias: [1] },
    { x: [2, 2, 3], bias: [1, 3], biasFirst: true },
  ];
  for (const c of cases) {
    it(`is x + bias element by element: ${c.x.join('x')} + ${c.bias.join('x')}${c.biasFirst ? ', bias first' : ''}`, () => {
      const size = c.x.reduce((p, d) => p * d, 1);
      const channels = c.bias[c.bias.length - 1] as number;
      const xv = values(size, 5);
      const bv = values(channels, 9);
      const x = tf.tensor(xv, c.x);
      const b = tf.tensor(bv, c.bias);
      const sum = c.biasFirst ? tf.add(b, x) : tf.add(x, b);
      expect(sum.shape).toEqual(c.x);
      const expected = Array.from(xv, (v, i) => Math.fround(v + (bv[i % channels] as number)));
      expect(Array.from(sum.dataSync())).toEqual(expected);
      tf.dispose([x, b, sum]);
    });
  }

  it('adds the tail right when the output allocation grows the wasm heap', () => {
    const rows = 8_000_001;
    const x = tf.fill([rows, 6], 1);
    const b = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    const sum = tf.add(x, b);
    const last = tf.slice(sum, [rows - 2, 0], [2, 6]);
    expect(Array.from(last.dataSync())).toEqual([2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7]);
    tf.dispose([x, b, sum, last]);
  });

  it('leaves other broadcasts and int32 to the backend kernel', () => {
    const col = tf.add(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([10, 20], [2, 1]));
    expect(Array.from(col.dataSync())).toEqual([11, 12, 13, 24, 25, 26]);
    const ints = tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([5, 6], 'int32'));
    expect(ints.dtype).toBe('int32');
    expect(Array.from(ints.dataSync())).toEqual([6, 8, 8, 10]);
  });
});

describe('Slice (wasm)', () => {
  /** x[begin : begin + size] of a row-major array, by index arithmetic. */
  function naiveSlice(x: ArrayLike<number>, shape: number[], begin: number[], size: number[]) {
    const out: number[] = [];
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, d) => p * d, 1));
    const visit = (axis: number, offset: number): void => {
      if (axis === shape.length) {
        out.push(x[offset] as number);
        return;
      }
      for (let i = 0; i < (size[axis] as number); i++) {
        visit(axis + 1, offset + ((begin[axis] as number) + i) * (strides[axis] as number));
      }
    };
    visit(0, 0);
    return out;
  }

  const cases: Array<{ shape: number[]; begin: number[]; size: number[] }> = [
    { shape: [50, 4, 4, 1], begin: [17, 0, 0, 0], size: [9, 4, 4, 1] },
    { shape: [50, 4, 4, 1], begin: [49, 0, 0, 0], size: [1, 4, 4, 1] },
    { shape: [6, 5], begin: [2, 1], size: [1, 3] },
    { shape: [6, 5], begin: [0, 1], size: [6, 3] },
    { shape: [3, 4, 5], begin: [1, 1, 0], size: [2, 2, 5] },
    { shape: [3, 4, 5], begin: [0, 0, 0], size: [0, 4, 5] },
  ];
  for (const c of cases) {
    it(`equals the slice by index arithmetic: ${c.shape.join('x')} from ${c.begin} size ${c.size}`, () => {
      const n = c.shape.reduce((p, d) => p * d, 1);
      const xv = values(n, 21);
      const x = tf.tensor(xv, c.shape);
      const got = tf.slice(x, c.begin, c.size);
      expect(got.shape).toEqual(c.size);
      expect(Array.from(got.dataSync())).toEqual(naiveSlice(xv, c.shape, c.begin, c.size));
      const ints = tf.slice(tf.cast(tf.mul(x, 100), 'int32'), c.begin, c.size);
      expect(ints.dtype).toBe('int32');
      expect(Array.from(ints.dataSync())).toEqual(
        naiveSlice(
          Int32Array.from(xv, (v) => Math.trunc(Math.fround(v * 100))),
          c.shape,
          c.begin,
          c.size,
        ),
      );
      tf.dispose([x, got, ints]);
    });
  }

  it('slices bool and string tensors', () => {
    const b = tf.slice(tf.tensor1d([true, false, true, true], 'bool'), [1], [2]);
    expect(b.dtype).toBe('bool');
    expect(Array.from(b.dataSync())).toEqual([0, 1]);
    const s = tf.slice(tf.tensor1d(['a', 'bc', 'd'], 'string'), [1], [2]);
    expect(s.arraySync()).toEqual(['bc', 'd']);
  });
});

describe('Tanh (wasm)', () => {
  /** Distance from float32 `got` to the exact float64 `want`, in float32 ulps at `want`. */
  const ulps = (got: number, want: number): number => {
    const a = Math.abs(Math.fround(want));
    const next = new Float32Array([a]);
    new Uint32Array(next.buffer)[0] = (new Uint32Array(next.buffer)[0] as number) + 1;
    return Math.abs(got - want) / ((next[0] as number) - a || 1.4e-45);
  };

  it('is within 1.5 ulp of Math.tanh from 1e-30 to 50, both signs, around the branch at 0.625', () => {
    const xs: number[] = [];
    for (let i = 0; i <= 20000; i++) xs.push(-10 + i / 1000);
    for (let i = 0; i <= 2000; i++) xs.push(0.62 + i / 200000);
    for (let e = -30; e <= 1.7; e += 0.01) xs.push(10 ** e, -(10 ** e));
    const input = Float32Array.from(xs);
    const got = tf.tanh(tf.tensor1d(input)).dataSync();
    let worst = 0;
    for (const [i, x] of input.entries())
      worst = Math.max(worst, ulps(got[i] as number, Math.tanh(x)));
    expect(worst).toBeLessThanOrEqual(1.5);
  });

  it('keeps NaN, the sign of zero, and is +-1 at infinity and far out; odd lengths included', () => {
    const input = Float32Array.of(Number.NaN, 0, -0, Infinity, -Infinity, 44, -88, 1e30);
    const got = Array.from(tf.tanh(tf.tensor1d(input)).dataSync());
    expect(got.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([
      Number.NaN,
      0,
      '-0',
      1,
      -1,
      1,
      -1,
      1,
    ]);
  });

  it('computes every element of a long tensor, not only whole vectors', () => {
    const input = values(1027, 11).map((v) => v * 4);
    const got = tf.tanh(tf.tensor2d(input, [13, 79])).dataSync();
    for (const [i, x] of input.entries())
      expect(ulps(got[i] as number, Math.tanh(x))).toBeLessThanOrEqual(1.5);
  });
});

describe('Conv2DBackpropFilter and Conv2DBackpropInput (wasm)', () => {
  for (const [i, c] of convCases.entries()) {
    it(`match a naive loop and the cpu backend: ${label(c)}`, async () => {
      const [kh, kw] = c.k;
      const ci = c.x[3];
      const fShape: Shape4 = [kh, kw, ci, c.co];
      const x = values(size(c.x), 11 + i);
      const w = values(size(fShape), 23 + i);
      const dyShape = naiveConvGrads(c, x, w, new Float32Array(0)).dyShape;
      const dy = values(size(dyShape), 37 + i);
      const naive = naiveConvGrads(c, x, w, dy);
      const base = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
      const filterIn = { x: { shape: c.x, data: x }, dy: { shape: dyShape, data: dy } };
      const inputIn = { dy: { shape: dyShape, data: dy }, filter: { shape: fShape, data: w } };
      const fAttrs = { ...base, filterShape: fShape };
      const iAttrs = { ...base, inputShape: c.x };
      const dwWasm = await runOn('wasm', 'Conv2DBackpropFilter', filterIn, fAttrs);
      const dxWasm = await runOn('wasm', 'Conv2DBackpropInput', inputIn, iAttrs);
      expectClose(dwWasm, naive.dw);
      expectClose(dxWasm, naive.dx);
      expectClose(dwWasm, await runOn('cpu', 'Conv2DBackpropFilter', filterIn, fAttrs));
      expectClose(dxWasm, await runOn('cpu', 'Conv2DBackpropInput', inputIn, iAttrs));
    });
  }
});

describe('Conv2DBackpropFilter: the SIMD code and the XNNPACK formulation (wasm)', () => {
  for (const [i, c] of convCases.entries()) {
    it(`each match a naive loop: ${label(c)}`, () => {
      const backend = tf.backend() as BackendWasm;
      const [kh, kw] = c.k;
      const fShape: Shape4 = [kh, kw, c.x[3], c.co];
      const x = values(size(c.x), 11 + i);
      const dyShape = naiveConvGrads(c, x, new Float32Array(0), new Float32Array(0)).dyShape;
      const dy = values(size(dyShape), 37 + i);
      const naive = naiveConvGrads(c, x, values(size(fShape), 1), dy);
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape };
      const xt = tf.tensor(x, c.x);
      const dyt = tf.tensor(dy, dyShape);
      const info = filterGradInfo(xt, attrs as Conv2DBackpropFilterAttrs);
      const simd = filterGradSimd(backend, xt, dyt, info);
      expect(simd).toBeDefined();
      for (const out of [simd as tf.TensorInfo, filterGradXnnpack(backend, xt, dyt, info)]) {
        expect(out.shape).toEqual(fShape);
        expectClose(backend.readSync(out.dataId) as Float32Array, naive.dw);
        backend.disposeData(out.dataId);
      }
      tf.dispose([xt, dyt]);
    });
  }
});

describe('Conv2DBackpropInput: both SIMD codes and the XNNPACK formulation (wasm)', () => {
  const stride1 = (c: ConvCase) => c.strides[0] === 1 && c.strides[1] === 1;
  const planarCases = convCases.filter((c) => stride1(c) && c.x[3] <= 4 && !Array.isArray(c.pad));
  const dotCases = convCases.filter((c) => stride1(c) && c.x[3] > 4);
  it('has cases for each SIMD code', () => {
    expect(planarCases.length).toBeGreaterThanOrEqual(5);
    expect(dotCases.length).toBeGreaterThanOrEqual(4);
  });
  for (const [i, c] of convCases.entries()) {
    it(`each match a naive loop where they apply: ${label(c)}`, () => {
      const backend = tf.backend() as BackendWasm;
      const [kh, kw] = c.k;
      const fShape: Shape4 = [kh, kw, c.x[3], c.co];
      const w = values(size(fShape), 23 + i);
      const dyShape = naiveConvGrads(c, new Float32Array(0), w, new Float32Array(0)).dyShape;
      const dy = values(size(dyShape), 37 + i);
      const naive = naiveConvGrads(c, new Float32Array(size(c.x)), w, dy);
      const dyt = tf.tensor(dy, dyShape);
      const wt = tf.tensor(w, fShape);
      const info = tf.backend_util.computeConv2DInfo(c.x, fShape, c.strides, 1, c.pad);
      const planar = inputGradSimd(backend, dyt, wt, info);
      expect(planar !== undefined).toBe(planarCases.includes(c));
      // The gathering code takes any stride-1 case; the kernel uses it from 5 channels on.
      const dot = inputGradDot(backend, dyt, wt, info);
      expect(dot !== undefined).toBe(stride1(c));
      const padBefore = kh - 1 - info.padInfo.top >= 0 && kw - 1 - info.padInfo.left >= 0;
      const xnnpack = padBefore ? inputGradXnnpack(backend, dyt, wt, info) : undefined;
      for (const out of [planar, dot, xnnpack]) {
        if (out === undefined) continue;
        expect(out.shape).toEqual(c.x);
        expectClose(backend.readSync(out.dataId) as Float32Array, naive.dx);
        backend.disposeData(out.dataId);
      }
      tf.dispose([dyt, wt]);
    });
  }
});

describe('Sum (wasm)', () => {
  const cases: Array<{ shape: number[]; axis: number[]; keepDims?: boolean }> = [
    { shape: [2, 3, 4, 6], axis: [0, 1, 2] },
    { shape: [5, 120], axis: [0] }, // column blocks of 32, 32, 32, 24
    { shape: [7, 3], axis: [0], keepDims: true },
    { shape: [3, 2, 9], axis: [1, 0] },
    { shape: [4, 1], axis: [-2] },
    { shape: [2, 3, 5], axis: [1] }, // not all-but-last: the backend's own kernel
    { shape: [6], axis: [0] },
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches a float64 sum and wasm's own kernel: ${c.shape.join('x')} axis ${c.axis}`, () => {
      const backend = tf.backend() as BackendWasm;
      const data = values(size(c.shape), 61 + i).map((v) => v * 10 ** (i % 4));
      const x = tf.tensor(data, c.shape);
      const attrs = { axis: c.axis, keepDims: c.keepDims ?? false };
      const ours = tf.engine().runKernel('Sum', { x }, attrs) as tf.Tensor;
      const own = callOriginal(backend, 'Sum', { x }, attrs);
      expect(ours.shape).toEqual(own.shape);
      expectClose(ours.dataSync(), backend.readSync(own.dataId) as Float32Array, 1e-5);
      const keep = (t: number) => c.axis.every((a) => (a + c.shape.length) % c.shape.length !== t);
      const outDims = c.shape.map((d, t) => (keep(t) ? d : 1));
      const expected = new Float64Array(size(outDims));
      for (let k = 0; k < data.length; k++) {
        let rest = k;
        let o = 0;
        for (let t = c.shape.length - 1, oscale = 1; t >= 0; t--) {
          const d = c.shape[t] as number;
          const at = rest % d;
          rest = Math.floor(rest / d);
          if (keep(t)) o += at * oscale;
          oscale *= outDims[t] as number;
        }
        expected[o] = (expected[o] as number) + (data[k] as number);
      }
      expectClose(ours.dataSync(), expected, 1e-5);
      backend.disposeData(own.dataId);
      tf.dispose([x, ours]);
    });
  }
});

describe('MaxPoolGrad (wasm)', () => {
  const poolCases: Array<{ x: Shape4; f: number; s: number; pad: Padding; ties: boolean }> = [
    { x: [2, 8, 8, 3], f: 2, s: 2, pad: 'valid', ties: false },
    { x: [2, 9, 9, 1], f: 3, s: 2, pad: 'same', ties: false },
    { x: [3, 7, 6, 3], f: 3, s: 1, pad: 'valid', ties: false },
    { x: [2, 10, 10, 6], f: 2, s: 2, pad: 'valid', ties: true },
    { x: [1, 5, 5, 2], f: 2, s: 2, pad: 'same', ties: true },
    { x: [2, 7, 5, 3], f: 2, s: 2, pad: 'valid', ties: true },
    // Channel counts that fill 4 SIMD vectors, or leave 1, 2 or 3 lanes in the last one.
    { x: [2, 6, 6, 16], f: 2, s: 2, pad: 'valid', ties: true },
    { x: [1, 4, 6, 5], f: 2, s: 2, pad: 'valid', ties: false },
    { x: [2, 5, 4, 7], f: 2, s: 2, pad: 'valid', ties: true },
    { x: [1, 8, 9, 2], f: 2, s: 2, pad: 'valid', ties: false },
    // More channels than the SIMD code is generated for: the JS loop.
    { x: [1, 4, 4, 65], f: 2, s: 2, pad: 'valid', ties: true },
  ];
  for (const [i, c] of poolCases.entries()) {
    it(`matches the cpu backend${c.ties ? ' with ties (ReLU zeros)' : ''}: x ${c.x.join('x')} f ${c.f} s ${c.s} ${c.pad}`, async () => {
      const x = values(size(c.x), 5 + i).map((v) => (c.ties ? Math.max(0, Math.round(v * 2)) : v));
      const ah = axis(c.x[1], c.f, c.s, c.pad);
      const aw = axis(c.x[2], c.f, c.s, c.pad);
      const yShape = [c.x[0], ah.out, aw.out, c.x[3]];
      const attrs = { filterSize: c.f, strides: c.s, pad: c.pad };
      const y = await runOn('cpu', 'MaxPool', { x: { shape: c.x, data: x } }, attrs);
      const dy = values(size(yShape), 99 + i);
      const inputs = {
        dy: { shape: yShape, data: dy },
        input: { shape: c.x, data: x },
        output: { shape: yShape, data: y },
      };
      const ours = await runOn('wasm', 'MaxPoolGrad', inputs, attrs);
      expectClose(ours, await runOn('cpu', 'MaxPoolGrad', inputs, attrs), 1e-6);
      // Every upstream value lands somewhere in the input, once.
      const sum = (a: ArrayLike<number>) => Array.from(a).reduce((p, v) => p + v, 0);
      expect(sum(ours)).toBeCloseTo(sum(dy), 3);
    });
  }

  it('skips NaN as the cpu backend does; a window of only NaN or -Infinity gets nothing', async () => {
    const shape: Shape4 = [1, 2, 8, 3];
    const x = values(size(shape), 3);
    const put = (r: number, q: number, c: number, v: number) => {
      x[(r * 8 + q) * 3 + c] = v;
    };
    put(0, 0, 0, Number.NaN); // NaN first, a number later: the number wins
    for (const [r, q] of [
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
    ] as const) {
      put(r, q, 1, Number.NaN); // all NaN
      put(r, q, 2, Number.NEGATIVE_INFINITY); // all -Infinity
    }
    put(1, 5, 0, Number.POSITIVE_INFINITY);
    put(0, 6, 2, -0);
    put(0, 7, 2, 0); // -0 and +0 tie: the first
    put(1, 6, 2, -1);
    put(1, 7, 2, -1);
    const yShape = [1, 1, 4, 3];
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const inputs = {
      dy: { shape: yShape, data: values(12, 8) },
      input: { shape, data: x },
      output: { shape: yShape, data: new Float32Array(12) },
    };
    const ours = await runOn('wasm', 'MaxPoolGrad', inputs, attrs);
    expect(Array.from(ours)).toEqual(Array.from(await runOn('cpu', 'MaxPoolGrad', inputs, attrs)));
  });
});

describe('BatchMatMul (wasm)', () => {
  const mmCases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean }> = [
    { a: [5, 7], b: [5, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [7, 5], b: [3, 7], ta: true, tb: true },
    { a: [1, 64, 40], b: [1, 64, 12], ta: true, tb: false },
    { a: [1, 6, 12], b: [1, 40, 12], ta: false, tb: true },
    { a: [3, 4, 6], b: [3, 5, 6], ta: false, tb: true },
    { a: [4, 6], b: [6, 5], ta: false, tb: false },
  ];
  for (const [i, c] of mmCases.entries()) {
    it(`matches a naive product: ${c.a.join('x')}${c.ta ? 'ᵀ' : ''} · ${c.b.join('x')}${c.tb ? 'ᵀ' : ''}`, async () => {
      const a = values(size(c.a), 3 + i);
      const b = values(size(c.b), 7 + i);
      const batch = c.a.length === 3 ? (c.a[0] as number) : 1;
      const [ar, ac] = c.a.slice(-2) as [number, number];
      const [br, bc] = c.b.slice(-2) as [number, number];
      const [m, k] = c.ta ? [ac, ar] : [ar, ac];
      const nOut = c.tb ? br : bc;
      const expected = new Float64Array(batch * m * nOut);
      for (let t = 0; t < batch; t++) {
        for (let r = 0; r < m; r++) {
          for (let q = 0; q < nOut; q++) {
            let acc = 0;
            for (let j = 0; j < k; j++) {
              const av = c.ta ? a[t * ar * ac + j * ac + r] : a[t * ar * ac + r * ac + j];
              const bv = c.tb ? b[t * br * bc + q * bc + j] : b[t * br * bc + j * bc + q];
              acc += (av as number) * (bv as number);
            }
            expected[(t * m + r) * nOut + q] = acc;
          }
        }
      }
      const inputs = { a: { shape: c.a, data: a }, b: { shape: c.b, data: b } };
      const attrs = { transposeA: c.ta, transposeB: c.tb };
      expectClose(await runOn('wasm', 'BatchMatMul', inputs, attrs), expected);
    });
  }

  it('keeps the output shape of the backend kernel', () => {
    const a = tf.ones([1, 4, 6]);
    const b = tf.ones([1, 5, 6]);
    const out = tf.matMul(a, b, false, true);
    expect(out.shape).toEqual([1, 4, 5]);
    tf.dispose([a, b, out]);
  });
});

describe('gradients through the wasm kernels agree with finite differences', () => {
  /** Central differences of f at a few coordinates of x (float64 arithmetic on outputs). */
  function finiteDiff(
    f: (x: tf.Tensor) => tf.Scalar,
    x: Float32Array,
    shape: number[],
    at: number[],
    eps: number,
  ) {
    return at.map((i) => {
      const plus = Float32Array.from(x);
      const minus = Float32Array.from(x);
      plus[i] = (plus[i] as number) + eps;
      minus[i] = (minus[i] as number) - eps;
      const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0] as number);
      const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0] as number);
      return (fp - fm) / (2 * eps);
    });
  }

  function checkGrad(
    f: (x: tf.Tensor) => tf.Scalar,
    x: Float32Array,
    shape: number[],
    eps: number,
  ) {
    const g = tf.tidy(() => tf.grad(f)(tf.tensor(x, shape)).dataSync());
    const at = [
      0,
      1,
      Math.floor(x.length / 3),
      Math.floor(x.length / 2),
      x.length - 2,
      x.length - 1,
    ];
    const numeric = finiteDiff(f, x, shape, at, eps);
    for (const [j, i] of at.entries()) {
      expect(g[i] as number).toBeCloseTo(numeric[j] as number, 2);
    }
  }

  it('conv2d, with respect to input and filter, stride 1 and 2', () => {
    for (const [strides, pad] of [
      [1, 'valid'],
      [2, 'same'],
    ] as const) {
      const xShape: Shape4 = [2, 8, 8, 3];
      const wShape: Shape4 = [3, 3, 3, 4];
      const x = values(size(xShape), 1);
      const w = values(size(wShape), 2);
      const yShape = tf.tidy(
        () =>
          tf.conv2d(
            tf.tensor(x, xShape) as tf.Tensor4D,
            tf.tensor(w, wShape) as tf.Tensor4D,
            strides,
            pad,
          ).shape,
      );
      const r = tf.tensor(values(size(yShape), 3), yShape);
      const viaX = (v: tf.Tensor) =>
        tf.sum(
          tf.mul(r, tf.conv2d(v as tf.Tensor4D, tf.tensor(w, wShape) as tf.Tensor4D, strides, pad)),
        ) as tf.Scalar;
      const viaW = (v: tf.Tensor) =>
        tf.sum(
          tf.mul(r, tf.conv2d(tf.tensor(x, xShape) as tf.Tensor4D, v as tf.Tensor4D, strides, pad)),
        ) as tf.Scalar;
      checkGrad(viaX, x, xShape, 1e-2);
      checkGrad(viaW, w, wShape, 1e-2);
      r.dispose();
    }
  });

  it('max pool, with well separated inputs', () => {
    const shape = [2, 6, 6, 2];
    const n = size(shape);
    // A permutation of 0..n-1 scaled so neighbours differ by 0.1 > 2 * eps.
    const x = Float32Array.from({ length: n }, (_, i) => ((i * 37) % n) * 0.1);
    const r = tf.tensor(values(n / 4, 9), [2, 3, 3, 2]);
    const f = (v: tf.Tensor) =>
      tf.sum(tf.mul(r, tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'))) as tf.Scalar;
    checkGrad(f, x, shape, 1e-2);
    r.dispose();
  });

  it('dense layer products, with respect to both operands', () => {
    const aShape = [4, 6];
    const bShape = [6, 5];
    const a = values(size(aShape), 4);
    const b = values(size(bShape), 8);
    const r = tf.tensor(values(20, 6), [4, 5]);
    checkGrad(
      (v) => tf.sum(tf.mul(r, tf.matMul(v, tf.tensor(b, bShape)))) as tf.Scalar,
      a,
      aShape,
      1e-2,
    );
    checkGrad(
      (v) => tf.sum(tf.mul(r, tf.matMul(tf.tensor(a, aShape), v))) as tf.Scalar,
      b,
      bShape,
      1e-2,
    );
    r.dispose();
  });
});

describe('no leaks inside the kernels', () => {
  it('frees every intermediate wasm buffer', () => {
    const backend = tf.backend() as BackendWasm;
    const x = tf.tensor(values(2 * 9 * 9 * 3, 1), [2, 9, 9, 3]) as tf.Tensor4D;
    const w = tf.tensor(values(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() => {
        const f = (a: tf.Tensor, b: tf.Tensor) => {
          const y = tf.maxPool(
            tf.relu(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')),
            2,
            2,
            'valid',
          );
          return tf.sum(tf.matMul(tf.reshape(y, [2, -1]), tf.ones([y.size / 2, 3]))) as tf.Scalar;
        };
        for (const g of tf.grads(f)([x, w])) g.dataSync();
      });
    step();
    const tensors = tf.memory().numTensors;
    const buffers = backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    tf.dispose([x, w]);
  });
});
