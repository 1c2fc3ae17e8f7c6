// Imports nothing that loads tfjs-layers, whose side effect registers tfjs-core's gradients:
// the attacks must load it themselves (tfjs-core's Node bundle registers no gradients).
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { fgsm } from '../../src/ml/attacks/fgsm.js';

it('FGSM differentiates without the caller loading tfjs-layers', async () => {
  await tf.setBackend('cpu');
  const w = tf.tensor2d([1, -1, -2, 2], [2, 2]);
  const classifier = {
    inputShape: [1, 2, 1] as [number, number, number],
    logits: (x: tf.Tensor4D) => tf.tidy(() => tf.matMul(tf.reshape(x, [-1, 2]), w) as tf.Tensor2D),
  };
  const x = tf.tensor4d([0.5, 0.5], [1, 1, 2, 1]);
  // Label 0: loss gradient = (p - onehot) W^T = (p0 - 1)(w00 - w01, w10 - w11) -> signs (-, +).
  const adv = await fgsm(classifier, x, { eps: 0.1, labels: [0] });
  expect(Array.from(adv.dataSync())).toEqual([Math.fround(0.4), Math.fround(0.6)]);
  tf.dispose([w, x, adv]);
});
