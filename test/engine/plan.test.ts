import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConcreteStage, Pipeline } from '../../src/dag/pipeline-types.js';
import { Planner } from '../../src/dag/plan.js';
import { defineStage, type StageRegistry } from '../../src/dag/stage-kind.js';
import { StatCache } from '../../src/dag/stat-cache.js';
import { Store } from '../../src/dag/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A registry whose one kind lives in `file`: editing the file changes its fingerprint. */
function registryAt(file: string): StageRegistry {
  return new Map([
    [
      'k',
      defineStage({
        kind: 'k',
        description: 'test kind',
        paramsSchema: { type: 'object' },
        inputs: {},
        outputs: [],
        module: pathToFileURL(file).href,
        async run() {},
      }),
    ],
  ]);
}

const stage: ConcreteStage = {
  id: 's',
  name: 's',
  kind: 'k',
  matrix: {},
  params: { n: 1 },
  inputs: [],
  deps: [],
  tools: [],
  location: { file: 'pipeline.yaml', line: 1, column: 1 },
};
const pipeline: Pipeline = {
  file: 'pipeline.yaml',
  name: 't',
  profile: null,
  params: {},
  runtime: {},
  retry: {},
  priority: {},
  stages: [stage],
  groups: { s: ['s'] },
};

describe('Planner', () => {
  it('--assume-fresh accepts the previous output when only the code changed, not when params did', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-plan-'));
    dirs.push(ws);
    const store = new Store(path.join(ws, 'cache'));
    const stats = new StatCache(path.join(ws, 'cache', 'stat-cache.json'));
    const v1 = path.join(ws, 'kind-v1.js');
    const v2 = path.join(ws, 'kind-v2.js');
    fs.writeFileSync(v1, 'export const run = () => 1;\n');
    fs.writeFileSync(v2, 'export const run = () => 2;\n');
    const none = { force: new Set<string>(), assumeFresh: new Set<string>() };

    const first = new Planner(pipeline, registryAt(v1), store, stats, ws, none).decide(
      stage,
      () => '',
    );
    expect(first).toMatchObject({ status: 'stale', reason: { type: 'never-run' } });
    if (first.status !== 'stale') return;
    const out = await store.makeTempDir('s');
    fs.writeFileSync(path.join(out, 'o.txt'), 'result\n');
    const { treeDigest } = await store.commit(out, (outputTree) => ({
      stageId: 's',
      kind: 'k',
      key: first.key,
      keyRecord: first.record,
      outputTree,
      origin: 'ran',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:00:01.000Z',
      durationMs: 1000,
    }));
    await store.writeHead('s', first.key);

    const same = new Planner(pipeline, registryAt(v1), store, stats, ws, none).decide(
      stage,
      () => '',
    );
    expect(same).toMatchObject({ status: 'fresh', key: first.key, reason: { type: 'up-to-date' } });

    const edited = new Planner(pipeline, registryAt(v2), store, stats, ws, none).decide(
      stage,
      () => '',
    );
    expect(edited).toMatchObject({ status: 'stale', reason: { type: 'code-changed', kind: 'k' } });

    const assume = { force: new Set<string>(), assumeFresh: new Set(['s']) };
    const accepted = new Planner(pipeline, registryAt(v2), store, stats, ws, assume).decide(
      stage,
      () => '',
    );
    expect(accepted).toMatchObject({
      status: 'fresh',
      outputTree: treeDigest,
      reason: { type: 'assumed-fresh' },
    });
    expect(accepted.status === 'fresh' && accepted.key).not.toBe(first.key);

    const paramsToo = new Planner(
      { ...pipeline, stages: [{ ...stage, params: { n: 2 } }] },
      registryAt(v2),
      store,
      stats,
      ws,
      assume,
    ).decide({ ...stage, params: { n: 2 } }, () => '');
    expect(paramsToo).toMatchObject({
      status: 'stale',
      reason: { type: 'params-changed', changes: [{ path: 'n', from: 1, to: 2 }] },
    });
  });
});
