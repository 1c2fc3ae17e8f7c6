/**
 * Small file helpers the ML stage kinds share: reading their declared inputs, writing JSON
 * the same way every time (so identical results give identical bytes and the cache can cut
 * off), and hashing files for provenance. Light at top level: no tfjs, no vega.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ImageDataset, loadDatasetNpy } from '../ml/data/dataset.js';

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

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every JSON file a stage writes for others carries the id of the stage that wrote it. */
export interface Stamped {
  stage: string;
}
