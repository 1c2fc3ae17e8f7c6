/**
 * Backend selection (argument, ADVROB_BACKEND, automatic order, absent optional packages),
 * the doctor report, and that training a LeNet on wasm with the project kernels leaks
 * neither tensors nor wasm buffers.
 */
import { createRequire } from 'node:module';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKEND_CHOICES, initBackend, parseBackendChoice } from '../../src/ml/backend.js';
import { doctor, formatBackendReport } from '../../src/ml/doctor.js';
import { describeAdapter, formatAdapter } from '../../src/ml/webgpu.js';

const require = createRequire(import.meta.url);
const installed = (pkg: string) => {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

afterEach(() => {
  delete process.env.ADVROB_BACKEND;
});

describe('parseBackendChoice', () => {
  it('accepts names and aliases, treats auto/empty as no preference', () => {
    expect(parseBackendChoice('wasm')).toBe('wasm');
    expect(parseBackendChoice(' CPU ')).toBe('cpu');
    expect(parseBackendChoice('node')).toBe('tensorflow');
    expect(parseBackendChoice('tfjs-node-gpu')).toBe('tensorflow-gpu');
    expect(parseBackendChoice('WebGPU')).toBe('webgpu');
    expect(parseBackendChoice('auto')).toBeUndefined();
    expect(parseBackendChoice('')).toBeUndefined();
    expect(parseBackendChoice(undefined)).toBeUndefined();
  });

  it('rejects unknown names and lists the valid ones', () => {
    expect(() => parseBackendChoice('webgl')).toThrow(/unknown backend 'webgl'.*wasm/);
  });
});

describe('describeAdapter', () => {
  it('tells a software adapter from a hardware one', () => {
    const lavapipe = describeAdapter({
      info: {
        vendor: 'mesa',
        architecture: 'software',
        device: 'llvmpipe-llvm-15',
        description: 'llvmpipe: Mesa 25.0.7',
        isFallbackAdapter: true,
      },
    });
    expect(lavapipe.software).toBe(true);
    expect(formatAdapter(lavapipe)).toBe(
      'llvmpipe: Mesa 25.0.7 (vendor mesa, architecture software), a software (CPU) adapter',
    );
    // Older Dawn builds leave isFallbackAdapter out: the device name still says llvmpipe.
    expect(describeAdapter({ info: { vendor: 'mesa', device: 'llvmpipe' } }).software).toBe(true);
    const h200 = describeAdapter({
      info: { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200' },
    });
    expect(h200.software).toBe(false);
    expect(formatAdapter(h200)).toBe(
      'NVIDIA H200 (vendor nvidia, architecture hopper), a hardware adapter',
    );
    expect(formatAdapter(describeAdapter({}))).toBe(
      'unnamed adapter (vendor unknown vendor, architecture unknown architecture), a hardware adapter',
    );
  });
});

describe('initBackend', () => {
  it('gives wasm with the SIMD binary and the project kernels', async () => {
    const info = await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info).toMatchObject({ name: 'wasm', choice: 'wasm', source: 'argument' });
    expect(info.wasm?.simd).toBe(true);
    expect(info.wasm?.binary).toBe('tfjs-backend-wasm-simd.wasm');
    expect(info.customKernels).toEqual(
      expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']),
    );
  });

  it('is idempotent', async () => {
    const a = await initBackend('wasm');
    const b = await initBackend('wasm');
    expect(b).toBe(a);
  });

  it('follows ADVROB_BACKEND, and switches back when asked again', async () => {
    process.env.ADVROB_BACKEND = 'cpu';
    const cpu = await initBackend();
    expect(cpu).toMatchObject({ name: 'cpu', source: 'env', customKernels: [] });
    expect(tf.getBackend()).toBe('cpu');
    await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('records why each better candidate is absent when choosing automatically', async () => {
    const info = await initBackend();
    expect(info.source).toBe('auto');
    expect(info.attempts.map((a) => a.choice)).toEqual([...BACKEND_CHOICES]);
    for (const a of info.attempts) {
      if (a.ok) expect(a.choice).toBe(info.choice);
      else expect(a.reason).toMatch(/\S/);
    }
    if (!installed('@tensorflow/tfjs-node')) {
      const native = info.attempts.find((a) => a.choice === 'tensorflow');
      expect(native?.reason).toMatch(/not installed/);
      expect(info.name).toBe('wasm');
    }
    await initBackend('wasm');
  });

  it.skipIf(installed('@tensorflow/tfjs-node'))(
    'fails, rather than falls back, when an absent backend is named',
    async () => {
      await expect(initBackend('tensorflow')).rejects.toThrow(
        /backend 'tensorflow' \(from argument\).*not installed/,
      );
      expect(tf.getBackend()).toBe('wasm');
    },
  );
});

describe('doctor', () => {
  it('reports the active backend, SIMD, threads and the absent candidates', async () => {
    const report = await doctor();
    const info = await initBackend();
    expect(report).toBe(formatBackendReport(info));
    expect(report).toMatch(/^ML backend: /);
    for (const a of info.attempts) expect(report).toContain(a.package);
    if (info.name === 'wasm') {
      expect(report).toMatch(/SIMD yes, threads 1/);
      expect(report).toContain('Conv2DBackpropFilter');
    }
    await initBackend('wasm');
  });
});

describe('training on wasm leaks nothing', () => {
  function lenet(): tfl.Sequential {
    const m = tfl.sequential();
    m.add(
      tfl.layers.conv2d({ inputShape: [16, 16, 3], filters: 6, kernelSize: 5, activation: 'relu' }),
    );
    m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu', padding: 'same' }));
    m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tfl.layers.flatten());
    m.add(tfl.layers.dense({ units: 12, activation: 'relu' }));
    m.add(tfl.layers.dense({ units: 10 }));
    return m;
  }

  function counts() {
    return { tensors: tf.memory().numTensors, buffers: (tf.backend() as BackendWasm).numDataIds() };
  }

  it('keeps tensors and wasm buffers flat over optimizer steps', async () => {
    await initBackend('wasm');
    const model = lenet();
    const opt = tf.train.adam(1e-3);
    const x = tf.randomUniform([8, 16, 16, 3], 0, 1, 'float32', 1);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10));
    const step = () => {
      const loss = opt.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(
            y,
            model.apply(x, { training: true }) as tf.Tensor,
          ) as tf.Scalar,
        true,
      );
      loss?.dispose();
    };
    step();
    const before = counts();
    const firstLoss = tf.tidy(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor).dataSync()[0],
    );
    for (let i = 0; i < 20; i++) step();
    expect(counts()).toEqual(before);
    const lastLoss = tf.tidy(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor).dataSync()[0],
    );
    expect(lastLoss).toBeLessThan(firstLoss as number);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it('keeps tensors and wasm buffers flat over model.fit epochs', async () => {
    await initBackend('wasm');
    const model = lenet();
    model.compile({
      optimizer: tf.train.adam(1e-3),
      loss: (yTrue: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, logits),
    });
    const x = tf.randomUniform([16, 16, 16, 3], 0, 1, 'float32', 2);
    const y = tf.tidy(() =>
      tf.oneHot(
        tf.tensor1d(
          [...Array(16).keys()].map((i) => i % 10),
          'int32',
        ),
        10,
      ),
    );
    await model.fit(x, y, { epochs: 1, batchSize: 8, verbose: 0 });
    const before = counts();
    await model.fit(x, y, { epochs: 3, batchSize: 8, verbose: 0 });
    expect(counts()).toEqual(before);
    tf.dispose([x, y]);
    model.dispose();
  });
});
