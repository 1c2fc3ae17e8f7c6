import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type * as PipelineModule from '../../src/dag/pipeline.js';
import type * as PlanModule from '../../src/dag/plan.js';
import type * as StatCacheModule from '../../src/dag/stat-cache.js';
import type * as StateIndexModule from '../../src/dag/state-index.js';
import type * as StoreModule from '../../src/dag/store.js';
import type * as StagesModule from '../../src/stages/index.js';
import { LINEAGE_WORKSPACE, Rig, stageIds } from './rig.js';

const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

/** The A -> B -> C workspace after one run, with its state index written. */
async function ranRig(): Promise<Rig> {
  const r = new Rig();
  rigs.push(r);
  for (const [file, text] of Object.entries(LINEAGE_WORKSPACE)) r.write(file, text);
  const run = await r.run(['run']);
  expect(run.code, run.stdout + run.stderr).toBe(0);
  expect(r.exists('cache/state-index.json')).toBe(true);
  return r;
}

const headOf = (r: Rig, stageId: string): string => r.read(`cache/heads/${stageId}`).trim();

const treeOf = (r: Rig, stageId: string): string =>
  (JSON.parse(r.read(`cache/stages/${headOf(r, stageId)}.json`)) as { outputTree: string })
    .outputTree;

/** Stage ids `status --json` says will run. */
async function willRun(r: Rig): Promise<string[]> {
  const status = await r.run(['status', '--json']);
  expect(status.code, status.stderr).toBe(0);
  const doc = JSON.parse(status.stdout) as { stages: { id: string; willRun: boolean }[] };
  return doc.stages.filter((s) => s.willRun).map((s) => s.id);
}

async function expectReruns(r: Rig, rerun: string[]): Promise<void> {
  const { result, events } = await r.events([]);
  expect(result.code, result.stderr).toBe(0);
  expect(stageIds(events)).toEqual(rerun);
  expect(await willRun(r)).toEqual([]);
  const verify = await r.run(['verify']);
  expect(verify.code, verify.stdout).toBe(0);
}

/** The built engine, as the CLI runs it (keys fingerprint the built kinds). */
const dist = async <T>(rel: string): Promise<T> =>
  (await import(new URL(`../../dist/src/${rel}`, import.meta.url).href)) as T;

/** Counts the store reads a plan makes (records and manifests). */
async function planReads(r: Rig): Promise<{ reads: number; willRun: string[] }> {
  const { loadPipeline } = await dist<typeof PipelineModule>('dag/pipeline.js');
  const { Planner, selectStages } = await dist<typeof PlanModule>('dag/plan.js');
  const { StateIndex } = await dist<typeof StateIndexModule>('dag/state-index.js');
  const { StatCache } = await dist<typeof StatCacheModule>('dag/stat-cache.js');
  const { Store } = await dist<typeof StoreModule>('dag/store.js');
  const registry = await (await dist<typeof StagesModule>('stages/index.js')).loadRegistry();
  const loaded = loadPipeline(r.read('pipeline.yaml'), 'pipeline.yaml', registry, { sets: [] });
  if (!loaded.ok) throw new Error('pipeline does not load');
  const store = new Store(r.path('cache'));
  let reads = 0;
  const readRecordFile = store.readRecordFile.bind(store);
  const readTree = store.readTree.bind(store);
  store.readRecordFile = (key) => {
    reads += 1;
    return readRecordFile(key);
  };
  store.readTree = (digest) => {
    reads += 1;
    return readTree(digest);
  };
  const pipeline = loaded.value;
  const planner = new Planner(
    pipeline,
    registry,
    store,
    new StatCache(r.path('cache/stat-cache.json')),
    r.dir,
    { force: new Set(), assumeFresh: new Set(), index: StateIndex.read(store) },
  );
  const { entries } = planner.plan(selectStages(pipeline, []));
  return { reads, willRun: entries.filter((e) => e.willRun).map((e) => e.id) };
}

