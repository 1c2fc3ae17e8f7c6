/**
 * Trains a classifier (a LayersModel with a 'logits' layer, e.g. buildLeNet) one epoch at a
 * time with an explicit loop: seeded shuffles (rng.ts), softmax cross-entropy on logits,
 * our own optimizers (optimizers.ts). After every epoch it writes the snapshot
 * (LayersModel format), the history and a resume point (optimizer slots + step, RNG state),
 * so a killed run continues from its last finished epoch and ends with the same bytes as an
 * uninterrupted one on the same backend.
 * Must never use Math.random or wall-clock time in anything that reaches the weights, and
 * never leave a resume point that refers to a snapshot not yet completely written.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { LOGITS_LAYER } from './classifier.js';
import { type ImageDataset, imageSize } from './data/dataset.js';
import { MODEL_JSON, saveModel, WEIGHTS_BIN } from './model-io.js';
import { createOptimizer, type OptimizerConfig, withDefaults } from './optimizers.js';
import { Rng, type RngState } from './rng.js';

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean over the epoch's batches while training (as Keras reports it). */
  trainLoss: number;
  trainAccuracy: number;
  /** On the validation set with the weights at the end of the epoch; null without one. */
  valLoss: number | null;
  valAccuracy: number | null;
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  /** 1-based. */
  batch: number;
  batches: number;
  /** Running means over this epoch's batches so far. */
  loss: number;
  accuracy: number;
}

export interface TrainOptions {
  /** Model to train in place; must have a layer named 'logits' (see lenet.ts). */
  model: tfl.LayersModel;
  train: ImageDataset;
  /** Evaluated after every epoch when given. */
  val?: ImageDataset;
  /** Total number of epochs (a resumed run counts the finished ones). */
  epochs: number;
  optimizer: OptimizerConfig;
  /** Default 32 (Keras). The last batch of an epoch may be smaller. */
  batchSize?: number;
  /** Seeds the shuffle of the training set (one permutation per epoch). */
  seed: number;
  /**
   * Directory for snapshots/epoch-NNN/{model.json,weights.bin}, history.json and the resume
   * point (resume/). When it already holds a resume point from the same options, training
   * continues after its epoch.
   */
  outDir: string;
  /** Batch size for validation. Default 256. */
  evalBatchSize?: number;
  onBatch?: (p: BatchProgress) => void;
  onEpoch?: (r: EpochRecord) => void;
  /** Checked before every batch; an abort leaves the last finished epoch resumable. */
  signal?: AbortSignal;
}

export interface TrainResult {
  history: EpochRecord[];
  /** Epochs that were already finished in outDir when this call started (0 = fresh run). */
  resumedFromEpoch: number;
  /** Snapshot directories, one per epoch, in order. */
  snapshots: string[];
}

/** Layout of outDir. */
export const SNAPSHOTS_DIR = 'snapshots';
export const HISTORY_JSON = 'history.json';
export const RESUME_DIR = 'resume';
const RESUME_JSON = 'resume.json';

export function snapshotDir(outDir: string, epoch: number): string {
  return join(outDir, SNAPSHOTS_DIR, `epoch-${String(epoch).padStart(3, '0')}`);
}

interface ResumePoint {
  version: 1;
  fingerprint: string;
  epoch: number;
  rng: RngState;
  optimizerStep: number;
  optimizerFile: string;
  optimizerSpecs: tf.io.WeightsManifestEntry[];
  history: EpochRecord[];
}

