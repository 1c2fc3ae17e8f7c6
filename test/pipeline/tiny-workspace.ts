/**
 * A temporary workspace running the repository's pipeline.yaml with an extra `tiny` profile:
 * a synthetic two-class dataset written here (16x16 grey images, learnable by construction),
 * 2 folds, 2 epochs, a handful of attacked images and minimal metric sampling, so every
 * stage kind runs through the real CLI in well under a minute.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { saveNpy } from '../../src/ml/data/npy.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export const TINY_PROFILE = {
  datasets: ['synthetic'],
  data: { synthetic: { dataset: 'synthetic', source: 'npy', path: 'synthetic', classes: 2 } },
  folds: 2,
  model: { batch_size: 8 },
  regimes: {
    normal: { learning_rate: 0.001, epochs: 2 },
    overfitting: { learning_rate: 0.01, epochs: 2 },
  },
  attack_examples: 4,
  attacks: { pgd: { max_iter: 3 }, cw: { binary_search_steps: 2, max_iter: 2 } },
  metrics: { examples: 2, clever: { nb_batches: 2, batch_size: 2, pool_factor: 2 } },
  report: { png_scale: 1 },
};

export const SIDE = 16;
export const TRAIN = 24;
export const TEST = 12;

/** Class 0 is bright in the top half, class 1 in the bottom half, plus seeded noise. */
function writeSynthetic(dir: string, n: number, seed: number, prefix: string): void {
  let state = seed;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const images = new Float32Array(n * SIDE * SIDE);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let p = 0; p < SIDE * SIDE; p++) {
      const top = Math.floor(p / SIDE) < SIDE / 2;
      images[i * SIDE * SIDE + p] = Math.min(1, 0.3 * noise() + (top === (label === 0) ? 0.6 : 0));
    }
  }
  saveNpy(join(dir, `${prefix}_images.npy`), [n, SIDE, SIDE, 1], images);
  saveNpy(join(dir, `${prefix}_labels.npy`), [n], labels);
}

export function makeTinyWorkspace(): string {
  const ws = mkdtempSync(join(tmpdir(), 'advrob-pipeline-'));
  const doc = parseDocument(readFileSync(join(ROOT, 'pipeline.yaml'), 'utf8'));
  doc.setIn(['profiles', 'tiny'], doc.createNode({ params: TINY_PROFILE }));
  writeFileSync(join(ws, 'pipeline.yaml'), doc.toString());
  mkdirSync(join(ws, 'synthetic'));
  writeSynthetic(join(ws, 'synthetic'), TRAIN, 1, 'train');
  writeSynthetic(join(ws, 'synthetic'), TEST, 2, 'test');
  return ws;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI, by default on the pure-JS backend (available everywhere, deterministic). */
export function cli(ws: string, args: string[], backend = 'cpu', timeout = 240_000): CliResult {
  const r = spawnSync(process.execPath, [CLI, '-C', ws, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ADVROB_BACKEND: backend, NO_COLOR: '1' },
    timeout,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Ids of the stages a `status --json` says will run. */
export function willRun(ws: string, args: string[]): string[] {
  const r = cli(ws, ['status', '--json', ...args]);
  if (r.status !== 0) throw new Error(`status failed (${r.status}): ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { stages: { id: string; willRun: boolean }[] };
  return doc.stages
    .filter((s) => s.willRun)
    .map((s) => s.id)
    .sort();
}

/** Ids of the stages a `run --json` started. */
export function started(ndjson: string): string[] {
  return ndjson
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; stageId?: string })
    .filter((e) => e.type === 'stage-started')
    .map((e) => e.stageId as string)
    .sort();
}

/** The messages and logs of the stages a `run --json` reported as failed, for a test's failure message. */
export function failedLogs(ws: string, ndjson: string): string {
  return ndjson
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as { type: string; stageId?: string; message?: string; logPath?: string },
    )
    .filter((e) => e.type === 'stage-failed')
    .map((e) => {
      let log = '';
      try {
        log = readFileSync(join(ws, e.logPath as string), 'utf8');
      } catch {
        log = '(no log)';
      }
      return `${e.stageId}: ${e.message}\n${log}`;
    })
    .join('\n');
}
