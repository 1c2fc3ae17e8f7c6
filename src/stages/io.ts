/**
 * Small file helpers the ML stage kinds share: reading their declared inputs, writing JSON
 * the same way every time (so identical results give identical bytes and the cache can cut
 * off), and hashing files for provenance. Light at top level: no tfjs, no vega.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '../ml/classifier.js';
import { type ImageDataset, loadDatasetNpy } from '../ml/data/dataset.js';
import type { HistoryFile } from './train.js';

/** The part of a StageContext the input helpers read. */
interface WithInputs {
  stageId: string;
  inputs: Record<string, string | string[]>;
}

/** The path of a single-valued input. */
export function inputPath(ctx: WithInputs, name: string): string {
  const value = ctx.inputs[name];
  if (typeof value !== 'string')
    throw new Error(`${ctx.stageId}: input '${name}' must name one artifact`);
  return value;
}

/** The paths of a `many` input (a pattern such as `train[*]`), in stage-id order. */
export function inputPaths(ctx: WithInputs, name: string): string[] {
  const value = ctx.inputs[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** One half of the dataset a fetch stage wrote to its `data` input (layout: see fetch.ts). */
export function fetchedDataset(ctx: WithInputs, split: 'train' | 'test'): ImageDataset {
  const dir = inputPath(ctx, 'data');
  const { classes } = readJson<{ classes: number }>(join(dir, 'dataset.json'));
  return loadDatasetNpy(
    join(dir, `${split}_images.npy`),
    join(dir, `${split}_labels.npy`),
    classes,
  );
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Pretty JSON with a final newline; non-finite numbers become null, as JSON requires. */
export function writeJson(path: string, value: unknown): void {
  writeFileSync(
    path,
    `${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
}

/** A CSV file: a header line, then one line per row, values as JavaScript prints them. */
export function writeCsv(path: string, header: string[], rows: unknown[][]): void {
  writeFileSync(path, `${[header, ...rows].map((r) => r.join(',')).join('\n')}\n`);
}

/**
 * Calls `use` with every epoch snapshot of a train stage's output (`modelDir`), in epoch
 * order, as a classifier that is disposed once `use` settles; returns the run's history.
 * tfjs is loaded here, so only when a stage runs.
 */
export async function forEachSnapshot(
  modelDir: string,
  signal: AbortSignal,
  use: (classifier: Classifier, index: number, total: number) => Promise<void> | void,
): Promise<HistoryFile> {
  const { loadModel } = await import('../ml/model-io.js');
  const { classifierFromModel } = await import('../ml/classifier.js');
  const history = readJson<HistoryFile>(join(modelDir, 'history.json'));
  const total = history.snapshots.length;
  for (const [index, snapshot] of history.snapshots.entries()) {
    signal.throwIfAborted();
    const model = await loadModel(join(modelDir, snapshot));
    try {
      await use(classifierFromModel(model), index, total);
    } finally {
      model.dispose();
    }
  }
  return history;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every JSON file a stage writes for others carries the id of the stage that wrote it. */
export interface Stamped {
  stage: string;
}
