/**
 * Package versions in keys, end to end: the built engine (dist/, which forks real stage
 * processes) runs kinds defined in a temp workspace that import a package from that
 * workspace's own node_modules. Bumping the version of a package deep in that graph reruns
 * exactly the kinds that import it, and their dependents only where the output changed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineEvent, StageReason } from '../../src/dag/events.js';
import type { loadPipeline as LoadPipeline } from '../../src/dag/pipeline.js';
import type { Provenance as ProvenanceClass } from '../../src/dag/provenance.js';
import type { runPipeline as RunPipeline } from '../../src/dag/run.js';
import type { StageKind, StageRegistry } from '../../src/dag/stage-kind.js';

const dist = (rel: string): string => new URL(`../../dist/src/dag/${rel}`, import.meta.url).href;

let engine: {
  loadPipeline: typeof LoadPipeline;
  runPipeline: typeof RunPipeline;
  Provenance: typeof ProvenanceClass;
  LocalExecutor: new () => unknown;
};

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-pkgkeys-'));
afterAll(() => fs.rmSync(ws, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
  fs.writeFileSync(path.join(ws, rel), text);
}

/** `wordlib` re-exports `word` from `worddep`: a bump of the dependency is a bump two levels down. */
function installWordDep(version: string, word: string): void {
  write(
    'node_modules/worddep/package.json',
    JSON.stringify({ name: 'worddep', version, type: 'module', main: 'index.js' }),
  );
  write('node_modules/worddep/index.js', `export const word = ${JSON.stringify(word)};\n`);
}

/** A stage kind in the workspace; `body` writes `out.txt` from `input` (the input's text). */
function kindModule(name: string, imports: string, body: string): void {
  write(
    `kinds/${name}.mjs`,
    `import * as fs from 'node:fs';
import * as path from 'node:path';
${imports}
export const ${name} = {
  kind: '${name}',
  description: 'test kind',
  paramsSchema: { type: 'object' },
  inputs: { in: { description: 'upstream', optional: true } },
  outputs: ['out.txt'],
  module: import.meta.url,
  async run(ctx) {
    const input = ctx.inputs.in ? fs.readFileSync(path.join(ctx.inputs.in, 'out.txt'), 'utf8') : '';
    fs.writeFileSync(path.join(ctx.outDir, 'out.txt'), ${body});
  },
};
`,
  );
}

let registry: StageRegistry;

beforeAll(async () => {
  engine = {
    ...((await import(dist('pipeline.js'))) as { loadPipeline: typeof LoadPipeline }),
    ...((await import(dist('run.js'))) as { runPipeline: typeof RunPipeline }),
    ...((await import(dist('provenance.js'))) as { Provenance: typeof ProvenanceClass }),
    ...((await import(dist('executor.js'))) as { LocalExecutor: new () => unknown }),
  };
  write(
    'node_modules/wordlib/package.json',
    JSON.stringify({
      name: 'wordlib',
      version: '1.0.0',
      type: 'module',
      main: 'index.js',
      dependencies: { worddep: '^1' },
    }),
  );
  write('node_modules/wordlib/index.js', `export { word } from 'worddep';\n`);
  installWordDep('1.0.0', 'one');
  // Both import the library; only `says` puts what it returns into its output.
  kindModule('steady', `import { word } from 'wordlib';`, `'steady ' + typeof word`);
  kindModule('says', `import { word } from 'wordlib';`, 'word');
  kindModule('plain', '', `'plain:' + input`);
  const kinds: StageKind[] = [];
  for (const name of ['steady', 'says', 'plain']) {
    const mod = (await import(pathToFileURL(path.join(ws, 'kinds', `${name}.mjs`)).href)) as Record<
      string,
      StageKind
    >;
    kinds.push(mod[name] as StageKind);
  }
  registry = new Map(kinds.map((k) => [k.kind, k]));
  write(
    'pipeline.yaml',
    `version: 1
stages:
  steady: { kind: steady }
  after_steady: { kind: plain, inputs: { in: steady } }
  says: { kind: says }
  after_says: { kind: plain, inputs: { in: says } }
  alone: { kind: plain }
`,
  );
});

async function run(assumeFresh: string[] = []): Promise<EngineEvent[]> {
  const loaded = engine.loadPipeline(
    fs.readFileSync(path.join(ws, 'pipeline.yaml'), 'utf8'),
    'pipeline.yaml',
    registry,
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const events: EngineEvent[] = [];
  fs.mkdirSync(path.join(ws, 'cache'), { recursive: true });
  const provenance = new engine.Provenance(path.join(ws, 'cache', 'provenance.db'));
  try {
    const result = await engine.runPipeline({
      workspace: ws,
      pipeline: loaded.value,
      registry,
      targets: [],
      force: [],
      assumeFresh,
      jobs: 2,
      sink: { emit: (e) => events.push(e) },
      executor: new engine.LocalExecutor() as Parameters<typeof RunPipeline>[0]['executor'],
      provenance,
      signal: new AbortController().signal,
      runId: `r${Date.now()}`,
      argv: ['run'],
      toolVersion: 'test',
      meta: {},
      notes: [],
    });
    if (result.status !== 'success') throw new Error(JSON.stringify(events.slice(-3)));
  } finally {
    provenance.close();
  }
  return events;
}

const ran = (events: EngineEvent[]): string[] =>
  events
    .filter((e) => e.type === 'stage-finished')
    .map((e) => (e as { stageId: string }).stageId)
    .sort();

const reasons = (events: EngineEvent[]): Record<string, StageReason> =>
  Object.fromEntries(
    events.flatMap((e) => (e.type === 'stage-planned' ? [[e.stageId, e.reason]] : [])),
  );

const out = (stage: string): string =>
  fs.readFileSync(path.join(ws, 'artifacts', stage, 'out.txt'), 'utf8');

describe('a package version bump', () => {
  test('reruns the kinds importing it, and their dependents only where outputs changed', async () => {
    expect(ran(await run())).toEqual(['after_says', 'after_steady', 'alone', 'says', 'steady']);
    expect(ran(await run())).toEqual([]);

    installWordDep('1.1.0', 'two');
    const events = await run();
    expect(ran(events)).toEqual(['after_says', 'says', 'steady']);
    const bump = {
      type: 'packages-changed',
      packages: [{ name: 'worddep', from: ['1.0.0'], to: ['1.1.0'] }],
    };
    expect(reasons(events)).toMatchObject({
      steady: bump,
      says: bump,
      alone: { type: 'up-to-date' },
    });
    const finished = events.filter((e) => e.type === 'stage-finished');
    expect(finished.find((e) => e.stageId === 'steady')).toMatchObject({ earlyCutoff: true });
    expect(finished.find((e) => e.stageId === 'says')).toMatchObject({ earlyCutoff: false });
    expect(out('after_says')).toBe('plain:two');
  });

  test('--assume-fresh accepts it and says so; the old outputs stay', async () => {
    installWordDep('1.2.0', 'three');
    const events = await run(['steady', 'says']);
    expect(ran(events)).toEqual([]);
    const accepted = {
      type: 'assumed-fresh',
      accepted: [
        {
          type: 'packages-changed',
          packages: [{ name: 'worddep', from: ['1.1.0'], to: ['1.2.0'] }],
        },
      ],
    };
    expect(reasons(events)).toMatchObject({ steady: accepted, says: accepted });
    expect(out('after_says')).toBe('plain:two');
    expect(ran(await run())).toEqual([]);
  });
});
