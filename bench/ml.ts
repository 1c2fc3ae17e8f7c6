/**
 * ML throughput benchmark: images/second for a LeNet train step as src/ml/train.ts takes it
 * (the project's Adam, optimizers.ts; batch 32 and 64; on a GPU backend also 256 and 1024),
 * predict (batches of 256) and the input gradient (one batch of up to 1024 images) at
 * 28x28x1, 32x32x3 and 96x96x3 on the active backend, measured the same way as the
 * PyTorch peer baseline ../shared/bench/torch_lenet.py next to the project (one warm-up
 * epoch, then a timed one). When python3-torch is importable it runs that script right after,
 * with the same sizes, and prints tfjs/torch ratios. `--profile` prints per-kernel times of train steps;
 * `--kernels` times each project wasm kernel against the backend's own on LeNet shapes.
 * Prints figures only; never asserts on time.
 *
 *   node dist/bench/ml.js [--sizes 28x28x1,32x32x3,96x96x3] [--n 2048] [--batches 32,64]
 *                         [--repeat 3] [--baseline] [--backend wasm|webgpu|cpu|...] [--torch auto|no]
 *                         [--torch-script PATH] [--clock wall|cpu]
 *                         [--profile | --kernels | --stages]
 *
 * `--clock cpu` times both sides by the CPU time of their own process (user + system)
 * instead of the wall clock: on a loaded shared machine the wall clock mostly measures
 * the scheduler. PyTorch's script runs unchanged with time.time replaced by
 * time.process_time.
 *
 * `--stages` runs the small profile (the default pipeline scaled down, see stageTimes) cold
 * in a temporary workspace through the CLI and prints the time per stage kind, so that the
 * slowest kind of stage is visible.
 *
 * --baseline also measures wasm with its own kernels (only the missing filter gradient
 * added), for before/after figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../src/ml/backend.js';
import { registerWasmKernels, restoreOriginalWasmKernels } from '../src/ml/kernels/register.js';
import { callOriginal } from '../src/ml/kernels/wasm-ops.js';
import { createOptimizer, type Optimizer } from '../src/ml/optimizers.js';
import { formatAdapter } from '../src/ml/webgpu.js';

interface Size {
  h: number;
  c: number;
  label: string;
}

interface Figures {
  train: Record<number, number>;
  predict: number;
  inputGrad: number;
}

interface TorchFigures {
  train_img_s: number;
  predict_img_s: number;
  input_grad_img_s: number;
}

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  return v ?? fallback;
}

function parseSize(s: string): Size {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (m === null || m[1] !== m[2]) throw new Error(`bad size '${s}' (want HxHxC, e.g. 32x32x3)`);
  return { h: Number(m[1]), c: Number(m[3]), label: s };
}

/** Default images per epoch: enough for a stable figure, little enough for 2 shared cores. */
function defaultN(size: Size): number {
  return size.h >= 64 ? 512 : 2048;
}

/** The LeNet of torch_lenet.py: conv 6@5 -> pool 2 -> conv 16@5 -> pool 2 -> 120 -> 84 -> 10. */
function buildLeNet(size: Size): tfl.Sequential {
  const m = tfl.sequential();
  m.add(
    tfl.layers.conv2d({
      inputShape: [size.h, size.h, size.c],
      filters: 6,
      kernelSize: 5,
      activation: 'relu',
    }),
  );
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 120, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 84, activation: 'relu' }));
  m.add(tfl.layers.dense({ units: 10 }));
  return m;
}

function lossOf(model: tfl.Sequential, x: tf.Tensor, y: tf.Tensor, training: boolean): tf.Scalar {
  const logits = model.apply(x, { training }) as tf.Tensor;
  return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
}

function batches(x: tf.Tensor4D, y: tf.Tensor2D, size: number): Array<[tf.Tensor4D, tf.Tensor2D]> {
  const out: Array<[tf.Tensor4D, tf.Tensor2D]> = [];
  const n = x.shape[0];
  for (let i = 0; i < n; i += size) {
    const k = Math.min(size, n - i);
    out.push([tf.slice(x, i, k), tf.slice(y, i, k)]);
  }
  return out;
}

