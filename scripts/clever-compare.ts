/**
 * Dev aid: advrob-dag's CLEVER next to IBM ART's (scripts/art-clever-reference.py, a line for
 * line port run on a PyTorch copy of the same snapshot) on a train stage's snapshots and the
 * first test images, with the default pipeline's CLEVER parameters. Needs Debian's
 * python3-torch and python3-scipy for the ART side (/usr/bin/python3).
 *
 *   npm run build && node dist/scripts/clever-compare.js TRAIN_DIR DATA_DIR [--epochs 1,22,30]
 *       [--examples 20] [--seeds 0,1,2] [--dump-fits FILE.json]
 *
 * TRAIN_DIR and DATA_DIR are artifacts/ folders of a train and a fetch stage. --dump-fits
 * writes the Weibull data of every (image, target) pair of ours, with our fit, for
 * `art-clever-reference.py --fit` to record scipy's fits as test fixtures.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/ml/backend.js';
import { classifierFromModel } from '../src/ml/classifier.js';
import { loadNpy } from '../src/ml/data/npy.js';
import { type CleverImage, cleverUntargeted } from '../src/ml/metrics/clever.js';
import { loadModel } from '../src/ml/model-io.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
}

const PARAMS = { nbBatches: 10, batchSize: 10, radius: 0.3, norm: 'inf', poolFactor: 10 } as const;
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const fmt = (v: number): string => v.toFixed(4);

/** Ours with each seed: the samples are random, so ART is compared with a mean over seeds. */
async function ours(snapshot: string, x: tf.Tensor4D, seeds: number[]): Promise<CleverImage[][]> {
  const model = await loadModel(snapshot);
  try {
    const runs: CleverImage[][] = [];
    for (const seed of seeds)
      runs.push(
        await cleverUntargeted(classifierFromModel(model), x, { ...PARAMS, cInit: 1, seed }),
      );
    return runs;
  } finally {
    model.dispose();
  }
}

function art(snapshot: string, images: string, examples: number, seeds: string): number[][] {
  const script = join(
    dirname(fileURLToPath(import.meta.url)),
    '../../scripts/art-clever-reference.py',
  );
  const r = spawnSync(
    '/usr/bin/python3',
    [script, snapshot, images, '--examples', `${examples}`, '--seeds', seeds],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`ART reference failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Array<{ scores: number[] }>).map((s) => s.scores);
}

async function main(): Promise<void> {
  const [trainDir, dataDir] = process.argv.slice(2);
  if (trainDir === undefined || dataDir === undefined)
    throw new Error('usage: TRAIN_DIR DATA_DIR [options]');
  await initBackend(option('backend', 'auto'));
  const examples = Number(option('examples', '20'));
  const seeds = option('seeds', '0,1,2');
  const images = join(dataDir, 'test_images.npy');
  const npy = loadNpy(images);
  const [, h, w, c] = npy.shape as [number, number, number, number];
  const x = tf.tensor4d((npy.data as Float32Array).subarray(0, examples * h * w * c), [
    examples,
    h,
    w,
    c,
  ]);
  const fits: Array<{
    epoch: number;
    image: number;
    target: number;
    data: number[];
    c_init: number;
    loc: number;
  }> = [];
  const seedList = seeds.split(',').map(Number);
  console.log(
    `epoch  ours mean  ART mean  ours/ART  (means over seeds ${seeds}; capped: images at the radius, all seeds)`,
  );
  for (const epoch of option('epochs', '1,22,30').split(',').map(Number)) {
    const snapshot = join(trainDir, 'snapshots', `epoch-${String(epoch).padStart(3, '0')}`);
    const runs = await ours(snapshot, x, seedList);
    const theirs = art(snapshot, images, examples, seeds);
    const capped = (v: number[][]): number => v.flat().filter((s) => s >= PARAMS.radius).length;
    const scores = runs.map((run) => run.map((m) => m.score));
    const [a, b] = [mean(scores.map(mean)), mean(theirs.map(mean))];
    console.log(
      `${String(epoch).padStart(5)}  ${fmt(a)}     ${fmt(b)}    ${(a / b).toFixed(3)}     capped ${capped(scores)} / ${capped(theirs)} of ${examples * seedList.length}`,
    );
    console.log(`       ours per seed: ${scores.map((v) => fmt(mean(v))).join(' ')}`);
    console.log(`       ART per seed:  ${theirs.map((v) => fmt(mean(v))).join(' ')}`);
    console.log(`       ours seed ${seedList[0]}: ${(scores[0] ?? []).map(fmt).join(' ')}`);
    console.log(`       ART seed ${seedList[0]}:  ${(theirs[0] ?? []).map(fmt).join(' ')}`);
    (runs[0] ?? []).forEach((m, image) => {
      for (const t of m.targets) {
        fits.push({
          epoch,
          image,
          target: t.target,
          data: Array.from(t.negatedMaxima),
          c_init: 1,
          loc: t.loc,
        });
      }
    });
  }
  x.dispose();
  const dump = option('dump-fits', '');
  if (dump !== '') writeFileSync(dump, `${JSON.stringify(fits)}\n`);
}

await main();