/** Removes temp files and directories a killed run left behind (names ending in .tmp-PID). */
function removeStaleTemps(outDir: string): void {
  for (const sub of [SNAPSHOTS_DIR, RESUME_DIR, '.']) {
    const dir = join(outDir, sub);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (/\.tmp-\d+$/.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

function writeFileAtomically(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** What a resume point must agree on with the current call to be continued. */
function fingerprint(o: TrainOptions, batchSize: number): string {
  const h = createHash('sha256');
  const data = (ds: ImageDataset | undefined) => {
    if (ds === undefined) return 'none';
    const d = createHash('sha256');
    d.update(JSON.stringify([ds.shape, ds.numClasses]));
    d.update(new Uint8Array(ds.images.buffer, ds.images.byteOffset, ds.images.byteLength));
    d.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    return d.digest('hex');
  };
  h.update(
    JSON.stringify({
      topology: o.model.toJSON(null, false),
      optimizer: withDefaults(o.optimizer),
      batchSize,
      seed: o.seed,
      train: data(o.train),
      val: data(o.val),
    }),
  );
  return h.digest('hex');
}

/** A batch of images and one-hot labels (plus integer labels for accuracy). */
function makeBatch(
  ds: ImageDataset,
  order: ArrayLike<number> | null,
  start: number,
  end: number,
): { x: tf.Tensor4D; y: tf.Tensor2D; labels: tf.Tensor1D } {
  const size = imageSize(ds);
  const n = end - start;
  const pixels = new Float32Array(n * size);
  const labels = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = order === null ? start + k : (order[start + k] as number);
    pixels.set(ds.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = ds.labels[i] as number;
  }
  const [, h, w, c] = ds.shape;
  return tf.tidy(() => {
    const l = tf.tensor1d(labels, 'int32');
    return {
      x: tf.tensor4d(pixels, [n, h, w, c]),
      y: tf.cast(tf.oneHot(l, ds.numClasses), 'float32') as tf.Tensor2D,
      labels: l,
    };
  });
}

function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}

/** The sub-model that outputs logits, sharing `model`'s weights. */
function logitsModelOf(model: tfl.LayersModel): tfl.LayersModel {
  const layer = model.layers.find((l) => l.name === LOGITS_LAYER);
  if (layer === undefined) throw new Error(`model has no layer named '${LOGITS_LAYER}'`);
  return tfl.model({ inputs: model.inputs, outputs: layer.output as tfl.SymbolicTensor });
}

/** Mean softmax cross-entropy and accuracy of `model`'s logits on `ds`. */
export async function evaluateModel(
  model: tfl.LayersModel,
  ds: ImageDataset,
  batchSize = 256,
): Promise<{ loss: number; accuracy: number }> {
  const logitsModel = logitsModelOf(model);
  const n = ds.shape[0];
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const [l, c] = tf.tidy(() => {
      const b = makeBatch(ds, null, start, end);
      const logits = logitsModel.apply(b.x, { training: false }) as tf.Tensor2D;
      const loss = tf.losses.softmaxCrossEntropy(b.y, logits, undefined, 0, tf.Reduction.SUM);
      return [loss, countCorrect(logits, b.labels)];
    });
    lossSum += (await (l as tf.Scalar).data())[0] as number;
    correct += (await (c as tf.Scalar).data())[0] as number;
    tf.dispose([l as tf.Tensor, c as tf.Tensor]);
  }
  return { loss: lossSum / n, accuracy: correct / n };
}

function loadWeightsInto(model: tfl.LayersModel, dir: string): void {
  const json = JSON.parse(readFileSync(join(dir, MODEL_JSON), 'utf8')) as tf.io.ModelJSON;
  const data = readFileSync(join(dir, WEIGHTS_BIN));
  const named = tf.io.decodeWeights(
    data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    tf.io.getWeightSpecs(json.weightsManifest),
  );
  for (const w of model.weights) {
    const t = named[w.originalName];
    if (t === undefined) throw new Error(`${dir}: snapshot has no weight '${w.originalName}'`);
    w.write(t);
  }
  tf.dispose(Object.values(named));
}

function readResumePoint(outDir: string, expected: string): ResumePoint | null {
  const path = join(outDir, RESUME_DIR, RESUME_JSON);
  if (!existsSync(path)) return null;
  const point = JSON.parse(readFileSync(path, 'utf8')) as ResumePoint;
  if (point.version !== 1 || point.fingerprint !== expected) {
    throw new Error(
      `${path} was written by a run with other options (model, optimizer, batch size, seed or data); remove ${outDir} or use another directory`,
    );
  }
  return point;
}

export async function trainModel(opts: TrainOptions): Promise<TrainResult> {
  const batchSize = opts.batchSize ?? 32;
  const evalBatchSize = opts.evalBatchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`bad batch size ${batchSize}`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1)
    throw new Error(`bad epochs ${opts.epochs}`);
  const { model, train, outDir } = opts;
  const n = train.shape[0];
  const batches = Math.ceil(n / batchSize);
  const fp = fingerprint(opts, batchSize);
  mkdirSync(join(outDir, RESUME_DIR), { recursive: true });
  removeStaleTemps(outDir);

  const optimizer = createOptimizer(opts.optimizer);
  const logitsModel = logitsModelOf(model);
  const trainable = model.trainableWeights;
  const vars = trainable.map((w) => w.read() as tf.Variable);
  const names = trainable.map((w) => w.originalName);

  let rng = Rng.fromSeed(opts.seed);
  let history: EpochRecord[] = [];
  const point = readResumePoint(outDir, fp);
  const resumedFromEpoch = point?.epoch ?? 0;
  if (point !== null && point.epoch >= opts.epochs) {
    // Already trained at least this far: the result is the snapshot of the last epoch asked for.
    loadWeightsInto(model, snapshotDir(outDir, opts.epochs));
    history = point.history.slice(0, opts.epochs);
  } else if (point !== null) {
    loadWeightsInto(model, snapshotDir(outDir, point.epoch));
    const bin = readFileSync(join(outDir, RESUME_DIR, point.optimizerFile));
    const named = tf.io.decodeWeights(
      bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
      point.optimizerSpecs,
    );
    optimizer.setState({
      step: point.optimizerStep,
      slots: Object.entries(named).map(([name, tensor]) => ({ name, tensor })),
    });
    tf.dispose(Object.values(named));
    rng = Rng.fromState(point.rng);
    history = point.history;
  }

  try {
    for (let epoch = history.length + 1; epoch <= opts.epochs; epoch++) {
      const order = rng.permutation(n);
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < batches; b++) {
        opts.signal?.throwIfAborted();
        const start = b * batchSize;
        const end = Math.min(n, start + batchSize);
        const [loss, right] = tf.tidy(() => {
          const batch = makeBatch(train, order, start, end);
          let c: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = logitsModel.apply(batch.x, { training: true }) as tf.Tensor2D;
            c = tf.keep(countCorrect(logits, batch.labels));
            return tf.losses.softmaxCrossEntropy(batch.y, logits) as tf.Scalar;
          }, vars);
          optimizer.apply(
            vars,
            vars.map((v) => grads[v.name] as tf.Tensor),
            names,
          );
          return [value, c as tf.Scalar];
        });
        lossSum += ((await loss.data())[0] as number) * (end - start);
        correct += (await right.data())[0] as number;
        tf.dispose([loss, right]);
        opts.onBatch?.({
          epoch,
          epochs: opts.epochs,
          batch: b + 1,
          batches,
          loss: lossSum / end,
          accuracy: correct / end,
        });
        // Let timers and signal handlers run between batches (abort, progress rendering).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const val =
        opts.val === undefined ? null : await evaluateModel(model, opts.val, evalBatchSize);
      const record: EpochRecord = {
        epoch,
        trainLoss: lossSum / n,
        trainAccuracy: correct / n,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.accuracy ?? null,
      };
      history = [...history, record];
      await writeEpoch(outDir, epoch, model, optimizer, rng, history, fp);
      opts.onEpoch?.(record);
    }
  } finally {
    optimizer.dispose();
  }
  return {
    history,
    resumedFromEpoch,
    snapshots: history.map((r) => snapshotDir(outDir, r.epoch)),
  };
}

