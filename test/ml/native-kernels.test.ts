/**
 * The native kernels (native/*.cc through src/ml/kernels/native.ts) against naive float64
 * loops, on the wasm backend's heap as the pipeline runs them: forward convolutions with
 * bias and ReLU, both convolution gradients (padding, strides, dilation), and products in
 * every transposition with bias and ReLU.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import {
  nativeConv2d,
  nativeFilterGrad,
  nativeInputGrad,
  nativeMatMul,
  nativeStatus,
} from '../../src/ml/kernels/native.js';
import { expectClose as expectWithin, values } from './kernel-values.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** What scripts/build-native.mjs needs: a C++ compiler and Node's headers where it looks. */
const hasCompiler = (): boolean =>
  spawnSync(process.env.CXX ?? 'g++', ['--version']).status === 0 &&
  [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].some(
    (dir) => fs.existsSync(path.join(dir, 'node_api.h')),
  );

describe('native kernels: availability', () => {
  it('are built and active on an x64 machine with a C++ compiler and Node headers', () => {
    const expected = process.arch === 'x64' && hasCompiler() && process.env.ADVROB_NATIVE !== '0';
    expect(nativeStatus().active, nativeStatus().detail).toBe(expected);
  });
});

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  strides: [number, number];
  dilations: [number, number];
  pad: 'valid' | 'same' | tf.backend_util.ExplicitPadding;
}

const cases: Case[] = [
  { x: [2, 28, 28, 1], k: [5, 5], co: 6, strides: [1, 1], dilations: [1, 1], pad: 'valid' },
  { x: [3, 12, 12, 6], k: [5, 5], co: 16, strides: [1, 1], dilations: [1, 1], pad: 'valid' },
  { x: [2, 10, 9, 3], k: [3, 3], co: 21, strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { x: [2, 11, 11, 3], k: [5, 5], co: 9, strides: [2, 2], dilations: [1, 1], pad: 'same' },
  { x: [1, 9, 10, 2], k: [3, 2], co: 38, strides: [1, 2], dilations: [2, 1], pad: 'valid' },
  {
    x: [2, 6, 7, 5],
    k: [2, 3],
    co: 4,
    strides: [1, 1],
    dilations: [1, 1],
    pad: [
      [0, 0],
      [3, 0],
      [1, 2],
      [0, 0],
    ],
  },
];

/** Naive float64 forward pass and both gradients of y = conv2d(x, w) for upstream dy. */
const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5) =>
  expectWithin(actual, expected, tol);

function naive(
  c: Case,
  info: tf.backend_util.Conv2DInfo,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
) {
  const [n, h, wd, ci] = c.x;
  const { outHeight: oh, outWidth: ow, padInfo } = info;
  const y = new Float64Array(n * oh * ow * c.co);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let o = 0; o < c.co; o++) {
          const yi = ((b * oh + r) * ow + q) * c.co + o;
          for (let i = 0; i < c.k[0]; i++) {
            const xr = r * c.strides[0] + i * c.dilations[0] - padInfo.top;
            if (xr < 0 || xr >= h) continue;
            for (let j = 0; j < c.k[1]; j++) {
              const xc = q * c.strides[1] + j * c.dilations[1] - padInfo.left;
              if (xc < 0 || xc >= wd) continue;
              for (let d = 0; d < ci; d++) {
                const xi = ((b * h + xr) * wd + xc) * ci + d;
                const wi = ((i * c.k[1] + j) * ci + d) * c.co + o;
                y[yi] = (y[yi] as number) + (x[xi] as number) * (w[wi] as number);
                dx[xi] = (dx[xi] as number) + (dy[yi] as number) * (w[wi] as number);
                dw[wi] = (dw[wi] as number) + (dy[yi] as number) * (x[xi] as number);
              }
            }
          }
        }
  return { y, dx, dw };
}

const label = (c: Case) =>
  `x ${c.x.join('x')} k ${c.k.join('x')}x${c.co} s ${c.strides} d ${c.dilations} ${Array.isArray(c.pad) ? 'explicit' : c.pad}`;