/** Reads t (as a user of the result must: the GPU work is done once it is read) and frees it. */
async function read(t: tf.Tensor | undefined | null): Promise<void> {
  await t?.data();
  t?.dispose();
}

/** A model with the project's optimizer (src/ml/optimizers.ts, Adam at 1e-3 as the peer). */
interface Trainer {
  model: tfl.Sequential;
  optimizer: Optimizer;
  vars: tf.Variable[];
  names: string[];
}

function trainer(model: tfl.Sequential): Trainer {
  const weights = model.trainableWeights;
  return {
    model,
    optimizer: createOptimizer({ name: 'adam', learningRate: 1e-3 }),
    vars: weights.map((w) => w.read() as tf.Variable),
    names: weights.map((w) => w.originalName),
  };
}

/** One train step as src/ml/train.ts takes it: loss gradients w.r.t. the trainable
 * variables, then the project's optimizer. Returns the loss. */
function trainStep(t: Trainer, xb: tf.Tensor, yb: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => lossOf(t.model, xb, yb, true), t.vars);
    t.optimizer.apply(
      t.vars,
      t.vars.map((v) => grads[v.name] as tf.Tensor),
      t.names,
    );
    return value;
  });
}

async function trainEpoch(t: Trainer, data: Array<[tf.Tensor4D, tf.Tensor2D]>): Promise<void> {
  for (const [xb, yb] of data) await read(trainStep(t, xb, yb));
}

