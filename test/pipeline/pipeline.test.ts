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

/** The files the eps change rewrites, as the artifacts view shows them before and after. */
const EPS_FILES = [
  ...runs.map((k) => [`attack[${k},pgd]`, 'distances.json']),
  ...runs.map((k) => [`evaluate[${k}]`, 'asr.json']),
  [`aggregate[${D}]`, 'tables.csv'],
] as [string, string][];
const changedFiles = () =>
  new Map(
    EPS_FILES.map(([stage, file]) => [`${stage}/${file}`, readFileSync(art(stage, file), 'utf8')]),
  );
let before = new Map<string, string>();
let after = new Map<string, string>();

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
    before = changedFiles();
    const r = cli(ws, ['run', ...PROFILE, ...set, '--json']);
    expect(r.status, failedLogs(ws, r.stdout)).toBe(0);
    expect(started(r.stdout)).toEqual(expected);
    after = changedFiles();
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

describe('diff between the run before and after --set attacks.pgd.eps=0.1', () => {
  interface Change {
    at: string;
    old: number | null;
    new: number | null;
    delta: number | null;
  }
  interface Diff {
    a: { id: string };
    b: { id: string; planned?: boolean };
    params: { path: string; old?: unknown; new?: unknown }[] | null;
    stages: { reran: string[]; cached: string[]; onlyA: string[]; onlyB: string[] };
    files: { stageId: string; file: string; series: { series: string; changes: Change[] }[] }[];
    missing: { stageId: string; run: string; files: string[] }[];
  }
  const diff = (args: string[] = []): Diff => {
    const r = cli(ws, ['diff', '--json', ...args]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Diff;
  };
  const epsRun = [...runs.map((k) => `attack[${k},pgd]`), ...all('evaluate'), ...TAIL].sort();
  // The last two runs: the eps change, and (by default) the one before it.
  const twoRuns = () => {
    const log = JSON.parse(cli(ws, ['log', '--json']).stdout) as { id: string; argv: string[] }[];
    const eps = log.findIndex((r) => r.argv.includes('attacks.pgd.eps=0.1'));
    return { a: log[eps + 1]?.id as string, b: log[eps]?.id as string };
  };

  it('names the changed param and the stages that reran and stayed cached', () => {
    const { a, b } = twoRuns();
    const d = diff([a, b]);
    expect(d.params).toEqual([{ path: 'attacks.pgd.eps', old: 0.3, new: 0.1 }]);
    expect([...d.stages.reran].sort()).toEqual(epsRun);
    expect([...d.stages.cached].sort()).toEqual(ALL_STAGES.filter((id) => !epsRun.includes(id)));
    expect([d.stages.onlyA, d.stages.onlyB]).toEqual([[], []]);
  });

  it("reports every changed number, old -> new, as the two runs' files hold them", () => {
    const { a, b } = twoRuns();
    const d = diff([a, b]);
    const reported = (stage: string, file: string, series: string) =>
      d.files
        .find((f) => f.stageId === stage && f.file === file)
        ?.series.find((s) => s.series === series)?.changes ?? [];
    const expectSeries = (
      stage: string,
      file: string,
      series: string,
      old: number[],
      now: number[],
    ) => {
      const expected = old.flatMap((v, i) =>
        v === now[i]
          ? []
          : [{ at: String(i), old: v, new: now[i] as number, delta: (now[i] as number) - v }],
      );
      expect(reported(stage, file, series)).toEqual(expected);
      return expected.length;
    };
    let changed = 0;
    for (const k of runs) {
      const read = (m: Map<string, string>, stage: string, file: string) =>
        JSON.parse(m.get(`${stage}/${file}`) as string);
      const dist = (m: Map<string, string>) =>
        read(m, `attack[${k},pgd]`, 'distances.json') as { linf: number[] };
      changed += expectSeries(
        `attack[${k},pgd]`,
        'distances.json',
        'linf[*]',
        dist(before).linf,
        dist(after).linf,
      );
      const asr = (m: Map<string, string>) =>
        read(m, `evaluate[${k}]`, 'asr.json') as { asr: { pgd: number[] } };
      expectSeries(
        `evaluate[${k}]`,
        'asr.json',
        'asr.pgd[*]',
        asr(before).asr.pgd,
        asr(after).asr.pgd,
      );
      // Only PGD changed: FGSM's curve is not reported.
      expect(reported(`evaluate[${k}]`, 'asr.json', 'asr.fgsm[*]')).toEqual([]);
    }
    // eps 0.3 -> 0.1 moves L-inf of every PGD example.
    expect(changed).toBeGreaterThan(0);
    const table = (m: Map<string, string>) =>
      (m.get(`aggregate[${D}]/tables.csv`) as string)
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','));
    const row = (m: Map<string, string>, regime: string) =>
      table(m).find((r) => r[2] === regime && r[3] === 'pgd') as string[];
    const linf = reported(`aggregate[${D}]`, 'tables.csv', 'linf_mean');
    for (const regime of REGIMES) {
      const label = `${D} ${regime} pgd attack[${D}`;
      const c = linf.find((x) => x.at.startsWith(`${D} ${regime} pgd`));
      expect(c, label).toBeDefined();
      expect([c?.old, c?.new]).toEqual([
        Number(row(before, regime)[9]),
        Number(row(after, regime)[9]),
      ]);
    }
  });

  it('prints text and Markdown a person can paste', () => {
    const { a, b } = twoRuns();
    const text = cli(ws, ['diff', a, b]).stdout;
    expect(text).toContain('attacks.pgd.eps  0.3 -> 0.1');
    expect(text).toMatch(/stay cached \(\d+\): data\[synthetic\]/);
    expect(text).toContain(`attack[${D},normal,0,pgd]  distances.json`);
    const md = cli(ws, ['diff', '--markdown', a, b]).stdout;
    expect(md).toContain('| `attacks.pgd.eps` | 0.3 | 0.1 |');
    expect(md).toContain(`#### \`attack[${D},normal,0,pgd]\` distances.json`);
    expect(md).toMatch(/\| `linf\[\*\]` \| \[0\] \| 0\.3 \| 0\.1 \| -0\.2 \|/);
  });

  it('compares the last run with what --set would run, without running it', () => {
    const d = diff(['--profile', 'tiny', '--set', 'attacks.pgd.eps=0.2']);
    expect(d.b.planned).toBe(true);
    expect(d.params).toEqual([{ path: 'attacks.pgd.eps', old: 0.1, new: 0.2 }]);
    expect([...d.stages.reran].sort()).toEqual(epsRun);
    expect(d.files).toEqual([]);
  });

  it("report --against draws the other run's curves dashed in the same figures", () => {
    const { a, b } = twoRuns();
    const r = cli(ws, ['report', '--against', a, '-o', 'against.html']);
    expect(r.status, r.stderr).toBe(0);
    const html = readFileSync(join(ws, 'against.html'), 'utf8');
    expect(html).toContain(`run ${b} against ${a}`);
    expect(html).toContain(`Dashed lines: run <code>${a}</code>`);
    expect(html).toContain('<h2 id="verdicts">');
    const svgs = [...html.matchAll(/src="data:image\/svg\+xml;base64,([^"]*)"/g)].map((m) =>
      Buffer.from(m[1] as string, 'base64').toString('utf8'),
    );
    expect(svgs).toHaveLength(8);
    for (const svg of svgs) expect(svg).toContain('stroke-dasharray="6,4"');
  }, 120_000);

  it('says which outputs gc collected instead of failing', () => {
    const { a, b } = twoRuns();
    const compared = new Set(diff([a, b]).files.map((f) => f.stageId));
    expect(cli(ws, ['gc']).status).toBe(0);
    const d = diff([a, b]);
    const missing = d.missing.map((m) => m.stageId);
    for (const id of compared) expect(missing).toContain(id);
    for (const id of missing) expect(epsRun).toContain(id);
    expect(d.files).toEqual([]);
    for (const m of d.missing) expect(m.run).toBe(a);
    expect(d.params).toEqual([{ path: 'attacks.pgd.eps', old: 0.3, new: 0.1 }]);
    expect(cli(ws, ['diff', a, b]).stdout).toContain(`of run ${a} collected by gc, not compared`);
    const unknown = cli(ws, ['diff', 'no-such-run', b]);
    expect([unknown.status, unknown.stderr]).toEqual([
      2,
      expect.stringContaining("run 'no-such-run': no such run"),
    ]);
  });
});
