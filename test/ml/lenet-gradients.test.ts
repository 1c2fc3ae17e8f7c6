/**
 * Gradients of the training loss (softmax cross-entropy on the logits) computed by tfjs
 * autodiff on LeNet, against central finite differences of an independent float64 LeNet
 * forward pass written here with plain loops (which is first checked against tfjs's forward).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import { classifierFromModel, inputGradient } from '../../src/ml/classifier.js';
import { buildLeNet, type LeNetActivation } from '../../src/ml/lenet.js';

type Weights = Record<string, Float64Array>;
type Shapes = Record<string, number[]>;

interface Vol {
  h: number;
  w: number;
  c: number;
  v: Float64Array;
}

const act = (a: LeNetActivation) => (x: number) => (a === 'tanh' ? Math.tanh(x) : Math.max(0, x));

function conv(
  x: Vol,
  k: Float64Array,
  b: Float64Array,
  cout: number,
  f: (v: number) => number,
): Vol {
  const h = x.h - 4;
  const w = x.w - 4;
  const out = new Float64Array(h * w * cout);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let o = 0; o < cout; o++) {
        let s = b[o] as number;
        for (let di = 0; di < 5; di++) {
          for (let dj = 0; dj < 5; dj++) {
            for (let ci = 0; ci < x.c; ci++) {
              // Kernel layout [kh, kw, cin, cout].
              s +=
                (x.v[((i + di) * x.w + (j + dj)) * x.c + ci] as number) *
                (k[((di * 5 + dj) * x.c + ci) * cout + o] as number);
            }
          }
        }
        out[(i * w + j) * cout + o] = f(s);
      }
    }
  }
  return { h, w, c: cout, v: out };
}

function pool(x: Vol): Vol {
  const h = Math.floor(x.h / 2);
  const w = Math.floor(x.w / 2);
  const out = new Float64Array(h * w * x.c);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < x.c; c++) {
        let m = -Infinity;
        for (const [di, dj] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ] as const) {
          m = Math.max(m, x.v[((2 * i + di) * x.w + (2 * j + dj)) * x.c + c] as number);
        }
        out[(i * w + j) * x.c + c] = m;
      }
    }
  }
  return { h, w, c: x.c, v: out };
}

function dense(x: Float64Array, k: Float64Array, b: Float64Array, f: (v: number) => number) {
  const out = new Float64Array(b.length);
  for (let o = 0; o < b.length; o++) {
    let s = b[o] as number;
    for (let i = 0; i < x.length; i++) s += (x[i] as number) * (k[i * b.length + o] as number);
    out[o] = f(s);
  }
  return out;
}

function naiveLogits(img: Float64Array, shape: number[], W: Weights, a: LeNetActivation) {
  const f = act(a);
  const id = (v: number) => v;
  let x: Vol = { h: shape[0] as number, w: shape[1] as number, c: shape[2] as number, v: img };
  x = pool(conv(x, W['conv1/kernel'] as Float64Array, W['conv1/bias'] as Float64Array, 6, f));
  x = pool(conv(x, W['conv2/kernel'] as Float64Array, W['conv2/bias'] as Float64Array, 16, f));
  let v = dense(x.v, W['fc1/kernel'] as Float64Array, W['fc1/bias'] as Float64Array, f);
  v = dense(v, W['fc2/kernel'] as Float64Array, W['fc2/bias'] as Float64Array, f);
  return dense(v, W['logits/kernel'] as Float64Array, W['logits/bias'] as Float64Array, id);
}

function naiveLoss(img: Float64Array, shape: number[], W: Weights, a: LeNetActivation, y: number) {
  const z = naiveLogits(img, shape, W, a);
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - (z[y] as number);
}

async function setup(activation: LeNetActivation, inputShape: [number, number, number]) {
  const model = buildLeNet({ inputShape, seed: 21, activation });
  const W: Weights = {};
  const shapes: Shapes = {};
  for (const w of model.weights) {
    // Non-zero biases so that bias paths are exercised too.
    const t = w.read();
    const isBias = w.originalName.endsWith('bias');
    const values = isBias
      ? Float32Array.from({ length: t.size }, (_, i) => 0.05 * Math.sin(i + 1))
      : ((await t.data()) as Float32Array);
    if (isBias) w.write(tf.tensor(values, t.shape));
    W[w.originalName] = Float64Array.from(values);
    shapes[w.originalName] = t.shape;
  }
  const n = inputShape[0] * inputShape[1] * inputShape[2];
  const img32 = Float32Array.from({ length: n }, (_, i) => 0.5 + 0.45 * Math.sin(1.7 * i + 0.3));
  return { model, W, img32, img64: Float64Array.from(img32) };
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): void {
  expect(got.length).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i] as number));
  expect(scale).toBeGreaterThan(0);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs((got[i] as number) - (want[i] as number));
    if (err > rtol * scale) {
      throw new Error(`index ${i}: got ${got[i]}, want ${want[i]} (scale ${scale})`);
    }
  }
}

const H = 1e-6;

for (const [backend, activation] of [
  ['cpu', 'tanh'],
  ['cpu', 'relu'],
  ['wasm', 'tanh'],
  ['wasm', 'relu'],
] as const) {
  describe(`LeNet gradients on ${backend} (${activation}, 16x16x2)`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });

    const shape: [number, number, number] = [16, 16, 2];
    const label = 3;

    it('forward pass matches the float64 loop implementation', async () => {
      const { model, W, img32, img64 } = await setup(activation, shape);
      const c = classifierFromModel(model);
      const got = await c.logits(tf.tensor4d(img32, [1, ...shape])).data();
      expectClose(got, naiveLogits(img64, shape, W, activation), 1e-5);
      model.dispose();
    });

    it('d loss / d input matches central differences', async () => {
      const { model, W, img32, img64 } = await setup(activation, shape);
      const c = classifierFromModel(model);
      const y = tf.oneHot([label], 10);
      const g = tf.grad((x) => tf.losses.softmaxCrossEntropy(y, c.logits(x as tf.Tensor4D)))(
        tf.tensor4d(img32, [1, ...shape]),
      );
      const got = await g.data();
      const want = new Float64Array(img64.length);
      for (let i = 0; i < img64.length; i++) {
        const p = Float64Array.from(img64);
        p[i] = (img64[i] as number) + H;
        const up = naiveLoss(p, shape, W, activation, label);
        p[i] = (img64[i] as number) - H;
        want[i] = (up - naiveLoss(p, shape, W, activation, label)) / (2 * H);
      }
      expectClose(got, want, 1e-4);
      model.dispose();
    });

    it("the classifier's own input gradient matches central differences, row by row", async () => {
      const { model, W, img64 } = await setup(activation, shape);
      const c = classifierFromModel(model);
      expect(c.gradient).toBeDefined();
      // Two rows, the second the first reversed, each with its own label.
      const labels = [label, 7];
      const rows = [img64, img64.slice().reverse()];
      const x = tf.tensor4d(Float32Array.from(rows.flatMap((r) => Array.from(r))), [2, ...shape]);
      const y = tf.oneHot(labels, 10);
      const head = (z: tf.Tensor2D) => tf.sum(tf.mul(y, tf.neg(tf.logSoftmax(z)))) as tf.Scalar;
      const got = await inputGradient(c, x, head).data();
      const n = img64.length;
      for (const [r, row] of rows.entries()) {
        const want = new Float64Array(n);
        for (let i = 0; i < n; i++) {
          const p = Float64Array.from(row);
          p[i] = (row[i] as number) + H;
          const up = naiveLoss(p, shape, W, activation, labels[r] as number);
          p[i] = (row[i] as number) - H;
          want[i] = (up - naiveLoss(p, shape, W, activation, labels[r] as number)) / (2 * H);
        }
        expectClose(got.subarray(r * n, (r + 1) * n), want, 1e-4);
      }
      model.dispose();
    });

    it('d loss / d weights matches central differences', async () => {
      const { model, W, img32, img64 } = await setup(activation, shape);
      const c = classifierFromModel(model);
      const y = tf.oneHot([label], 10);
      const x = tf.tensor4d(img32, [1, ...shape]);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, c.logits(x)) as tf.Scalar,
        vars,
      );
      for (const w of model.trainableWeights) {
        const name = w.originalName;
        const g = grads[(w.read() as tf.Variable).name] as tf.Tensor;
        const got = await g.data();
        const base = W[name] as Float64Array;
        // Every entry for small tensors, an even spread of 40 entries for large ones.
        const step = Math.max(1, Math.floor(base.length / 40));
        const idx = Array.from({ length: Math.ceil(base.length / step) }, (_, k) => k * step);
        const want = idx.map((i) => {
          const probe = (delta: number) => {
            const p = Float64Array.from(base);
            p[i] = (base[i] as number) + delta;
            return naiveLoss(img64, shape, { ...W, [name]: p }, activation, label);
          };
          return (probe(H) - probe(-H)) / (2 * H);
        });
        const gotAt = idx.map((i) => got[i] as number);
        if (want.some((v) => v !== 0)) expectClose(gotAt, want, 1e-4);
        else expect(gotAt.every((v) => Math.abs(v) < 1e-7)).toBe(true);
      }
      model.dispose();
    });
  });
}

describe("the classifier's own input gradient with 'same' padding (wasm, 32x32x3)", () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('agrees with tf.grad over the logits model to float32 rounding', async () => {
    const model = buildLeNet({ inputShape: [32, 32, 3], seed: 5, padding: 'same' });
    const c = classifierFromModel(model);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const w = tf.randomNormal([3, 10], 0, 1, 'float32', 4);
    const head = (z: tf.Tensor2D) => tf.sum(tf.mul(tf.softmax(z), w)) as tf.Scalar;
    const want = await tf
      .grad((xi) => head(c.logits(xi as tf.Tensor4D)))(x)
      .data();
    expect(c.gradient).toBeDefined();
    expectClose(await inputGradient(c, x, head).data(), want, 1e-5);
    model.dispose();
  });
});