/** Milliseconds by the clock chosen with --clock: wall, or this process's CPU time. */
const CPU_CLOCK = option('clock', 'wall') === 'cpu';
function now(): number {
  if (!CPU_CLOCK) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function measure(size: Size, n: number, batchSizes: number[]): Promise<Figures> {
  const x = tf.randomUniform([n, size.h, size.h, size.c], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.randomUniform([n], 0, 10, 'int32', 2) as tf.Tensor1D;
  const y = tf.tidy(() => tf.cast(tf.oneHot(labels, 10), 'float32')) as tf.Tensor2D;
  const train: Record<number, number> = {};
  let model = buildLeNet(size);
  for (const bs of batchSizes) {
    model.dispose();
    model = buildLeNet(size);
    const steps = trainer(model);
    const data = batches(x, y, bs);
    await trainEpoch(steps, data);
    const t = now();
    await trainEpoch(steps, data);
    train[bs] = n / ((now() - t) / 1000);
    tf.dispose(data.flat());
    steps.optimizer.dispose();
  }
  const predictData = batches(x, y, 256);
  await read(model.apply(predictData[0]?.[0] as tf.Tensor) as tf.Tensor);
  let t = now();
  for (const [xb] of predictData) await read(model.apply(xb) as tf.Tensor);
  const predict = n / ((now() - t) / 1000);
  tf.dispose(predictData.flat());
  const g = Math.min(n, 1024);
  const xg = tf.slice(x, 0, g);
  const yg = tf.slice(y, 0, g);
  const gradOf = (xi: tf.Tensor, yi: tf.Tensor) =>
    tf.grad((v: tf.Tensor) => lossOf(model, v, yi, false))(xi);
  await read(tf.tidy(() => gradOf(tf.slice(xg, 0, 32), tf.slice(yg, 0, 32))));
  t = now();
  await read(tf.tidy(() => gradOf(xg, yg)));
  const inputGrad = g / ((now() - t) / 1000);
  tf.dispose([x, labels, y, xg, yg]);
  model.dispose();
  return { train, predict, inputGrad };
}

/** Per-kernel milliseconds of `run`, each kernel's least total over `repeats` runs (the
 * machine is shared), largest first. */
async function profileKernels(
  label: string,
  repeats: number,
  run: () => Promise<void>,
): Promise<void> {
  await run();
  const info = await tf.profile(async () => {
    for (let i = 0; i < repeats; i++) await run();
  });
  const perRun = info.kernels.length / repeats;
  const least = new Map<string, { ms: number; calls: number }>();
  for (let r = 0; r < repeats; r++) {
    const totals = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels.slice(r * perRun, (r + 1) * perRun)) {
      const e = totals.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls += 1;
      totals.set(k.name, e);
    }
    for (const [name, e] of totals) {
      const prev = least.get(name);
      if (prev === undefined || e.ms < prev.ms) least.set(name, e);
    }
  }
  const total = [...least.values()].reduce((sum, e) => sum + e.ms, 0);
  console.log(`profile ${label}: ${total.toFixed(2)} ms in kernels (least of ${repeats} runs)`);
  const rows = [...least.entries()].sort((x, y) => y[1].ms - x[1].ms);
  for (const [name, e] of rows.slice(0, 16)) {
    const share = ((100 * e.ms) / total).toFixed(1).padStart(5);
    console.log(
      `  ${name.padEnd(24)} ${e.ms.toFixed(2).padStart(8)} ms ${share}%  ${e.calls} calls`,
    );
  }
}

async function profile(size: Size, batchSizes: number[]): Promise<void> {
  const model = buildLeNet(size);
  const steps = trainer(model);
  const gradBatch = 1024;
  const x = tf.randomUniform(
    [gradBatch, size.h, size.h, size.c],
    0,
    1,
    'float32',
    3,
  ) as tf.Tensor4D;
  const labels = tf.randomUniform([gradBatch], 0, 10, 'int32', 4) as tf.Tensor1D;
  const y = tf.tidy(() => tf.cast(tf.oneHot(labels, 10), 'float32')) as tf.Tensor2D;
  for (const bs of batchSizes) {
    const [xb, yb] = [tf.slice(x, 0, bs), tf.slice(y, 0, bs)];
    await profileKernels(`${size.label} train step, batch ${bs}`, 5, () =>
      read(trainStep(steps, xb, yb)),
    );
    tf.dispose([xb, yb]);
  }
  await profileKernels(`${size.label} input gradient, batch ${gradBatch}`, 2, () =>
    read(tf.tidy(() => tf.grad((v: tf.Tensor) => lossOf(model, v, y, false))(x))),
  );
  tf.dispose([x, labels, y]);
  steps.optimizer.dispose();
  model.dispose();
}

interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, number[]>;
  attrs: tf.NamedAttrMap;
}

/** The kernel calls of one LeNet 32x32x3 train step at batch 64 (and the 1024-image input
 * gradient's conv1), with the shapes they have there. */
function lenetKernelCases(): KernelCase[] {
  const conv = (x: number[], f: number[], dy: number[]): KernelCase[] => [
    {
      label: `filter grad x${x.join('x')}`,
      kernel: tf.Conv2DBackpropFilter,
      inputs: { x, dy },
      attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: f },
    },
    {
      label: `input grad dy${dy.join('x')}`,
      kernel: tf.Conv2DBackpropInput,
      inputs: { dy, filter: f },
      attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: x },
    },
  ];
  const pool = (x: number[]): KernelCase => {
    const y = [x[0] as number, (x[1] as number) / 2, (x[2] as number) / 2, x[3] as number];
    return {
      label: `max-pool grad x${x.join('x')}`,
      kernel: tf.MaxPoolGrad,
      inputs: { dy: y, input: x, output: y },
      attrs: { filterSize: 2, strides: 2, pad: 'valid' },
    };
  };
  const mm = (a: number[], b: number[], transposeA: boolean, transposeB: boolean): KernelCase => ({
    label: `matmul ${a.join('x')}${transposeA ? 'T' : ''} . ${b.join('x')}${transposeB ? 'T' : ''}`,
    kernel: tf.BatchMatMul,
    inputs: { a, b },
    attrs: { transposeA, transposeB },
  });
  return [
    ...conv([64, 32, 32, 3], [5, 5, 3, 6], [64, 28, 28, 6]).slice(0, 1),
    ...conv([64, 14, 14, 6], [5, 5, 6, 16], [64, 10, 10, 16]),
    ...conv([1024, 32, 32, 3], [5, 5, 3, 6], [1024, 28, 28, 6]).slice(1),
    pool([64, 28, 28, 6]),
    pool([64, 10, 10, 16]),
    mm([1, 64, 400], [1, 64, 120], true, false),
    mm([1, 64, 120], [1, 400, 120], false, true),
    mm([1, 64, 84], [1, 120, 84], false, true),
  ];
}

