/**
 * The paper's pipeline end to end through the real CLI on the `tiny` profile: every stage
 * kind runs, and every artifact exists and parses (npy shapes, models load, CSV columns,
 * PNG signatures, report.html carrying its figures). Then which stages rerun after the
 * changes a user makes most: an attack parameter, one regime's learning rate, the number of
 * epochs, the dataset.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/ml/backend.js';
import { loadNpy } from '../../src/ml/data/npy.js';
import { loadModel } from '../../src/ml/model-io.js';
import {
  cli,
  failedLogs,
  makeTinyWorkspace,
  ROOT,
  SIDE,
  started,
  TEST,
  TRAIN,
  willRun,
} from './tiny-workspace.js';

const D = 'synthetic';
const REGIMES = ['normal', 'overfitting'];
const FOLDS = [0, 1];
const ATTACKS = ['fgsm', 'pgd', 'cw'];
const runs = REGIMES.flatMap((r) => FOLDS.map((f) => `${D},${r},${f}`));
const all = (name: string, keys = runs) => keys.map((k) => `${name}[${k}]`);
const TAIL = [`aggregate[${D}]`, `plot[${D}]`, 'report'];
const ALL_STAGES = [
  `data[${D}]`,
  `split[${D}]`,
  ...all('train'),
  ...all('select'),
  ...runs.flatMap((k) => ATTACKS.map((a) => `attack[${k},${a}]`)),
  ...all('evaluate'),
  ...all('metrics'),
  ...TAIL,
].sort();

let ws: string;
const art = (...parts: string[]) => join(ws, 'artifacts', ...parts);
const json = <T>(...parts: string[]): T => JSON.parse(readFileSync(art(...parts), 'utf8')) as T;
const csv = (...parts: string[]) =>
  readFileSync(art(...parts), 'utf8')
    .trim()
    .split('\n');
const PROFILE = ['--profile', 'tiny'];

beforeAll(() => {
  ws = makeTinyWorkspace();
  const r = cli(ws, ['run', ...PROFILE, '--json']);
  if (r.status !== 0)
    throw new Error(`run failed (${r.status}):\n${r.stderr}\n${failedLogs(ws, r.stdout)}`);
  expect(started(r.stdout)).toEqual(ALL_STAGES);
}, 300_000);

afterAll(() => {
  if (ws) rmSync(ws, { recursive: true, force: true });
});

describe('tiny profile through every stage kind', () => {
  it('fetch writes the dataset as float32 NHWC and int32 labels', () => {
    const images = loadNpy(art(`data[${D}]`, 'train_images.npy'));
    expect(images.dtype).toBe('float32');
    expect(images.shape).toEqual([TRAIN, SIDE, SIDE, 1]);
    expect(loadNpy(art(`data[${D}]`, 'test_labels.npy')).shape).toEqual([TEST]);
    expect(json<{ classes: number }>(`data[${D}]`, 'dataset.json').classes).toBe(2);
  });

  it('split writes folds that partition the training set', () => {
    const folds = FOLDS.map((f) =>
      json<{ train: number[]; val: number[] }>(`split[${D}]`, `fold-${f}.json`),
    );
    const vals = folds.flatMap((f) => f.val).sort((a, b) => a - b);
    expect(vals).toEqual(Array.from({ length: TRAIN }, (_, i) => i));
    for (const f of folds) expect(f.train.length + f.val.length).toBe(TRAIN);
  });

  it('train keeps a loadable model per epoch and the history; select picks one of them', async () => {
    await initBackend('cpu');
    for (const k of runs) {
      const h = json<{ epochs: number[]; val_acc: number[]; snapshots: string[] }>(
        `train[${k}]`,
        'history.json',
      );
      expect(h.epochs).toEqual([1, 2]);
      expect(h.val_acc).toHaveLength(2);
      const model = await loadModel(art(`train[${k}]`, h.snapshots[1] as string));
      expect(model.outputs[0]?.shape).toEqual([null, 2]);
      model.dispose();
      const selected = json<{ epoch: number }>(`select[${k}]`, 'selected.json');
      expect(h.epochs).toContain(selected.epoch);
    }
  });

  it('attack writes adversarial sets within [0, 1] with labels and per-example distances', () => {
    for (const k of runs) {
      for (const a of ATTACKS) {
        const dir = `attack[${k},${a}]`;
        const adv = loadNpy(art(dir, 'adversarial.npy'));
        const n = adv.shape[0] as number;
        expect(adv.shape).toEqual([n, SIDE, SIDE, 1]);
        expect(n).toBeLessThanOrEqual(4);
        expect(Math.max(...(adv.data as Float32Array))).toBeLessThanOrEqual(1);
        expect(loadNpy(art(dir, 'labels.npy')).shape).toEqual([n]);
        const d = json<{ l0: number[]; l2: number[]; linf: number[] }>(dir, 'distances.json');
        expect([d.l0.length, d.l2.length, d.linf.length]).toEqual([n, n, n]);
        if (a !== 'cw') for (const v of d.linf) expect(v).toBeLessThanOrEqual(0.3 + 1e-6);
      }
    }
  });

  it('evaluate and metrics write one CSV row per epoch', () => {
    for (const k of runs) {
      const asr = csv(`evaluate[${k}]`, 'asr.csv');
      expect(asr[0]).toBe('epoch,test_accuracy,asr_fgsm,asr_pgd,asr_cw');
      expect(asr).toHaveLength(3);
      const m = csv(`metrics[${k}]`, 'metrics.csv');
      expect(m[0]).toBe('epoch,clever,loss_sensitivity,empirical_robustness');
      expect(m).toHaveLength(3);
      for (const row of m.slice(1))
        for (const v of row.split(',')) expect(Number.isFinite(Number(v))).toBe(true);
      // The per-image CLEVER scores are written next to their means.
      const mj = json<{ examples: number; clever: number[]; cleverPerImage: number[][] }>(
        `metrics[${k}]`,
        'metrics.json',
      );
      expect(mj.cleverPerImage).toHaveLength(mj.clever.length);
      mj.cleverPerImage.forEach((scores, e) => {
        expect(scores).toHaveLength(mj.examples);
        const mean = scores.reduce((a, v) => a + v, 0) / scores.length;
        expect(mean).toBeCloseTo(mj.clever[e] as number, 12);
      });
    }
  });

  it('aggregate writes Tables 2-5 with a row per regime and attack', () => {
    const rows = csv(`aggregate[${D}]`, 'tables.csv');
    expect(rows[0]).toBe(
      'table,dataset,regime,attack,examples,l0_mean,l0_std,l2_mean,l2_std,linf_mean,linf_std,sources',
    );
    expect(rows).toHaveLength(1 + REGIMES.length * ATTACKS.length);
    const agg = json<{ regimes: { regime: string; folds: number[] }[] }>(
      `aggregate[${D}]`,
      'aggregate.json',
    );
    expect(agg.regimes.map((r) => [r.regime, r.folds])).toEqual(REGIMES.map((r) => [r, FOLDS]));
  });

  it('plot writes Figures 3-10 as SVG and PNG', () => {
    const files = readdirSync(art(`plot[${D}]`, 'figures'));
    const pngs = files.filter((f) => f.endsWith('.png'));
    expect(pngs).toHaveLength(8);
    for (const png of pngs) {
      const bytes = readFileSync(art(`plot[${D}]`, 'figures', png));
      expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(
        readFileSync(art(`plot[${D}]`, 'figures', png.replace(/\.png$/, '.svg')), 'utf8'),
      ).toMatch(/^<svg/);
    }
  });

  it('report.html carries every figure inline and names the stages behind each number', () => {
    const html = readFileSync(art('report', 'report.html'), 'utf8');
    const figures = json<{ id: string }[]>(`plot[${D}]`, 'figures.json');
    expect(figures).toHaveLength(8);
    for (const f of figures) expect(html).toContain(`<figure id="${f.id}">`);
    expect(html.match(/src="data:image\/svg\+xml;base64,/g)).toHaveLength(8);
    expect(html).not.toMatch(/\s(src|href)="(?!data:)/);
    for (const k of runs) expect(html).toContain(`evaluate[${k}]`);
    expect(existsSync(art('report', 'tables.md'))).toBe(true);
  });

  it('keys hold the packages each kind imports but not the backend, which `why` shows', () => {
    const key = readFileSync(join(ws, 'cache', 'heads', `train[${D},normal,0]`), 'utf8').trim();
    const record = JSON.parse(readFileSync(join(ws, 'cache', 'stages', `${key}.json`), 'utf8'))
      .keyRecord as { packages: Record<string, string[]> };
    const core = JSON.parse(
      readFileSync(join(ROOT, 'node_modules/@tensorflow/tfjs-core/package.json'), 'utf8'),
    ) as { version: string };
    expect(record.packages['@tensorflow/tfjs-core']?.[0]).toMatch(new RegExp(`^${core.version}`));
    expect(record.packages['@tensorflow/tfjs-backend-cpu']).toBeUndefined();
    expect(record.packages['@tensorflow/tfjs-backend-wasm']).toBeUndefined();
    expect(record.packages['@tensorflow/tfjs-backend-webgpu']).toBeUndefined();
    expect(record.packages.webgpu).toBeUndefined();
    const why = cli(ws, ['why', art(`train[${D},normal,0]`, 'history.json')]);
    expect(why.stdout).toMatch(/"backendPackage":"@tensorflow\/tfjs-backend-cpu@\d/);
  });
});

describe('what reruns after a change', () => {
  const regime = (r: string, names: string[]) =>
    names.flatMap((n) =>
      n === 'attack'
        ? FOLDS.flatMap((f) => ATTACKS.map((a) => `attack[${D},${r},${f},${a}]`))
        : FOLDS.map((f) => `${n}[${D},${r},${f}]`),
    );

  it('attacks.pgd.eps: the PGD attacks, the evaluations that read them, and the summary', () => {
    const set = ['--set', 'attacks.pgd.eps=0.1'];
    const expected = [...runs.map((k) => `attack[${k},pgd]`), ...all('evaluate'), ...TAIL].sort();
    expect(willRun(ws, [...PROFILE, ...set])).toEqual(expected);
    const r = cli(ws, ['run', ...PROFILE, ...set, '--json']);
    expect(r.status, failedLogs(ws, r.stdout)).toBe(0);
    expect(started(r.stdout)).toEqual(expected);
  }, 240_000);

  it("one regime's learning rate: that regime's runs from training on", () => {
    const expected = [
      ...regime('normal', ['train', 'select', 'attack', 'evaluate', 'metrics']),
      ...TAIL,
    ].sort();
    expect(willRun(ws, [...PROFILE, '--set', 'regimes.normal.learning_rate=0.002'])).toEqual(
      expected,
    );
  });

  it("the number of epochs of a regime: that regime's runs from training on", () => {
    const expected = [
      ...regime('overfitting', ['train', 'select', 'attack', 'evaluate', 'metrics']),
      ...TAIL,
    ].sort();
    expect(willRun(ws, [...PROFILE, '--set', 'regimes.overfitting.epochs=3'])).toEqual(expected);
  });

  it('the dataset: everything', () => {
    expect(willRun(ws, [...PROFILE, '--set', 'data.synthetic.path=elsewhere'])).toEqual(ALL_STAGES);
  });

  it('nothing changed: nothing reruns', () => {
    expect(willRun(ws, PROFILE)).toEqual([]);
  });
});
