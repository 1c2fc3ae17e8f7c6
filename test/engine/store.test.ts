import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/dag/lock.js';
import { Scheduler } from '../../src/dag/scheduler.js';
import { StatCache } from '../../src/dag/stat-cache.js';
import { hashTree, Store, sha256, subtreeDigest } from '../../src/dag/store.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-store-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('Store', () => {
  it('adopts a tree into objects whose names are the sha256 of their bytes', () => {
    const root = tmp();
    const store = new Store(path.join(root, 'cache'));
    const out = store.makeTempDir('s');
    fs.mkdirSync(path.join(out, 'sub'));
    fs.writeFileSync(path.join(out, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(out, 'sub', 'b.txt'), 'beta\n');
    const before = hashTree(out);
    const { treeDigest, manifest } = store.adoptTree(out);
    expect(treeDigest).toBe(before);
    expect(manifest.entries.map((e) => [e.path, e.digest, e.size])).toEqual([
      ['a.txt', sha256('alpha\n'), 6],
      ['sub/b.txt', sha256('beta\n'), 5],
    ]);
    expect(store.readObject(sha256('beta\n')).toString()).toBe('beta\n');
    expect(sha256(store.readObject(treeDigest))).toBe(treeDigest);
    expect(subtreeDigest(manifest, 'a.txt')).toBe(sha256('alpha\n'));
    expect(subtreeDigest(manifest, 'nope')).toBeUndefined();
    const sub = store.makeTempDir('t');
    fs.writeFileSync(path.join(sub, 'b.txt'), 'beta\n');
    expect(subtreeDigest(manifest, 'sub')).toBe(hashTree(sub));
  });
});

describe('StatCache', () => {
  it('hashes a file again only when its stat changes', () => {
    const root = tmp();
    const file = path.join(root, 'dep.txt');
    fs.writeFileSync(file, 'one\n');
    const first = new StatCache(path.join(root, 'stat.json'));
    expect(first.pathDigest(file)).toBe(sha256('one\n'));
    first.save();
    const second = new StatCache(path.join(root, 'stat.json'));
    expect(second.pathDigest(file)).toBe(sha256('one\n'));
    expect(second.hashed).toBe(0);
    fs.writeFileSync(file, 'two, longer\n');
    expect(second.pathDigest(file)).toBe(sha256('two, longer\n'));
    expect(second.hashed).toBe(1);
    expect(second.pathDigest(path.join(root, 'missing'))).toBeUndefined();
  });
});

describe('workspace lock', () => {
  it('refuses a live holder and takes over a dead one', () => {
    const cache = tmp();
    const mine = acquireLock(cache, ['run']);
    expect(mine.ok).toBe(true);
    const again = acquireLock(cache, ['run']);
    expect(again).toMatchObject({ ok: false, holder: { pid: process.pid, argv: ['run'] } });
    if (mine.ok) mine.release();
    const dead = spawnSync('true').pid;
    fs.writeFileSync(
      path.join(cache, 'run.lock'),
      JSON.stringify({ pid: dead, host: os.hostname(), startedAt: 'then', argv: [] }),
    );
    const taken = acquireLock(cache, ['run']);
    expect(taken.ok).toBe(true);
    if (taken.ok) taken.release();
    expect(fs.existsSync(path.join(cache, 'run.lock'))).toBe(false);
  });
});

describe('Scheduler', () => {
  it('never runs more than the tokens allow and clamps needs above capacity', async () => {
    const scheduler = new Scheduler(4, { cpu: 4, gpu: 1, memoryMb: 1000 });
    const signal = new AbortController().signal;
    let gpuNow = 0;
    let gpuMax = 0;
    let cpuNow = 0;
    let cpuMax = 0;
    const task = (cpu: number, gpu: number) => async () => {
      cpuNow += cpu;
      gpuNow += gpu;
      cpuMax = Math.max(cpuMax, cpuNow);
      gpuMax = Math.max(gpuMax, gpuNow);
      await new Promise((r) => setTimeout(r, 5));
      cpuNow -= cpu;
      gpuNow -= gpu;
      return cpu;
    };
    const results = await Promise.all([
      scheduler.run({ cpu: 1, gpu: 1 }, signal, task(1, 1)),
      scheduler.run({ cpu: 1, gpu: 1 }, signal, task(1, 1)),
      scheduler.run({ cpu: 3 }, signal, task(3, 0)),
      scheduler.run({ cpu: 9 }, signal, task(4, 0)),
      scheduler.run({ cpu: 1 }, signal, task(1, 0)),
    ]);
    expect(results).toEqual([1, 1, 3, 4, 1]);
    expect(gpuMax).toBe(1);
    expect(cpuMax).toBeLessThanOrEqual(4);
    const aborted = new AbortController();
    aborted.abort();
    expect(await scheduler.run({ cpu: 1 }, aborted.signal, task(1, 0))).toBeUndefined();
  });
});

describe('Provenance', () => {
  it('keeps facts with executions and finds producers of digests, also in an older db', async () => {
    const { default: Database } = await import('better-sqlite3');
    const { Provenance } = await import('../../src/dag/provenance.js');
    const file = path.join(tmp(), 'provenance.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE executions (
      id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, stage_id TEXT NOT NULL,
      kind TEXT NOT NULL, key TEXT, status TEXT NOT NULL, started_at INTEGER NOT NULL,
      ended_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, log_path TEXT,
      params TEXT NOT NULL, output_tree TEXT)`);
    old.close();
    const prov = new Provenance(file);
    prov.startRun({
      id: 'r1',
      argv: '[]',
      profile: null,
      tool_version: '0',
      host: 'h',
      meta: '{}',
      started_at: 1,
      params: null,
    });
    prov.recordExecutions([
      {
        runId: 'r1',
        stageId: 'train[a,0]',
        kind: 'train',
        key: 'k1',
        status: 'ran',
        startedAt: 10,
        endedAt: 25,
        logPath: null,
        params: { lr: 0.1 },
        outputTree: 't1',
        facts: { backend: 'wasm' },
        inputs: [{ label: 'data=fetch', digest: 'd0', sourceStage: 'fetch', sourceKey: 'k0' }],
        outputs: [{ path: 'model.json', digest: 'm1', size: 3 }],
      },
    ]);
    prov.finishRun('r1', 'success', 30);
    const producer = prov.producerOf('m1');
    expect(producer).toMatchObject({
      stage_id: 'train[a,0]',
      duration_ms: 15,
      params: '{"lr":0.1}',
    });
    expect(JSON.parse(producer?.facts ?? '')).toEqual({ backend: 'wasm' });
    expect(prov.inputsOf(producer?.id ?? -1)).toMatchObject([
      { digest: 'd0', source_stage: 'fetch', source_key: 'k0' },
    ]);
    expect(prov.runs(5)).toMatchObject([{ id: 'r1', status: 'success', ended_at: 30 }]);
    prov.close();
  });
});