function minMs(repeats: number, run: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/** Best-of-N milliseconds of each project kernel and of the backend's own (if it has one). */
function timeKernels(): void {
  const backend = tf.backend() as BackendWasm;
  console.log('kernel (LeNet 32x32x3 shapes)              project ms   wasm own ms   speed-up');
  for (const c of lenetKernelCases()) {
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, shape] of Object.entries(c.inputs)) {
      inputs[name] = tf.randomUniform(shape, -1, 1, 'float32', 5);
    }
    const ours = minMs(7, () => {
      const out = tf.engine().runKernel(c.kernel, inputs, c.attrs) as tf.Tensor;
      out.dataSync();
      out.dispose();
    });
    let theirs = Number.NaN;
    if (c.kernel !== tf.Conv2DBackpropFilter) {
      theirs = minMs(7, () => {
        const out = callOriginal(backend, c.kernel, inputs, c.attrs);
        backend.disposeData(out.dataId);
      });
    }
    const own = Number.isNaN(theirs) ? '(none)' : theirs.toFixed(2);
    const gain = Number.isNaN(theirs) ? '' : `${(theirs / ours).toFixed(1)}x`;
    console.log(
      `  ${c.label.padEnd(40)} ${ours.toFixed(2).padStart(9)} ${own.padStart(13)} ${gain.padStart(10)}`,
    );
    tf.dispose(Object.values(inputs));
  }
}

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Runs the peer script as is, or (--clock cpu) with its clock made the process CPU time. */
const CPU_CLOCK_RUNNER =
  'import runpy, sys, time; time.time = time.process_time; sys.argv = sys.argv[1:]; ' +
  "runpy.run_path(sys.argv[0], run_name='__main__')";

