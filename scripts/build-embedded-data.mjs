#!/usr/bin/env node
/**
 * Rebuilds data/fashion-mnist-mini/ (the offline default dataset) from Debian's
 * `dataset-fashion-mnist` package: a class-balanced subset chosen with a fixed seed, written
 * in the same IDX+gzip format as the original so the ordinary IDX loader reads it.
 * It never touches the network and never writes outside the output directory.
 *
 *   apt-get install -y dataset-fashion-mnist
 *   node scripts/build-embedded-data.mjs [--src DIR] [--out DIR] [--train-per-class N]
 *                                        [--test-per-class N] [--seed N]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';

const { values } = parseArgs({
  options: {
    src: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    out: { type: 'string', default: 'data/fashion-mnist-mini' },
    'train-per-class': { type: 'string', default: '200' },
    'test-per-class': { type: 'string', default: '50' },
    seed: { type: 'string', default: '20210817' },
  },
});

const CLASSES = 10;

/** mulberry32: a tiny, well-known seeded PRNG, so the subset is the same on every machine. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readIdx(path) {
  const buf = gunzipSync(readFileSync(path));
  const magic = buf.readUInt32BE(0);
  if (magic >>> 8 !== 0x08) throw new Error(`${path}: not an unsigned-byte IDX file`);
  const rank = magic & 0xff;
  const dims = [];
  for (let i = 0; i < rank; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  const headerBytes = 4 + 4 * rank;
  return { header: buf.subarray(0, headerBytes), dims, body: buf.subarray(headerBytes) };
}

function writeIdx(path, dims, body) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  // gzip with mtime 0 (Node's default) and a fixed level: the bytes depend only on the input.
  const gz = gzipSync(Buffer.concat([header, body]), { level: 9 });
  writeFileSync(path, gz);
  return createHash('sha256').update(gz).digest('hex');
}

/** Per class: shuffle that class's indices with the seeded RNG, keep the first n, then restore file order. */
function balancedIndices(labels, perClass, rng) {
  const byClass = Array.from({ length: CLASSES }, () => []);
  labels.forEach((label, i) => {
    byClass[label].push(i);
  });
  const chosen = [];
  for (const members of byClass) {
    if (members.length < perClass) throw new Error(`only ${members.length} images in a class`);
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    chosen.push(...members.slice(0, perClass));
  }
  return chosen.sort((a, b) => a - b);
}

function subset(split, perClass, rng) {
  const images = readIdx(join(values.src, `${split}-images-idx3-ubyte.gz`));
  const labels = readIdx(join(values.src, `${split}-labels-idx1-ubyte.gz`));
  const [, rows, cols] = images.dims;
  const pixels = rows * cols;
  const picked = balancedIndices(labels.body, perClass, rng);
  const imageBody = Buffer.alloc(picked.length * pixels);
  const labelBody = Buffer.alloc(picked.length);
  picked.forEach((src, dst) => {
    images.body.copy(imageBody, dst * pixels, src * pixels, (src + 1) * pixels);
    labelBody[dst] = labels.body[src];
  });
  const out = values.out;
  return {
    [`${split}-images-idx3-ubyte.gz`]: writeIdx(
      join(out, `${split}-images-idx3-ubyte.gz`),
      [picked.length, rows, cols],
      imageBody,
    ),
    [`${split}-labels-idx1-ubyte.gz`]: writeIdx(
      join(out, `${split}-labels-idx1-ubyte.gz`),
      [picked.length],
      labelBody,
    ),
  };
}

mkdirSync(values.out, { recursive: true });
const rng = mulberry32(Number(values.seed));
const digests = {
  ...subset('train', Number(values['train-per-class']), rng),
  ...subset('t10k', Number(values['test-per-class']), rng),
};
for (const [file, digest] of Object.entries(digests)) console.log(`${digest}  ${file}`);
