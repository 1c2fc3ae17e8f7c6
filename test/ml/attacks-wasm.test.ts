// The wasm backend lacks some kernels the pure-JS one has (e.g. UnsortedSegmentSum, the
// gradient of gather): every attack and metric must run on it, and agree with cpu.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lossGradient } from '../../src/ml/attacks/common.js';
import { fgsm } from '../../src/ml/attacks/fgsm.js';
import { pgd } from '../../src/ml/attacks/pgd.js';
import { initBackend } from '../../src/ml/backend.js';
import { linearFrom } from './attacks-fixtures.js';
import {
  type AttackMetricResults,
  expectAgreement,
  runEveryAttackAndMetric,
} from './backend-agreement.js';

describe('wasm backend', () => {
  let cpu: AttackMetricResults;
  beforeAll(async () => {
    await initBackend('cpu');
    cpu = await runEveryAttackAndMetric();
    await initBackend('wasm');
  });
  afterAll(async () => {
    await initBackend('cpu');
  });

  it('runs every attack and metric, and agrees with cpu', async () => {
    expect(tf.getBackend()).toBe('wasm');
    expectAgreement(await runEveryAttackAndMetric(), cpu);
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