describe('state index (cache/state-index.json)', () => {
  it('an up-to-date stage it names costs the plan no store read; one whose record changed does', async () => {
    const r = await ranRig();
    expect(await planReads(r)).toEqual({ reads: 0, willRun: [] });
    const record = r.path(`cache/stages/${headOf(r, 'B')}.json`);
    const text = fs.readFileSync(record, 'utf8');
    fs.rmSync(record);
    fs.writeFileSync(record, text);
    expect(await planReads(r)).toEqual({ reads: 2, willRun: [] });
  });

  it('a hand-deleted record: status says that stage will run, run redoes just it', async () => {
    const r = await ranRig();
    fs.rmSync(r.path(`cache/stages/${headOf(r, 'B')}.json`));
    expect(await willRun(r)).toEqual(['B', 'C']);
    await expectReruns(r, ['B']);
  });

  it('a hand-deleted output tree object: that stage runs again', async () => {
    const r = await ranRig();
    const tree = treeOf(r, 'A');
    fs.rmSync(r.path(`cache/objects/${tree.slice(0, 2)}/${tree.slice(2)}`));
    expect(await willRun(r)).toEqual(['A', 'B', 'C']);
    await expectReruns(r, ['A']);
  });

  it('a hand-deleted head is written again by the next (no-op) run', async () => {
    const r = await ranRig();
    const key = headOf(r, 'C');
    fs.rmSync(r.path('cache/heads/C'));
    await expectReruns(r, []);
    expect(headOf(r, 'C')).toBe(key);
  });

  it('after verify --repair drops a damaged object and its records, run redoes their stages', async () => {
    const r = await ranRig();
    const tree = treeOf(r, 'B');
    const object = r.path(`cache/objects/${tree.slice(0, 2)}/${tree.slice(2)}`);
    fs.chmodSync(object, 0o644);
    fs.appendFileSync(object, ' ');
    const repair = await r.run(['verify', '--repair']);
    expect(repair.stdout).toMatch(/^repaired: /m);
    await expectReruns(r, ['B']);
  });

  it('gc keeps what the index names: still all up to date, nothing reruns', async () => {
    const r = await ranRig();
    r.write('pipeline.yaml', LINEAGE_WORKSPACE['pipeline.yaml']?.replace('n: 2', 'n: 1') ?? '');
    expect((await r.run(['run'])).code).toBe(0);
    const gc = await r.run(['gc']);
    expect(gc.code, gc.stderr).toBe(0);
    await expectReruns(r, []);
  });

  it('a file added to a view or its subdirectory right after the run is named by status', async () => {
    const r = new Rig();
    rigs.push(r);
    r.write(
      'pipeline.yaml',
      `version: 1
stages:
  nest:
    kind: command
    cmd: mkdir -p d && echo x > d/x.txt && echo y > y.txt
    outs: [d/x.txt, y.txt]
`,
    );
    expect((await r.run(['run'])).code).toBe(0);
    fs.writeFileSync(r.path('artifacts/nest/d/added.txt'), 'mine\n');
    fs.writeFileSync(r.path('artifacts/nest/top.txt'), 'mine\n');
    const status = await r.run(['status', '--json']);
    expect(JSON.parse(status.stdout).artifacts).toEqual([
      { stageId: 'nest', path: 'd/added.txt', change: 'added' },
      { stageId: 'nest', path: 'top.txt', change: 'added' },
    ]);
    fs.rmSync(r.path('artifacts/nest/d/added.txt'));
    fs.rmSync(r.path('artifacts/nest/top.txt'));
    fs.rmSync(r.path('artifacts/nest/d/x.txt'));
    const again = await r.run(['status', '--json']);
    expect(JSON.parse(again.stdout).artifacts).toEqual([
      { stageId: 'nest', path: 'd/x.txt', change: 'deleted' },
    ]);
  });

  it('a no-op run leaves the index as it was; a run that rebuilds a view rewrites it', async () => {
    const r = await ranRig();
    const before = fs.statSync(r.path('cache/state-index.json'));
    await expectReruns(r, []);
    const after = fs.statSync(r.path('cache/state-index.json'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    r.write('notes.txt', 'four\nfive\n');
    await expectReruns(r, ['A', 'B', 'C']);
    expect(fs.statSync(r.path('cache/state-index.json')).ino).not.toBe(before.ino);
  });

  it('a run killed after it rebuilt a view leaves no index; a damaged index is ignored', async () => {
    const r = await ranRig();
    r.write(
      'pipeline.yaml',
      LINEAGE_WORKSPACE['pipeline.yaml']
        ?.replace('n: 2', 'n: 1')
        .replace('> b.txt', '> b.txt; sleep 3') ?? '',
    );
    const child = r.start(['run']);
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (d: Buffer) => {
        if (/start +B/.test(d.toString())) resolve();
      });
    });
    // 'exit', not 'close': the killed engine's shell may hold its stdout a few seconds more.
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(r.exists('cache/state-index.json')).toBe(false);
    r.write('pipeline.yaml', LINEAGE_WORKSPACE['pipeline.yaml'] ?? '');
    r.write('cache/state-index.json', '{"format": 1, "stages": {"A": {"key": 7');
    expect(await willRun(r)).toEqual([]);
    await expectReruns(r, []);
    expect(JSON.parse(r.read('cache/state-index.json'))).toMatchObject({ format: 1 });
  });
});
