// The wasm backend lacks some kernels the pure-JS one has (e.g. UnsortedSegmentSum, the
// gradient of gather): every attack and metric must run on it, and agree with cpu.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lossGradient } from '../../src/ml/attacks/common.js';
import { carliniWagnerL2 } from '../../src/ml/attacks/cw.js';
import { fgsm } from '../../src/ml/attacks/fgsm.js';
import { pgd } from '../../src/ml/attacks/pgd.js';
import { initBackend } from '../../src/ml/backend.js';
import { cleverUntargeted } from '../../src/ml/metrics/clever.js';
import { empiricalRobustness } from '../../src/ml/metrics/empirical-robustness.js';
import { lossSensitivity } from '../../src/ml/metrics/loss-sensitivity.js';
import { linearFrom, randomImages, tinyConvNet } from './attacks-fixtures.js';

const SHAPE: [number, number, number] = [4, 4, 2];

/** Runs every attack and metric on the current backend. */
async function runAll(): Promise<{ adv: number[][]; metrics: number[] }> {
  const net = tinyConvNet(SHAPE, 3, 17);
  const x = randomImages(3, SHAPE, 18);
  const labels = [0, 1, 2];
  const outs = [
    await fgsm(net, x, { labels }),
    await pgd(net, x, { labels, maxIter: 3, numRandomInit: 1, seed: 4 }),
    await carliniWagnerL2(net, x, { labels, maxIter: 3, binarySearchSteps: 2, output: 'logits' }),
  ];
  const adv = outs.map((t) => Array.from(t.dataSync()));
  const clever = await cleverUntargeted(net, x, {
    nbBatches: 5,
    batchSize: 4,
    radius: 1,
    norm: 2,
    seed: 2,
  });
  const ls = await lossSensitivity(net, x, labels);
  const er = await empiricalRobustness(net, x, { eps: 1, epsStep: 0.1 });
  tf.dispose([...outs, x]);
  net.dispose();
  return { adv, metrics: [...clever.map((c) => c.score), ls, er.value] };
}

describe('wasm backend', () => {
  let cpu: { adv: number[][]; metrics: number[] };
  beforeAll(async () => {
    await initBackend('cpu');
    cpu = await runAll();
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('runs every attack and metric, and agrees with cpu', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const wasm = await runAll();
    for (const [i, a] of wasm.adv.entries()) {
      const b = cpu.adv[i] as number[];
      let close = 0;
      for (let j = 0; j < a.length; j++)
        if (Math.abs((a[j] as number) - (b[j] as number)) < 1e-4) close++;
      // A gradient coordinate near 0 may change sign between backends; nearly all must agree.
      expect(close / a.length).toBeGreaterThan(0.95);
    }
    for (const [i, v] of wasm.metrics.entries()) {
      const w = cpu.metrics[i] as number;
      expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(w)));
    }
  });

  it('FGSM and PGD move every pixel of an image the model is very sure of', async () => {
    // A bias of 30 on the true class puts the other classes' softmax near e^-30, so the loss
    // gradient is ~1e-13 in every pixel: sign() must still give +-1, or the image is not
    // attacked at all (what the backend's own Sign kernel did).
    const shape: [number, number, number] = [3, 3, 1];
    const w = Float64Array.from({ length: 9 * 2 }, (_, i) => ((i * 7) % 5) / 5 - 0.4 + 0.03 * i);
    const net = linearFrom(shape, 2, w, Float64Array.from([30, 0]));
    const x = tf.tensor4d(
      Float32Array.from({ length: 9 }, (_, i) => 0.3 + 0.04 * i),
      [1, ...shape],
    );
    const g = lossGradient(net, x, Int32Array.of(0)).dataSync();
    expect(Math.max(...Array.from(g, Math.abs))).toBeLessThan(1e-7);
    expect(Array.from(g).every((v) => v !== 0)).toBe(true);
    for (const adv of [
      await fgsm(net, x, { labels: [0], eps: 0.1 }),
      await pgd(net, x, { labels: [0], eps: 0.1, epsStep: 0.1, maxIter: 1 }),
    ]) {
      const moved = Array.from(tf.sub(adv, x).dataSync(), Math.abs);
      for (const m of moved) expect(m).toBeCloseTo(0.1, 6);
      adv.dispose();
    }
    x.dispose();
    net.dispose();
  });
});
