/**
 * Stage kind `attack`: one attack (FGSM, PGD or C&W L2) against the selected snapshot of one
 * training run, on the test images that snapshot classifies correctly (as the paper does).
 * Writes the adversarial set as .npy with the true labels and test indices, and the
 * per-example perturbation sizes (L0 in pixels, L2, L-inf) for Tables 2-5. tfjs is loaded
 * inside `run` only.
 */
import { join } from 'node:path';
import type { JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import { ML_BACKEND_PACKAGES, startBackend } from './backend.js';
import { fetchedDataset, inputPath, readJson, writeJson } from './io.js';
import type { SelectionFile } from './select.js';
import type { HistoryFile } from './train.js';

type NormParam = 'inf' | 1 | 2;

/** The attack's own settings (IBM ART's names, snake case); unset ones take ART's defaults. */
type AttackConfig = JsonObject & {
  method: 'fgsm' | 'pgd' | 'cw';
  norm?: NormParam;
  eps?: number;
  eps_step?: number;
  max_iter?: number;
  num_random_init?: number;
  confidence?: number;
  learning_rate?: number;
  binary_search_steps?: number;
  initial_const?: number;
  max_halving?: number;
  max_doubling?: number;
  output?: 'probabilities' | 'logits';
};

type AttackParams = JsonObject & {
  regime: string;
  fold: number;
  attack: string;
  config: AttackConfig;
  batch_size: number;
  /** At most this many correctly classified test images, in test-set order; 0: all (ours). */
  max_examples: number;
  seed: number;
};

/** What distances.json holds: one value per adversarial example. */
export interface DistancesFile {
  stage: string;
  regime: string;
  fold: number;
  attack: string;
  /** Pixels with any channel changed. */
  l0: number[];
  l2: number[];
  linf: number[];
}

const NUMBER: JsonObject = { type: 'number' };

const CONFIG_SCHEMA: JsonObject = {
  type: 'object',
  required: ['method'],
  additionalProperties: false,
  properties: {
    method: { enum: ['fgsm', 'pgd', 'cw'] },
    norm: { enum: ['inf', 1, 2] },
    eps: { type: 'number', exclusiveMinimum: 0 },
    eps_step: { type: 'number', exclusiveMinimum: 0 },
    max_iter: { type: 'integer', minimum: 1 },
    num_random_init: { type: 'integer', minimum: 0 },
    confidence: { type: 'number', minimum: 0 },
    learning_rate: NUMBER,
    binary_search_steps: { type: 'integer', minimum: 1 },
    initial_const: NUMBER,
    max_halving: { type: 'integer', minimum: 0 },
    max_doubling: { type: 'integer', minimum: 0 },
    output: { enum: ['probabilities', 'logits'] },
  },
};

export const attack = defineStage<AttackParams>({
  kind: 'attack',
  description: 'Craft adversarial examples (FGSM, PGD, C&W L2) against the selected snapshot.',
  paramsSchema: {
    type: 'object',
    required: ['regime', 'fold', 'attack', 'config', 'batch_size', 'max_examples', 'seed'],
    additionalProperties: false,
    properties: {
      regime: { type: 'string', minLength: 1 },
      fold: { type: 'integer', minimum: 0 },
      attack: { type: 'string', minLength: 1 },
      batch_size: { type: 'integer', minimum: 1 },
      max_examples: { type: 'integer', minimum: 0 },
      seed: { type: 'integer', minimum: 0 },
      config: CONFIG_SCHEMA,
    },
  },
  inputs: {
    data: { description: 'output of a fetch stage' },
    model: { description: 'output tree of a train stage (snapshots + history.json)' },
    selection: { description: 'selected.json of a select stage' },
  },
  outputs: ['adversarial.npy', 'labels.npy', 'test_indices.npy', 'distances.json', 'attack.json'],
  resources: { cpu: 1 },
  module: import.meta.url,
  runtimePackages: ML_BACKEND_PACKAGES,
  async run(ctx) {
    const p = ctx.params;
    const c = p.config;
    await startBackend(ctx);
    const tf = await import('@tensorflow/tfjs-core');
    const { saveNpy } = await import('../ml/data/npy.js');
    const { loadModel } = await import('../ml/model-io.js');
    const { classifierFromModel } = await import('../ml/classifier.js');
    const { selectCorrectlyClassified, predictLabels } = await import('../ml/attacks/common.js');

    const test = fetchedDataset(ctx, 'test');
    const modelDir = inputPath(ctx, 'model');
    const history = readJson<HistoryFile>(join(modelDir, 'history.json'));
    const selection = readJson<SelectionFile>(inputPath(ctx, 'selection'));
    const snapshot = history.snapshots[history.epochs.indexOf(selection.epoch)];
    if (snapshot === undefined)
      throw new Error(`no snapshot for selected epoch ${selection.epoch}`);
    const model = await loadModel(join(modelDir, snapshot));
    const classifier = classifierFromModel(model);

    const xAll = tf.tensor4d(test.images, test.shape);
    const correct = await selectCorrectlyClassified(classifier, xAll, test.labels, p.batch_size);
    xAll.dispose();
    const keep =
      p.max_examples > 0 ? Math.min(p.max_examples, correct.labels.length) : correct.labels.length;
    const x = tf.slice(correct.x, 0, keep) as typeof correct.x;
    correct.x.dispose();
    const labels = correct.labels.slice(0, keep);
    const indices = correct.indices.slice(0, keep);
    ctx.log(
      `attacking ${keep} of ${test.labels.length} test images (epoch ${selection.epoch} snapshot classifies ${correct.labels.length} correctly)`,
    );

    const run = {
      labels,
      batchSize: p.batch_size,
      signal: ctx.signal,
      onProgress: (b: { done: number; total: number }) =>
        ctx.progress({ unit: 'batch', done: b.done, total: b.total, message: p.attack }),
    };
    let adversarial: typeof x;
    if (c.method === 'fgsm') {
      const { fgsm } = await import('../ml/attacks/fgsm.js');
      adversarial = await fgsm(classifier, x, {
        ...run,
        norm: c.norm,
        eps: c.eps,
        epsStep: c.eps_step,
        numRandomInit: c.num_random_init,
        seed: p.seed,
      });
    } else if (c.method === 'pgd') {
      const { pgd } = await import('../ml/attacks/pgd.js');
      adversarial = await pgd(classifier, x, {
        ...run,
        norm: c.norm,
        eps: c.eps,
        epsStep: c.eps_step,
        maxIter: c.max_iter,
        numRandomInit: c.num_random_init,
        seed: p.seed,
      });
    } else {
      const { carliniWagnerL2 } = await import('../ml/attacks/cw.js');
      adversarial = await carliniWagnerL2(classifier, x, {
        ...run,
        confidence: c.confidence,
        learningRate: c.learning_rate,
        binarySearchSteps: c.binary_search_steps,
        maxIter: c.max_iter,
        initialConst: c.initial_const,
        maxHalving: c.max_halving,
        maxDoubling: c.max_doubling,
        output: c.output,
      });
    }
    const { perturbationDistances } = await import('../ml/metrics/distances.js');
    const shape = x.shape as [number, number, number, number];
    const adv = (await adversarial.data()) as Float32Array;
    const predicted =
      keep > 0 ? await predictLabels(classifier, adversarial, p.batch_size) : new Int32Array(0);
    let fooled = 0;
    for (let i = 0; i < keep; i++) if (predicted[i] !== labels[i]) fooled++;
    saveNpy(join(ctx.outDir, 'adversarial.npy'), shape, adv);
    saveNpy(join(ctx.outDir, 'labels.npy'), [keep], labels);
    saveNpy(join(ctx.outDir, 'test_indices.npy'), [keep], indices);
    const sizes = await perturbationDistances(x, adversarial);
    const distances: DistancesFile = {
      stage: ctx.stageId,
      regime: p.regime,
      fold: p.fold,
      attack: p.attack,
      l0: Array.from(sizes.l0),
      l2: Array.from(sizes.l2),
      linf: Array.from(sizes.linf),
    };
    writeJson(join(ctx.outDir, 'distances.json'), distances);
    writeJson(join(ctx.outDir, 'attack.json'), {
      stage: ctx.stageId,
      regime: p.regime,
      fold: p.fold,
      attack: p.attack,
      method: c.method,
      selectedEpoch: selection.epoch,
      examples: keep,
      successRateOnSelected: keep > 0 ? fooled / keep : Number.NaN,
    });
    tf.dispose([x, adversarial]);
    model.dispose();
  },
});
