import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierFromModel } from '../../src/ml/classifier.js';
import { buildLeNet } from '../../src/ml/lenet.js';
import { fileSystemIO, loadModel, saveModel } from '../../src/ml/model-io.js';

const root = mkdtempSync(join(tmpdir(), 'model-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('model-io', () => {
  it('round-trips a LeNet with identical predictions and logits', async () => {
    const model = buildLeNet({ inputShape: [20, 20, 3], seed: 4, activation: 'tanh' });
    const dir = join(root, 'lenet');
    await saveModel(model, dir);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    // 4-byte float32 per parameter, nothing else in weights.bin.
    expect(readFileSync(join(dir, 'weights.bin')).length).toBe(4 * model.countParams());

    const back = await tfl.loadLayersModel(fileSystemIO(dir));
    const again = await loadModel(dir);
    const x = tf.randomUniform([3, 20, 20, 3], 0, 1, 'float32', 9);
    const want = await (model.predict(x) as tf.Tensor).data();
    expect(await (back.predict(x) as tf.Tensor).data()).toEqual(want);
    expect(await (again.predict(x) as tf.Tensor).data()).toEqual(want);
    const logits = await classifierFromModel(back)
      .logits(x as tf.Tensor4D)
      .data();
    expect(logits).toEqual(
      await classifierFromModel(model)
        .logits(x as tf.Tensor4D)
        .data(),
    );
    for (const m of [model, back, again]) m.dispose();
  });

  it('saving the same weights twice gives byte-identical files', async () => {
    const a = buildLeNet({ inputShape: [16, 16, 1], seed: 4 });
    const b = buildLeNet({ inputShape: [16, 16, 1], seed: 4 });
    await saveModel(a, join(root, 'a'));
    await saveModel(b, join(root, 'b'));
    for (const f of ['model.json', 'weights.bin']) {
      expect(readFileSync(join(root, 'a', f)).equals(readFileSync(join(root, 'b', f)))).toBe(true);
    }
    a.dispose();
    b.dispose();
  });

  it('replaces an existing snapshot and leaves no temp directory', async () => {
    const dir = join(root, 'replace');
    const a = buildLeNet({ inputShape: [16, 16, 1], seed: 1 });
    const b = buildLeNet({ inputShape: [16, 16, 1], seed: 2 });
    await saveModel(a, dir);
    await saveModel(b, dir);
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    const back = await loadModel(dir);
    const want = await b.getWeights()[0]?.data();
    expect(await back.getWeights()[0]?.data()).toEqual(want);
    for (const m of [a, b, back]) m.dispose();
  });

  it('names the directory when model.json is missing', async () => {
    await expect(loadModel(join(root, 'absent'))).rejects.toThrow(
      /absent.model\.json does not exist/,
    );
  });
});
