/**
 * The webgpu backend (tfjs-backend-webgpu on Dawn) against the cpu backend: the kernels the
 * paper's stages use, on edge values and on ties; conv and matmul gradients; training a
 * LeNet; every attack and metric. Everything reads with `await data()` (webgpu's dataSync
 * needs an OffscreenCanvas), so running here also checks that no code path reads synchronously.
 * On lavapipe (CI) this is correct but slow, so shapes stay small.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import { formatBackendReport } from '../../src/ml/doctor.js';
import { buildLeNet } from '../../src/ml/lenet.js';
import { Rng } from '../../src/ml/rng.js';
import { trainModel } from '../../src/ml/train.js';
import { webgpuUnavailable } from '../webgpu-env.js';
import {
  type AttackMetricResults,
  expectAgreement,
  runEveryAttackAndMetric,
} from './backend-agreement.js';

type Backend = 'cpu' | 'webgpu';

/** Runs `make` on cpu and on webgpu and returns both results as arrays. */
async function onBoth(make: () => tf.Tensor | tf.Tensor[]): Promise<Record<Backend, number[]>> {
  const out = {} as Record<Backend, number[]>;
  for (const b of ['cpu', 'webgpu'] as const) {
    await initBackend(b);
    const t = tf.tidy(make);
    const ts = Array.isArray(t) ? t : [t];
    out[b] = (await Promise.all(ts.map(async (x) => Array.from(await x.data())))).flat();
    tf.dispose(ts);
  }
  return out;
}

/** Same NaN and infinities; finite values within rel * max(1, |cpu|). */
function expectClose(got: number[], want: number[], rel: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (const [i, w] of want.entries()) {
    const g = got[i] as number;
    if (!Number.isFinite(w)) expect(g, `${what}[${i}]`).toBe(w);
    else
      expect(Math.abs(g - w), `${what}[${i}]: ${g} vs ${w}`).toBeLessThanOrEqual(
        rel * Math.max(1, Math.abs(w)),
      );
  }
}

function random(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = Rng.fromSeed(seed);
  const n = shape.reduce((a, v) => a * v, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => scale * (2 * rng.next() - 1)),
    shape,
  );
}

const EDGE = [0, -0, 1e-30, -1e-30, 1e-7, -2e-8, 0.5, -0.5, 3, -3, 20, -20, 100, -100, Number.NaN];

/** Element-wise and reduction kernels the stages use (training, attacks, metrics). */
const ELEMENTWISE: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  sign: (x) => tf.sign(x),
  abs: (x) => tf.abs(x),
  neg: (x) => tf.neg(x),
  square: (x) => tf.square(x),
  sqrt: (x) => tf.sqrt(tf.abs(x)),
  exp: (x) => tf.exp(tf.clipByValue(x, -80, 80)),
  log: (x) => tf.log(tf.abs(x)),
  tanh: (x) => tf.tanh(x),
  atanh: (x) => tf.atanh(tf.mul(tf.tanh(x), 0.999999)),
  relu: (x) => tf.relu(x),
  step: (x) => tf.step(x),
  sigmoid: (x) => tf.sigmoid(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  clip: (x) => tf.clipByValue(x, 0, 1),
  greater: (x) => tf.cast(tf.greater(x, 0), 'float32'),
  equal: (x) => tf.cast(tf.equal(x, tf.reverse(x)), 'float32'),
  div: (x) => tf.div(x, tf.reverse(x)),
  softmax: (x) => tf.softmax(tf.reshape(tf.slice(x, 0, 12), [3, 4])),
  argMax: (x) => tf.cast(tf.argMax(tf.reshape(tf.slice(x, 0, 12), [4, 3]), 1), 'float32'),
  max: (x) => tf.max(tf.reshape(tf.slice(x, 0, 14), [2, 7]), 1),
  sum: (x) => tf.sum(tf.reshape(tf.slice(x, 0, 14), [2, 7]), 1),
};

