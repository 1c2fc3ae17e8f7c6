import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExecutionInput, Provenance } from '../../src/dag/provenance.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function dbFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-prov-'));
  dirs.push(dir);
  return path.join(dir, 'provenance.db');
}

function open(): { prov: Provenance; file: string } {
  const file = dbFile();
  return { prov: new Provenance(file), file };
}

function startRun(prov: Provenance, id: string): void {
  prov.startRun({
    id,
    argv: '[]',
    profile: null,
    tool_version: '0',
    host: 'h',
    meta: '{}',
    started_at: 1,
    params: null,
  });
}

const execution = (
  runId: string,
  status: ExecutionInput['status'],
  sourceKey: string,
): ExecutionInput => ({
  runId,
  stageId: 'B',
  kind: 'command',
  key: 'kB',
  status,
  startedAt: 1,
  endedAt: 2,
  logPath: null,
  params: {},
  outputTree: 'tB',
  facts: {},
  inputs: [
    { label: 'a=A:a.txt', digest: 'dA', sourceStage: 'A', sourceKey },
    { label: 'notes.txt', digest: 'dN', sourceStage: null, sourceKey: null },
  ],
  outputs: [{ path: 'b.txt', digest: 'dB', size: 2 }],
});

/** Lineage rows as `why` and `diff` read them, without the execution id. */
const lineage = (prov: Provenance, id: number) =>
  [...prov.inputsOf(id), ...prov.outputsOf(id)].map(({ execution_id: _, ...row }) => row);

describe('Provenance lineage of cached executions', () => {
  it('a cached execution shares the rows of the one it reuses, and reads back the same', async () => {
    const { prov, file } = open();
    startRun(prov, 'r1');
    prov.recordExecutions([execution('r1', 'ran', 'kA')]);
    startRun(prov, 'r2');
    prov.recordExecutions([execution('r2', 'cached', 'kA')]);
    const [ran] = prov.executionsOfRun('r1');
    const [cached] = prov.executionsOfRun('r2');
    if (!ran || !cached) throw new Error('executions not recorded');
    expect(cached.lineage_of).toBe(ran.id);
    expect(lineage(prov, cached.id)).toEqual(lineage(prov, ran.id));
    expect(lineage(prov, ran.id)).toHaveLength(4);
    prov.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file, { readonly: true });
    const rows = db.prepare('SELECT count(*) AS n FROM lineage').get() as { n: number };
    db.close();
    expect(rows.n).toBe(4);
  });

  it('a cached execution whose upstream key differs (early cutoff) keeps its own rows', () => {
    const { prov } = open();
    startRun(prov, 'r1');
    prov.recordExecutions([execution('r1', 'ran', 'kA')]);
    startRun(prov, 'r2');
    prov.recordExecutions([execution('r2', 'cached', 'kA2')]);
    const [cached] = prov.executionsOfRun('r2');
    if (!cached) throw new Error('execution not recorded');
    expect(cached.lineage_of).toBeNull();
    expect(prov.inputsOf(cached.id)[0]).toMatchObject({ source_key: 'kA2' });
    startRun(prov, 'r3');
    prov.recordExecutions([execution('r3', 'cached', 'kA2')]);
    expect(prov.executionsOfRun('r3')[0]?.lineage_of).toBe(cached.id);
    prov.close();
  });

  it('reopening an up-to-date file leaves its schema as it is; an old one is upgraded', async () => {
    const { prov, file } = open();
    prov.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    const indexes = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    expect(indexes).toContain('executions_own_lineage');
    expect(indexes).not.toContain('executions_stage');
    expect(indexes).not.toContain('executions_key');
    db.pragma('user_version = 0');
    db.exec('DROP INDEX executions_own_lineage');
    db.close();
    new Provenance(file).close();
    const again = new Database(file, { readonly: true });
    expect(
      again.prepare(`SELECT name FROM sqlite_master WHERE name = 'executions_own_lineage'`).get(),
    ).toBeDefined();
    again.close();
  });
});

describe('Provenance', () => {
  it('keeps facts with executions and finds producers of digests, also in an older db', async () => {
    const { default: Database } = await import('better-sqlite3');
    const file = dbFile();
    const old = new Database(file);
    old.exec(`CREATE TABLE executions (
      id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, stage_id TEXT NOT NULL,
      kind TEXT NOT NULL, key TEXT, status TEXT NOT NULL, started_at INTEGER NOT NULL,
      ended_at INTEGER NOT NULL, duration_ms INTEGER NOT NULL, log_path TEXT,
      params TEXT NOT NULL, output_tree TEXT)`);
    old.close();
    const prov = new Provenance(file);
    startRun(prov, 'r1');
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
