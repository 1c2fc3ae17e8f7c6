import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import type { ImageDataset } from '../../src/ml/data/dataset.js';
import { buildLeNet } from '../../src/ml/lenet.js';
import { saveModel } from '../../src/ml/model-io.js';
import type { OptimizerConfig } from '../../src/ml/optimizers.js';
import { Rng } from '../../src/ml/rng.js';
import {
  type EpochRecord,
  HISTORY_JSON,
  snapshotDir,
  type TrainOptions,
  trainModel,
} from '../../src/ml/train.js';

const root = mkdtempSync(join(tmpdir(), 'train-'));
let dirs = 0;
const freshDir = () => join(root, `run${dirs++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Two classes a small CNN separates easily: class 1 has a bright 6x6 square in the top-left
 * quadrant, class 0 in the bottom-right; noise everywhere.
 */
function squares(n: number, seed: number): ImageDataset {
  const rng = Rng.fromSeed(seed);
  const images = new Float32Array(n * 16 * 16);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % 2;
    labels[i] = y;
    const off = y === 1 ? 1 : 9;
    for (let r = 0; r < 16; r++) {
      for (let c = 0; c < 16; c++) {
        const inSquare = r >= off && r < off + 6 && c >= off && c < off + 6;
        images[i * 256 + r * 16 + c] = inSquare ? 0.7 + 0.3 * rng.next() : 0.3 * rng.next();
      }
    }
  }
  return { images, labels, shape: [n, 16, 16, 1], numClasses: 2 };
}

const train = squares(40, 1);
const val = squares(16, 2);

function options(outDir: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    model: buildLeNet({ inputShape: [16, 16, 1], seed: 5, numClasses: 2 }),
    train,
    val,
    epochs: 3,
    batchSize: 8,
    optimizer: { name: 'adam', learningRate: 0.005 },
    seed: 11,
    outDir,
    ...extra,
  };
}

const bytes = (dir: string, epoch: number) =>
  readFileSync(join(snapshotDir(dir, epoch), 'weights.bin'));

describe.each(['cpu', 'wasm'] as const)('trainModel on %s', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  it('learns an easy task and writes snapshots and history per epoch', async () => {
    const out = freshDir();
    const o = options(out, { epochs: 6 });
    const seen: EpochRecord[] = [];
    let batchCalls = 0;
    const result = await trainModel({
      ...o,
      onBatch: (p) => {
        batchCalls++;
        expect(p.batches).toBe(5);
      },
      onEpoch: (r) => seen.push(r),
    });
    expect(batchCalls).toBe(6 * 5);
    expect(seen).toEqual(result.history);
    expect(result.resumedFromEpoch).toBe(0);
    const last = result.history[5] as EpochRecord;
    expect(last.trainAccuracy).toBeGreaterThan(0.9);
    expect(last.valAccuracy).toBeGreaterThan(0.9);
    expect(last.trainLoss).toBeLessThan((result.history[0] as EpochRecord).trainLoss);
    const history = JSON.parse(readFileSync(join(out, HISTORY_JSON), 'utf8'));
    expect(history.epochs).toEqual(result.history);
    for (let e = 1; e <= 6; e++)
      expect(existsSync(join(snapshotDir(out, e), 'model.json'))).toBe(true);
    expect(result.snapshots).toEqual([1, 2, 3, 4, 5, 6].map((e) => snapshotDir(out, e)));
    o.model.dispose();
  });

  it('is deterministic: same seeds, byte-identical snapshots; another seed differs', async () => {
    const [a, b, c] = [freshDir(), freshDir(), freshDir()];
    const ra = await trainModel(options(a, { epochs: 2 }));
    const rb = await trainModel(options(b, { epochs: 2 }));
    await trainModel(options(c, { epochs: 2, seed: 12 }));
    expect(bytes(a, 2).equals(bytes(b, 2))).toBe(true);
    expect(ra.history).toEqual(rb.history);
    expect(bytes(a, 2).equals(bytes(c, 2))).toBe(false);
  });

  it('asked for fewer epochs than finished, returns the snapshot of the last one asked for', async () => {
    const out = freshDir();
    const full = await trainModel(options(out, { epochs: 2 }));
    const o = options(out, { epochs: 1 });
    const r = await trainModel(o);
    expect(r.resumedFromEpoch).toBe(2);
    expect(r.history).toEqual(full.history.slice(0, 1));
    await saveModel(o.model, join(root, `check${dirs++}`));
    expect(readFileSync(join(root, `check${dirs - 1}`, 'weights.bin')).equals(bytes(out, 1))).toBe(
      true,
    );
    o.model.dispose();
  });

  const optimizers: OptimizerConfig[] = [
    { name: 'adam', learningRate: 0.005 },
    { name: 'sgd', learningRate: 0.05, momentum: 0.9 },
    { name: 'rmsprop', learningRate: 0.002 },
  ];
  // The pure-JS cpu backend is slow: there, one optimizer is enough to test resume.
  for (const optimizer of backend === 'cpu' ? optimizers.slice(0, 1) : optimizers) {
    it(`resumes after an abort to the same bytes as an uninterrupted run (${optimizer.name})`, async () => {
      const straight = freshDir();
      const whole = await trainModel(options(straight, { optimizer }));

      const split = freshDir();
      const first = await trainModel(options(split, { optimizer, epochs: 2 }));
      expect(first.history).toEqual(whole.history.slice(0, 2));
      // A third call is aborted in the middle of epoch 3: epoch 2 stays the resume point.
      const controller = new AbortController();
      await expect(
        trainModel({
          ...options(split, { optimizer }),
          signal: controller.signal,
          onBatch: (p) => {
            if (p.batch === 2) controller.abort();
          },
        }),
      ).rejects.toThrow(/abort/i);
      const resumed = await trainModel(options(split, { optimizer }));
      expect(resumed.resumedFromEpoch).toBe(2);
      expect(resumed.history).toEqual(whole.history);
      expect(bytes(split, 3).equals(bytes(straight, 3))).toBe(true);
      expect(
        readFileSync(join(split, HISTORY_JSON)).equals(readFileSync(join(straight, HISTORY_JSON))),
      ).toBe(true);
    });
  }

  it('removes temp files a killed run left behind', async () => {
    const out = freshDir();
    await trainModel(options(out, { epochs: 1 }));
    const stale = [
      join(out, 'snapshots', 'epoch-002.tmp-99999'),
      join(out, 'resume', 'resume.json.tmp-99999'),
    ];
    mkdirSync(stale[0] as string);
    writeFileSync(join(stale[0] as string, 'weights.bin'), 'partial');
    writeFileSync(stale[1] as string, '{');
    const r = await trainModel(options(out, { epochs: 2 }));
    expect(r.resumedFromEpoch).toBe(1);
    expect(readdirSync(join(out, 'snapshots')).sort()).toEqual(['epoch-001', 'epoch-002']);
    expect(readdirSync(join(out, 'resume')).sort()).toEqual(['optimizer-002.bin', 'resume.json']);
  });

  it('refuses to resume a directory written with other options', async () => {
    const out = freshDir();
    await trainModel(options(out, { epochs: 1 }));
    await expect(trainModel(options(out, { batchSize: 4 }))).rejects.toThrow(/other options/);
  });

  it('keeps the number of live tensors flat across epochs', async () => {
    const counts: number[] = [];
    const o = options(freshDir(), { epochs: 3 });
    await trainModel({ ...o, onEpoch: () => counts.push(tf.memory().numTensors) });
    expect(counts).toHaveLength(3);
    expect(counts[2]).toBe(counts[0]);
    o.model.dispose();
  });
});
