import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createOptimizer, type OptimizerConfig } from '../../src/ml/optimizers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Keras' update rules written out per element in float64. */
function reference(config: OptimizerConfig, x0: number[], grads: number[][]): number[] {
  const x = [...x0];
  const m = x.map(() => 0);
  const v = x.map(() => 0);
  const lr = config.learningRate;
  grads.forEach((g, step) => {
    const t = step + 1;
    for (let i = 0; i < x.length; i++) {
      const gi = g[i] as number;
      if (config.name === 'adam') {
        m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
        v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
        const lrT = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
        x[i] = (x[i] as number) - (lrT * (m[i] as number)) / (Math.sqrt(v[i] as number) + 1e-7);
      } else if (config.name === 'sgd') {
        const mom = config.momentum ?? 0;
        m[i] = mom * (m[i] as number) - lr * gi;
        x[i] = (x[i] as number) + (m[i] as number);
      } else {
        v[i] = 0.9 * (v[i] as number) + 0.1 * gi * gi;
        x[i] = (x[i] as number) - (lr * gi) / (Math.sqrt(v[i] as number) + 1e-7);
      }
    }
  });
  return x;
}

const x0 = [0.5, -1.25, 2];
const grads = [
  [0.1, -0.3, 0.02],
  [0.4, 0.1, -0.2],
  [-0.05, 0.2, 0.7],
  [0.3, -0.6, 0.01],
];

describe('optimizers', () => {
  for (const config of [
    { name: 'adam', learningRate: 0.01 },
    { name: 'sgd', learningRate: 0.1 },
    { name: 'sgd', learningRate: 0.1, momentum: 0.9 },
    { name: 'rmsprop', learningRate: 0.01 },
  ] as OptimizerConfig[]) {
    const label = `${config.name}${config.momentum ? ' with momentum' : ''}`;

    it(`${label} follows the Keras update rule`, async () => {
      const opt = createOptimizer(config);
      const v = tf.variable(tf.tensor1d(x0));
      for (const g of grads) opt.apply([v], [tf.tensor1d(g)], ['w']);
      expect(opt.step).toBe(grads.length);
      const got = await v.data();
      const want = reference(config, x0, grads);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 6);
      opt.dispose();
    });

    it(`${label} continues exactly from exported state`, async () => {
      const a = createOptimizer(config);
      const va = tf.variable(tf.tensor1d(x0));
      for (const g of grads) a.apply([va], [tf.tensor1d(g)], ['w']);

      const b = createOptimizer(config);
      const vb = tf.variable(tf.tensor1d(x0));
      for (const g of grads.slice(0, 2)) b.apply([vb], [tf.tensor1d(g)], ['w']);
      const state = b.getState();
      const c = createOptimizer(config);
      c.setState(state);
      tf.dispose(state.slots.map((s) => s.tensor));
      b.dispose();
      for (const g of grads.slice(2)) c.apply([vb], [tf.tensor1d(g)], ['w']);
      expect(Buffer.from((await vb.data()).buffer)).toEqual(Buffer.from((await va.data()).buffer));
      a.dispose();
      c.dispose();
    });
  }

  it('rejects state from another optimizer and a non-positive learning rate', () => {
    const adam = createOptimizer({ name: 'adam', learningRate: 0.1 });
    adam.apply([tf.variable(tf.zeros([2]))], [tf.ones([2])], ['w']);
    const rms = createOptimizer({ name: 'rmsprop', learningRate: 0.1 });
    expect(() => rms.setState(adam.getState())).toThrow(/slot 'm'/);
    expect(() => createOptimizer({ name: 'sgd', learningRate: 0 })).toThrow(/learning rate/);
  });
});

describe('Adam on wasm: the fused kernel', () => {
  /** Steps of Adam on variables of 1..9 elements (SIMD tails of every length) from `seed`. */
  function run(steps: number): Float32Array[] {
    const sizes = [1, 2, 3, 4, 5, 7, 8, 9];
    let s = 7;
    const next = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      // Values across many magnitudes, zero included: ulp differences would show.
      return ((s / 2 ** 31) * 2 - 1) * 10 ** ((s % 9) - 6) * (s % 13 === 0 ? 0 : 1);
    };
    const vars = sizes.map((n) => {
      const init = tf.tensor1d(Array.from({ length: n }, next));
      const v = tf.variable(init);
      init.dispose();
      return v;
    });
    const opt = createOptimizer({ name: 'adam', learningRate: 0.01 });
    for (let t = 0; t < steps; t++) {
      tf.tidy(() => {
        const grads = sizes.map((n) => tf.tensor1d(Array.from({ length: n }, next)));
        opt.apply(
          vars,
          grads,
          sizes.map((n) => `v${n}`),
        );
      });
    }
    const out = vars.map((v) => v.dataSync() as Float32Array);
    tf.dispose(vars);
    opt.dispose();
    return out;
  }

  it('is bitwise the op-by-op update (tails of 1-3 elements included) and leaks nothing', async () => {
    const { initBackend } = await import('../../src/ml/backend.js');
    const { ADAM_UPDATE, adamUpdateConfig } = await import('../../src/ml/kernels/adam-update.js');
    await initBackend('wasm');
    try {
      expect(tf.getKernel(ADAM_UPDATE, 'wasm')).toBeDefined();
      const fused = run(5);
      tf.unregisterKernel(ADAM_UPDATE, 'wasm');
      const opByOp = run(5);
      tf.registerKernel(adamUpdateConfig);
      expect(fused.map((a) => Array.from(a))).toEqual(opByOp.map((a) => Array.from(a)));
      const counted = tf.engine().state.numTensors;
      run(1);
      expect(tf.engine().state.numTensors).toBe(counted);
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
