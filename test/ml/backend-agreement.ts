// Every attack and metric on a tiny conv net, run on whichever backend is active, and the
// comparison a second backend must pass against cpu (test/ml/attacks-wasm, webgpu).
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { carliniWagnerL2 } from '../../src/ml/attacks/cw.js';
import { fgsm } from '../../src/ml/attacks/fgsm.js';
import { pgd } from '../../src/ml/attacks/pgd.js';
import { cleverUntargeted } from '../../src/ml/metrics/clever.js';
import { empiricalRobustness } from '../../src/ml/metrics/empirical-robustness.js';
import { lossSensitivity } from '../../src/ml/metrics/loss-sensitivity.js';
import { randomImages, tinyConvNet } from './attacks-fixtures.js';

const SHAPE: [number, number, number] = [4, 4, 2];

export interface AttackMetricResults {
  /** FGSM, PGD and C&W adversarial images, flattened. */
  adv: number[][];
  /** CLEVER per image, loss sensitivity, empirical robustness. */
  metrics: number[];
}

/** Runs every attack and metric on the current backend (reads with data(), as webgpu needs). */
export async function runEveryAttackAndMetric(): Promise<AttackMetricResults> {
  const net = tinyConvNet(SHAPE, 3, 17);
  const x = randomImages(3, SHAPE, 18);
  const labels = [0, 1, 2];
  const outs = [
    await fgsm(net, x, { labels }),
    await pgd(net, x, { labels, maxIter: 3, numRandomInit: 1, seed: 4 }),
    await carliniWagnerL2(net, x, { labels, maxIter: 3, binarySearchSteps: 2, output: 'logits' }),
  ];
  const adv = await Promise.all(outs.map(async (t) => Array.from(await t.data())));
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

export function expectAgreement(got: AttackMetricResults, cpu: AttackMetricResults): void {
  for (const [i, a] of got.adv.entries()) {
    const b = cpu.adv[i] as number[];
    let close = 0;
    for (let j = 0; j < a.length; j++)
      if (Math.abs((a[j] as number) - (b[j] as number)) < 1e-4) close++;
    // A gradient coordinate near 0 may change sign between backends; nearly all must agree.
    expect(close / a.length).toBeGreaterThan(0.95);
  }
  for (const [i, v] of got.metrics.entries()) {
    const w = cpu.metrics[i] as number;
    expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(w)));
  }
}
