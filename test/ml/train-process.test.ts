/**
 * Determinism across processes: the DAG caches by content digests, so a training run in a
 * fresh process (as the executor runs stages) must write the same bytes as one here.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import { saveDatasetNpy } from '../../src/ml/data/dataset.js';
import { buildLeNet } from '../../src/ml/lenet.js';
import { Rng } from '../../src/ml/rng.js';
import { snapshotDir, trainModel } from '../../src/ml/train.js';

const root = mkdtempSync(join(tmpdir(), 'train-process-'));
const dist = fileURLToPath(new URL('../../dist/src/ml/', import.meta.url));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await initBackend('wasm');
});

const CHILD = `
const [dist, root, outDir] = process.argv.slice(1);
const { initBackend } = await import(dist + 'backend.js');
const { loadDatasetNpy } = await import(dist + 'data/dataset.js');
const { buildLeNet } = await import(dist + 'lenet.js');
const { trainModel } = await import(dist + 'train.js');
await initBackend('wasm');
const train = loadDatasetNpy(root + '/images.npy', root + '/labels.npy', 3);
await trainModel({
  model: buildLeNet({ inputShape: [16, 16, 1], seed: 8, numClasses: 3 }),
  train, epochs: 2, batchSize: 8, optimizer: { name: 'adam', learningRate: 0.003 }, seed: 4, outDir,
});
`;

describe('trainModel in a child process', () => {
  it('writes byte-identical snapshots and history', async () => {
    const rng = Rng.fromSeed(6);
    const n = 24;
    const train = {
      images: Float32Array.from({ length: n * 256 }, () => rng.next()),
      labels: Int32Array.from({ length: n }, (_, i) => i % 3),
      shape: [n, 16, 16, 1] as [number, number, number, number],
      numClasses: 3,
    };
    saveDatasetNpy(join(root, 'images.npy'), join(root, 'labels.npy'), train);
    const here = join(root, 'here');
    const model = buildLeNet({ inputShape: [16, 16, 1], seed: 8, numClasses: 3 });
    await trainModel({
      model,
      train,
      epochs: 2,
      batchSize: 8,
      optimizer: { name: 'adam', learningRate: 0.003 },
      seed: 4,
      outDir: here,
    });
    model.dispose();
    const there = join(root, 'there');
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', CHILD, dist, root, there],
      { encoding: 'utf8' },
    );
    expect(child.status, child.stderr).toBe(0);
    for (const f of ['model.json', 'weights.bin']) {
      const a = readFileSync(join(snapshotDir(here, 2), f));
      expect(a.equals(readFileSync(join(snapshotDir(there, 2), f)))).toBe(true);
    }
    expect(readFileSync(join(here, 'history.json'), 'utf8')).toBe(
      readFileSync(join(there, 'history.json'), 'utf8'),
    );
  });
});