/**
 * Snapshot first, then the optimizer file, then resume.json (the commit point), then the
 * history; a kill between any two steps resumes from the previous epoch.
 */
async function writeEpoch(
  outDir: string,
  epoch: number,
  model: tfl.LayersModel,
  optimizer: ReturnType<typeof createOptimizer>,
  rng: Rng,
  history: EpochRecord[],
  fp: string,
): Promise<void> {
  await saveModel(model, snapshotDir(outDir, epoch));
  const state = optimizer.getState();
  const encoded = await tf.io.encodeWeights(state.slots);
  tf.dispose(state.slots.map((s) => s.tensor));
  const optimizerFile = `optimizer-${String(epoch).padStart(3, '0')}.bin`;
  const resumeDir = join(outDir, RESUME_DIR);
  writeFileAtomically(
    join(resumeDir, optimizerFile),
    Buffer.from(tf.io.concatenateArrayBuffers(encoded.data)),
  );
  const point: ResumePoint = {
    version: 1,
    fingerprint: fp,
    epoch,
    rng: rng.state(),
    optimizerStep: state.step,
    optimizerFile,
    optimizerSpecs: encoded.specs,
    history,
  };
  writeFileAtomically(join(resumeDir, RESUME_JSON), JSON.stringify(point));
  const previous = join(resumeDir, `optimizer-${String(epoch - 1).padStart(3, '0')}.bin`);
  rmSync(previous, { force: true });
  writeFileAtomically(
    join(outDir, HISTORY_JSON),
    `${JSON.stringify({ epochs: history }, null, 2)}\n`,
  );
}