function runTorch(script: string, size: Size, n: number, bs: number): TorchFigures | undefined {
  const args = [script, `${size.h}`, `${size.c}`, `${n}`, `${bs}`];
  const r = spawnSync('/usr/bin/python3', CPU_CLOCK ? ['-c', CPU_CLOCK_RUNNER, ...args] : args, {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.log(`  torch failed: ${r.stderr.trim().split('\n').pop()}`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as TorchFigures;
}

type Samples = Map<string, number[]>;

function add(samples: Samples, key: string, value: number): void {
  const list = samples.get(key) ?? [];
  list.push(value);
  samples.set(key, list);
}

function figuresInto(samples: Samples, f: Figures): void {
  for (const [bs, v] of Object.entries(f.train)) add(samples, `train b${bs}`, v);
  add(samples, 'predict', f.predict);
  add(samples, 'input-grad', f.inputGrad);
}

const best = (xs: number[] | undefined) => (xs === undefined ? Number.NaN : Math.max(...xs));
const cell = (v: number, width: number) =>
  (Number.isNaN(v) ? '-' : Math.round(v).toString()).padStart(width);
const ratioCell = (a: number, b: number, width: number) =>
  (Number.isNaN(a) || Number.isNaN(b) ? '-' : `${(a / b).toFixed(2)}x`).padStart(width);

/** The folder that holds the project (dist/bench/ml.js -> ../../..): ../shared lives there. */
const PARENT = new URL('../../../', import.meta.url);
const PROJECT = new URL('../../', import.meta.url);

/**
 * The default pipeline scaled down to a couple of minutes: two folds, 6 epochs, 50 attacked
 * and 5 metric images. Every kind of stage runs, with the default per-stage parameters.
 */
const SMALL_PROFILE = [
  'folds=2',
  'regimes.normal.epochs=6',
  'regimes.overfitting.epochs=6',
  'attack_examples=50',
  'metrics.examples=5',
];

/**
 * Runs the small profile cold through the CLI (--json) and prints seconds per stage kind,
 * attacks also per method.
 */
function stageTimes(backend: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'advrob-bench-stages-'));
  try {
    writeFileSync(join(dir, 'pipeline.yaml'), readFileSync(new URL('pipeline.yaml', PROJECT)));
    const cli = fileURLToPath(new URL('dist/src/cli/main.js', PROJECT));
    const args = [
      cli,
      'run',
      '--json',
      '--backend',
      backend,
      ...SMALL_PROFILE.flatMap((s) => ['--set', s]),
    ];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`advrob-dag run exited ${r.status}: ${r.stderr}`);
    // Per kind, and per attack method too: attack stages differ by an order of magnitude.
    const groups = new Map<string, number[]>();
    const add = (key: string, secs: number) => groups.set(key, [...(groups.get(key) ?? []), secs]);
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as {
        type: string;
        kind?: string;
        stageId?: string;
        durationMs?: number;
      };
      if (e.type !== 'stage-finished' || e.kind === undefined || e.durationMs === undefined)
        continue;
      add(e.kind, e.durationMs / 1000);
      const method = /,([^,\]]+)\]$/.exec(e.stageId ?? '')?.[1];
      if (e.kind === 'attack' && method !== undefined) add(`  ${method}`, e.durationMs / 1000);
    }
    console.log(`small profile cold (${SMALL_PROFILE.join(' ')}), -j 2: ${wall.toFixed(1)} s wall`);
    console.log(
      `  ${'kind'.padEnd(10)}${['stages', 'total s', 'mean s', 'max s', 'share'].map((h) => h.padStart(9)).join('')}`,
    );
    const kinds = [...groups].filter(([key]) => !key.startsWith(' '));
    const sum = kinds.reduce((a, [, secs]) => a + total(secs), 0);
    const byTime = (a: [string, number[]], b: [string, number[]]) => total(b[1]) - total(a[1]);
    const row = (key: string, secs: number[]) => {
      const cols = [secs.length, total(secs), total(secs) / secs.length, Math.max(...secs)];
      console.log(
        `  ${key.padEnd(10)}${cols.map((v, i) => (i === 0 ? `${v}` : v.toFixed(1)).padStart(9)).join('')}${`${((100 * total(secs)) / sum).toFixed(0)}%`.padStart(9)}`,
      );
    };
    for (const [kind, secs] of kinds.sort(byTime)) {
      row(kind, secs);
      if (kind !== 'attack') continue;
      for (const [key, s] of [...groups].filter(([k]) => k.startsWith(' ')).sort(byTime))
        row(key, s);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const total = (xs: number[]): number => xs.reduce((a, v) => a + v, 0);

async function main(): Promise<void> {
  const info = await initBackend(option('backend', '') || undefined);
  const sizes = option('sizes', '28x28x1,32x32x3,96x96x3').split(',').map(parseSize);
  // A GPU wants large batches: there, 256 and 1024 as well.
  const gpu = info.name === 'webgpu' || info.choice === 'tensorflow-gpu';
  const batchSizes = option('batches', gpu ? '32,64,256,1024' : '32,64')
    .split(',')
    .map(Number);
  const nOpt = option('n', '');
  const rounds = Number(option('repeat', '3'));
  const script = option(
    'torch-script',
    fileURLToPath(new URL('shared/bench/torch_lenet.py', PARENT)),
  );
  const wantTorch = option('torch', 'auto') !== 'no' && existsSync(script) && torchAvailable();
  const baseline = process.argv.includes('--baseline') && info.name === 'wasm';
  // Replaced kernels other than the one wasm lacks: "baseline" puts the backend's own back.
  const replaced = info.customKernels.filter((k) => k !== tf.Conv2DBackpropFilter);
  const wasm = info.wasm
    ? ` ${info.wasm.binary}, threads ${info.wasm.threads}, native kernels ${info.wasm.native.active ? 'yes' : `no (${info.wasm.native.detail})`}`
    : '';
  const adapter = info.adapter ? ` on ${formatAdapter(info.adapter)}` : '';
  console.log(
    `backend ${info.name}${wasm}${adapter}; kernels: ${info.customKernels.join(', ') || 'none'}`,
  );
  if (process.argv.includes('--profile')) {
    if (baseline) {
      console.log('== wasm with its own kernels (only Conv2DBackpropFilter added)');
      restoreOriginalWasmKernels(replaced);
      for (const size of sizes) await profile(size, batchSizes);
      registerWasmKernels();
      console.log('== with the project kernels');
    }
    for (const size of sizes) await profile(size, batchSizes);
    return;
  }
  if (process.argv.includes('--stages')) {
    stageTimes(info.name);
    return;
  }
  if (process.argv.includes('--kernels')) {
    if (info.name !== 'wasm') throw new Error('--kernels needs the wasm backend');
    timeKernels();
    return;
  }
  console.log(
    `images/second${CPU_CLOCK ? ' of CPU time' : ''}, best of ${rounds} interleaved rounds (the machine is shared; best-of is the least disturbed)`,
  );
  for (const size of sizes) {
    const n = nOpt === '' ? defaultN(size) : Number(nOpt);
    const ours: Samples = new Map();
    const own: Samples = new Map();
    const torch: Samples = new Map();
    const roundRatios = new Map<string, number[]>();
    let leaked = 0;
    for (let r = 0; r < rounds; r++) {
      if (baseline) {
        restoreOriginalWasmKernels(replaced);
        figuresInto(own, await measure(size, n, batchSizes));
        registerWasmKernels();
      }
      const before = tf.memory().numTensors;
      const f = await measure(size, n, batchSizes);
      leaked += tf.memory().numTensors - before;
      figuresInto(ours, f);
      if (!wantTorch) continue;
      const round: Samples = new Map();
      for (const bs of batchSizes) {
        const t = runTorch(script, size, n, bs);
        if (t === undefined) continue;
        add(round, `train b${bs}`, t.train_img_s);
        add(round, 'predict', t.predict_img_s);
        add(round, 'input-grad', t.input_grad_img_s);
      }
      const mine: Samples = new Map();
      figuresInto(mine, f);
      for (const [key, values] of round) {
        for (const v of values) add(torch, key, v);
        add(roundRatios, key, best(mine.get(key)) / best(values));
      }
    }
    console.log(`${size.label} N=${n} (tensors leaked: ${leaked})`);
    const head = ['tfjs', ...(baseline ? ['own-k'] : []), 'torch', 'tfjs/torch'];
    if (baseline) head.push('own-k/torch');
    console.log(
      `  ${''.padEnd(11)}${head.map((h) => h.padStart(12)).join('')}   per round tfjs/torch`,
    );
    for (const key of ours.keys()) {
      const o = best(ours.get(key));
      const t = best(torch.get(key));
      const b = best(own.get(key));
      const cols = [
        cell(o, 11),
        ...(baseline ? [cell(b, 11)] : []),
        cell(t, 11),
        ratioCell(o, t, 11),
      ];
      if (baseline) cols.push(ratioCell(b, t, 12));
      const per = (roundRatios.get(key) ?? []).map((v) => v.toFixed(2)).join(' ');
      console.log(`  ${key.padEnd(11)}${cols.join('')}   ${per}`);
    }
  }
  if (!wantTorch) console.log('(no PyTorch comparison: python3-torch missing or --torch no)');
  if (baseline) console.log('own-k: wasm with its own kernels, only Conv2DBackpropFilter added');
}

await main();