describe.skipIf(webgpuUnavailable !== undefined)('webgpu backend', () => {
  let cpu: AttackMetricResults;
  beforeAll(async () => {
    await initBackend('cpu');
    cpu = await runEveryAttackAndMetric();
  });
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('starts on the adapter that doctor names', async () => {
    const info = await initBackend('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.customKernels).toEqual(['MaxPoolGrad']);
    expect(info.adapter?.vendor).toMatch(/\S/);
    expect(formatBackendReport(info)).toMatch(
      /adapter: .*\(vendor \S+, architecture .+\), a (software \(CPU\)|hardware) adapter/,
    );
  });

  it('element-wise and reduction kernels agree with cpu on edge values', async () => {
    for (const [name, op] of Object.entries(ELEMENTWISE)) {
      const r = await onBoth(() => op(tf.tensor1d(EDGE)));
      expectClose(r.webgpu, r.cpu, 1e-6, name);
    }
  });

  it('the max-pool gradient goes to the first maximum of each window, as on cpu', async () => {
    const rng = Rng.fromSeed(3);
    const cases: [
      [number, number, number, number],
      number | [number, number],
      number | [number, number],
      'same' | 'valid',
    ][] = [
      [[2, 8, 8, 3], 2, 2, 'valid'],
      [[1, 5, 5, 2], 3, 1, 'same'],
      [[2, 7, 6, 1], 2, 2, 'same'],
      [[1, 9, 9, 2], 3, 2, 'valid'],
      [[2, 5, 7, 2], [2, 3], [1, 2], 'same'],
    ];
    for (const [shape, f, s, pad] of cases) {
      // Values in {0, 1, 2}: most windows hold ties, as after a ReLU.
      const n = shape.reduce((a, v) => a * v, 1);
      const values = Float32Array.from({ length: n }, () =>
        Math.max(0, Math.floor(rng.next() * 5) - 2),
      );
      const r = await onBoth(() => {
        const x = tf.tensor(values, shape) as tf.Tensor4D;
        const y = tf.maxPool(x, f, s, pad);
        const w = tf.reshape(tf.add(tf.range(0, y.size), 1), y.shape);
        return tf.grad((v) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, f, s, pad), w)))(x);
      });
      expect(r.webgpu, `${shape} f=${f} s=${s} ${pad}`).toEqual(r.cpu);
    }
  });

  it('conv2d, matmul and the softmax cross-entropy, and their gradients, agree with cpu', async () => {
    const r = await onBoth(() => {
      const x = random([2, 12, 12, 3], 1);
      const k = random([5, 5, 3, 6], 2, 0.3);
      const w = random([4 * 4 * 6, 10], 3, 0.2);
      const y = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
      const loss = (xv: tf.Tensor, kv: tf.Tensor, wv: tf.Tensor) => {
        const a = tf.maxPool(
          tf.relu(tf.conv2d(xv as tf.Tensor4D, kv as tf.Tensor4D, 1, 'valid')),
          2,
          2,
          'valid',
        );
        const logits = tf.matMul(tf.reshape(a, [2, -1]), wv as tf.Tensor2D);
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      };
      return [loss(x, k, w), ...tf.grads(loss)([x, k, w])];
    });
    expectClose(r.webgpu, r.cpu, 1e-4, 'loss and gradients');
  });

  it('trains a LeNet to the same losses and weights as on cpu', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgpu-train-'));
    const rng = Rng.fromSeed(9);
    const n = 24;
    const ds = {
      images: Float32Array.from({ length: n * 16 * 16 }, () => rng.next()),
      labels: Int32Array.from({ length: n }, (_, i) => i % 2),
      shape: [n, 16, 16, 1] as [number, number, number, number],
      numClasses: 2,
    };
    const results: Record<Backend, number[]> = { cpu: [], webgpu: [] };
    try {
      for (const b of ['cpu', 'webgpu'] as const) {
        await initBackend(b);
        const model = buildLeNet({ inputShape: [16, 16, 1], seed: 5, numClasses: 2 });
        const r = await trainModel({
          model,
          train: ds,
          val: ds,
          epochs: 2,
          optimizer: { name: 'adam', learningRate: 0.01 },
          batchSize: 8,
          seed: 1,
          outDir: join(dir, b),
        });
        const weights = await Promise.all(
          model.getWeights().map(async (w) => Array.from(await w.data())),
        );
        results[b] = [
          ...r.history.flatMap((e) => [e.trainLoss, e.valLoss ?? Number.NaN]),
          ...weights.flat(),
        ];
        model.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expectClose(results.webgpu, results.cpu, 1e-4, 'losses and weights');
  });

  it('runs every attack and metric, and agrees with cpu', async () => {
    await initBackend('webgpu');
    expectAgreement(await runEveryAttackAndMetric(), cpu);
  });
});

describe.skipIf(webgpuUnavailable !== undefined || process.platform !== 'linux')(
  'webgpu without a driver',
  () => {
    it('says there is no Vulkan driver', () => {
      const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
      const r = spawnSync(process.execPath, [cli, 'doctor'], {
        encoding: 'utf8',
        env: { ...process.env, ADVROB_BACKEND: 'webgpu', VK_DRIVER_FILES: '/nonexistent/icd.json' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(
        /backend 'webgpu' .* no Vulkan driver \(VK_DRIVER_FILES names no existing ICD manifest\)/,
      );
    });
  },
);
