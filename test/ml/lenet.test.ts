import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifierFromModel, outputOf } from '../../src/ml/classifier.js';
import { buildLeNet } from '../../src/ml/lenet.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function weightBytes(model: { getWeights(): tf.Tensor[] }): Promise<Buffer> {
  const parts = await Promise.all(model.getWeights().map((w) => w.data()));
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

describe('buildLeNet', () => {
  it('has the paper architecture for 32x32x3', () => {
    const m = buildLeNet({ inputShape: [32, 32, 3], seed: 1 });
    const shapes = m.layers.map((l) => [l.name, l.outputShape]);
    expect(shapes).toEqual([
      ['conv1', [null, 28, 28, 6]],
      ['pool1', [null, 14, 14, 6]],
      ['conv2', [null, 10, 10, 16]],
      ['pool2', [null, 5, 5, 16]],
      ['flatten', [null, 400]],
      ['fc1', [null, 120]],
      ['fc2', [null, 84]],
      ['logits', [null, 10]],
      ['probabilities', [null, 10]],
    ]);
    // 456 + 2416 + 48120 + 10164 + 850, counted by hand from the layer shapes.
    expect(m.countParams()).toBe(62006);
    m.dispose();
  });

  it('accepts 28x28x1 and 96x96x3 and rejects inputs that vanish', () => {
    const a = buildLeNet({ inputShape: [28, 28, 1], seed: 1 });
    expect(a.layers[4]?.outputShape).toEqual([null, 256]);
    const b = buildLeNet({ inputShape: [96, 96, 3], seed: 1 });
    expect(b.layers[4]?.outputShape).toEqual([null, 21 * 21 * 16]);
    a.dispose();
    b.dispose();
    expect(() => buildLeNet({ inputShape: [12, 12, 1], seed: 1 })).toThrow(/too small/);
    const c = buildLeNet({ inputShape: [12, 12, 1], seed: 1, padding: 'same' });
    expect(c.layers[4]?.outputShape).toEqual([null, 3 * 3 * 16]);
    c.dispose();
  });

  it('gives byte-identical weights for the same seed and different ones otherwise', async () => {
    const a = buildLeNet({ inputShape: [16, 16, 1], seed: 7 });
    const b = buildLeNet({ inputShape: [16, 16, 1], seed: 7 });
    const c = buildLeNet({ inputShape: [16, 16, 1], seed: 8 });
    const [ba, bb, bc] = await Promise.all([weightBytes(a), weightBytes(b), weightBytes(c)]);
    expect(ba.equals(bb)).toBe(true);
    expect(ba.equals(bc)).toBe(false);
    // Glorot uniform bound for conv1: sqrt(6 / (fanIn + fanOut)) with fan = 25*1 and 25*6.
    const k = (await a.getLayer('conv1').getWeights()[0]?.data()) as Float32Array;
    const limit = Math.sqrt(6 / (25 + 150));
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(limit * 0.8);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('classifierFromModel', () => {
  it('exposes logits that the model turns into its softmax output', async () => {
    const m = buildLeNet({ inputShape: [16, 16, 1], seed: 3 });
    const c = classifierFromModel(m);
    expect(c.inputShape).toEqual([16, 16, 1]);
    const x = tf.randomUniform([4, 16, 16, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const logits = (await c.logits(x).array()) as number[][];
    const probs = (await (m.predict(x) as tf.Tensor).array()) as number[][];
    const viaOutputOf = (await outputOf(c, x, 'probabilities').array()) as number[][];
    for (let i = 0; i < 4; i++) {
      const row = logits[i] as number[];
      const max = Math.max(...row);
      const exps = row.map((v) => Math.exp(v - max));
      const sum = exps.reduce((s, v) => s + v, 0);
      for (let j = 0; j < 10; j++) {
        expect(probs[i]?.[j]).toBeCloseTo((exps[j] as number) / sum, 6);
        expect(viaOutputOf[i]?.[j]).toBeCloseTo((exps[j] as number) / sum, 6);
      }
    }
    expect(await outputOf(c, x, 'logits').array()).toEqual(logits);
    m.dispose();
  });

  it('shares weights with the model', async () => {
    const m = buildLeNet({ inputShape: [16, 16, 1], seed: 3 });
    const c = classifierFromModel(m);
    const x = tf.ones([1, 16, 16, 1]) as tf.Tensor4D;
    const before = await c.logits(x).data();
    const bias = m.getLayer('logits').getWeights()[1] as tf.Tensor;
    m.getLayer('logits').setWeights([
      m.getLayer('logits').getWeights()[0] as tf.Tensor,
      tf.add(bias, tf.onesLike(bias)),
    ]);
    const after = await c.logits(x).data();
    for (let j = 0; j < 10; j++) {
      expect(after[j]).toBeCloseTo((before[j] as number) + 1, 5);
    }
    m.dispose();
  });

  it('names the missing layer when a model has no logits', () => {
    const m = buildLeNet({ inputShape: [16, 16, 1], seed: 3 });
    expect(() => classifierFromModel(m, 'nope')).toThrow(/no layer named 'nope'/);
    m.dispose();
  });
});