describe.runIf(nativeStatus().active)('native convolutions match naive loops', () => {
  for (const [i, c] of cases.entries()) {
    it(label(c), () => {
      const backend = tf.backend() as BackendWasm;
      const fShape = [c.k[0], c.k[1], c.x[3], c.co] as [number, number, number, number];
      const info = tf.backend_util.computeConv2DInfo(c.x, fShape, c.strides, c.dilations, c.pad);
      const x = values(
        c.x.reduce((a, b) => a * b),
        5 + i,
      );
      const w = values(
        fShape.reduce((a, b) => a * b),
        17 + i,
      );
      const dy = values(
        info.outShape.reduce((a, b) => a * b),
        29 + i,
      );
      const bias = values(c.co, 41 + i);
      const want = naive(c, info, x, w, dy);
      const [xt, wt, dyt, bt] = [
        tf.tensor(x, c.x),
        tf.tensor(w, fShape),
        tf.tensor(dy, info.outShape),
        tf.tensor(bias),
      ];
      const read = (t: tf.TensorInfo | undefined): Float32Array => {
        expect(t).toBeDefined();
        const data = backend.readSync((t as tf.TensorInfo).dataId) as Float32Array;
        backend.disposeData((t as tf.TensorInfo).dataId);
        return data;
      };
      expectClose(read(nativeConv2d(backend, xt, wt, info)), want.y);
      const withBias = Float64Array.from(want.y, (v, j) =>
        Math.max(0, v + (bias[j % c.co] as number)),
      );
      expectClose(read(nativeConv2d(backend, xt, wt, info, bt, true)), withBias);
      expectClose(read(nativeFilterGrad(backend, xt, dyt, info)), want.dw);
      expectClose(read(nativeInputGrad(backend, dyt, wt, info)), want.dx);
      tf.dispose([xt, wt, dyt, bt]);
    });
  }

  it("runs inside tf.conv2d and its gradients, as the wasm backend's kernels", () => {
    const x = tf.tensor(values(2 * 12 * 12 * 6, 3), [2, 12, 12, 6]) as tf.Tensor4D;
    const w = tf.tensor(values(5 * 5 * 6 * 16, 4), [5, 5, 6, 16]) as tf.Tensor4D;
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(a, b, 1, 'valid')));
    const [gx, gw] = tf.grads(f as (...t: tf.Tensor[]) => tf.Tensor)([x, w]);
    const c = cases[1] as Case;
    const info = tf.backend_util.computeConv2DInfo([2, 12, 12, 6], [5, 5, 6, 16], 1, 1, 'valid');
    const xs = x.dataSync() as Float32Array;
    const ws = w.dataSync() as Float32Array;
    const y = naive({ ...c, x: [2, 12, 12, 6] }, info, xs, ws, new Float32Array(2 * 8 * 8 * 16)).y;
    const want = naive(
      { ...c, x: [2, 12, 12, 6] },
      info,
      xs,
      ws,
      Float32Array.from(y, (v) => 2 * v),
    );
    expectClose(gx?.dataSync() as Float32Array, want.dx, 1e-4);
    expectClose(gw?.dataSync() as Float32Array, want.dw, 1e-4);
    tf.dispose([x, w, gx as tf.Tensor, gw as tf.Tensor]);
  });
});

describe.runIf(nativeStatus().active)('native products match a naive loop', () => {
  const shapes: Array<{ m: number; k: number; n: number }> = [
    { m: 32, k: 256, n: 120 },
    { m: 7, k: 5, n: 3 },
    { m: 13, k: 84, n: 10 },
    { m: 1, k: 9, n: 1100 },
  ];
  for (const [i, s] of shapes.entries()) {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`${s.m}x${s.k} . ${s.k}x${s.n}, transposed a ${ta} b ${tb}, with bias and ReLU`, () => {
        const backend = tf.backend() as BackendWasm;
        const a = values(s.m * s.k, 3 + i);
        const b = values(s.k * s.n, 7 + i);
        const bias = values(s.n, 11 + i);
        const want = new Float64Array(s.m * s.n);
        for (let r = 0; r < s.m; r++)
          for (let q = 0; q < s.n; q++) {
            let acc = 0;
            for (let j = 0; j < s.k; j++)
              acc += (a[r * s.k + j] as number) * (b[j * s.n + q] as number);
            want[r * s.n + q] = acc;
          }
        const transpose = (v: Float32Array, rows: number, cols: number) =>
          Float32Array.from(
            { length: v.length },
            (_, idx) => v[(idx % rows) * cols + Math.floor(idx / rows)] as number,
          );
        const at = ta ? tf.tensor(transpose(a, s.m, s.k), [s.k, s.m]) : tf.tensor(a, [s.m, s.k]);
        const bt = tb ? tf.tensor(transpose(b, s.k, s.n), [s.n, s.k]) : tf.tensor(b, [s.k, s.n]);
        const biasT = tf.tensor(bias);
        const plain = nativeMatMul(backend, at, bt, ta, tb);
        const fused = nativeMatMul(backend, at, bt, ta, tb, biasT, true);
        expect(plain?.shape).toEqual([s.m, s.n]);
        expectClose(backend.readSync((plain as tf.TensorInfo).dataId) as Float32Array, want);
        const relu = Float64Array.from(want, (v, j) => Math.max(0, v + (bias[j % s.n] as number)));
        expectClose(backend.readSync((fused as tf.TensorInfo).dataId) as Float32Array, relu);
        backend.disposeData((plain as tf.TensorInfo).dataId);
        backend.disposeData((fused as tf.TensorInfo).dataId);
        tf.dispose([at, bt, biasT]);
      });
    }
  }
});
