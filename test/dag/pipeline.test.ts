import { describe, expect, test } from 'vitest';
import { computeKey, KEY_SCHEMA_VERSION } from '../../src/dag/key.js';
import { loadPipeline, loadPipelineFile } from '../../src/dag/pipeline.js';
import type { LoadOptions, Pipeline } from '../../src/dag/pipeline-types.js';
import { dollar } from './error-cases.js';
import { testRegistry } from './test-registry.js';

const y = (...lines: string[]): string => dollar(`${lines.join('\n')}\n`);

function load(text: string, opts: LoadOptions = {}): Pipeline {
  const result = loadPipeline(text, 'pipeline.yaml', testRegistry, opts);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

const stage = (p: Pipeline, id: string) => {
  const found = p.stages.find((s) => s.id === id);
  if (!found) throw new Error(`no stage ${id}`);
  return found;
};

const experiment = y(
  'version: 1',
  'name: exp',
  'params:',
  '  folds: 2',
  '  regimes:',
  '    normal: { learning_rate: 0.1, epochs: 3 }',
  '    over: { learning_rate: 0.5, epochs: 9 }',
  'profiles:',
  '  paper:',
  '    params: { folds: 3, regimes: { over: { epochs: 35 }, extra: { epochs: 1 } } }',
  'stages:',
  '  aggregate:',
  '    kind: aggregate',
  '    foreach: { regime: { keys: "%{regimes}" } }',
  '    inputs: { runs: "train[%{regime},*]:history.json" }',
  '  train:',
  '    kind: train',
  '    foreach:',
  '      regime: { keys: "%{regimes}" }',
  '      fold: { range: "%{folds}" }',
  '    inputs:',
  '      data: data',
  '      split: split:fold-%{fold}.json',
  '    params: %{regimes[regime]}',
  '  data:',
  '    kind: fetch',
  '    params: { dataset: mini }',
  '  split:',
  '    kind: split',
  '    inputs: { data: data }',
  '    params: { folds: "%{folds}" }',
);

describe('loadPipeline', () => {
  test('gives a stage the priority of its highest-priority reader, and leaves the stages as they were', () => {
    const plain = y(
      'version: 1',
      'stages:',
      '  a: { kind: command, cmd: "true", outs: [x], foreach: { i: { range: 2 } } }',
      '  b: { kind: command, cmd: "true", inputs: { x: "a[1]:x" } }',
      '  c: { kind: command, cmd: "true", inputs: { x: "a[*]:x" } }',
      '  d: { kind: command, cmd: "true" }',
    );
    const prioritised = plain
      .replace('cmd: "true", inputs: { x: "a[1]', 'cmd: "true", priority: 3, inputs: { x: "a[1]')
      .replace('cmd: "true", inputs: { x: "a[*]', 'cmd: "true", priority: 2, inputs: { x: "a[*]')
      .replace('d: { kind: command, cmd: "true"', 'd: { kind: command, cmd: "true", priority: -1');
    expect(load(prioritised).priority).toEqual({ 'a[0]': 2, 'a[1]': 3, b: 3, c: 2, d: -1 });
    expect(load(plain).priority).toEqual({});
    expect(load(prioritised).stages).toEqual(load(plain).stages);
  });

  test('expands foreach to readable ids in declared key order, grouped by name', () => {
    const p = load(experiment);
    expect(p.name).toBe('exp');
    expect(p.groups).toEqual({
      aggregate: ['aggregate[normal]', 'aggregate[over]'],
      train: ['train[normal,0]', 'train[normal,1]', 'train[over,0]', 'train[over,1]'],
      data: ['data'],
      split: ['split'],
    });
    expect(stage(p, 'train[over,1]').matrix).toEqual({ regime: 'over', fold: 1 });
  });

  test('orders stages topologically: always the earliest-declared stage whose inputs are ordered', () => {
    expect(load(experiment).stages.map((s) => s.id)).toEqual([
      'data',
      'split',
      'train[normal,0]',
      'train[normal,1]',
      'aggregate[normal]',
      'train[over,0]',
      'train[over,1]',
      'aggregate[over]',
    ]);
  });

  test('whole-value interpolation keeps the type; inside a string it is formatted', () => {
    const p = load(experiment);
    expect(stage(p, 'train[over,0]').params).toEqual({ learning_rate: 0.5, epochs: 9 });
    expect(stage(p, 'split').params).toEqual({ folds: 2 });
    expect(stage(p, 'train[normal,1]').inputs).toEqual([
      { name: 'data', many: false, refs: [{ stageId: 'data', path: '' }] },
      { name: 'split', many: false, refs: [{ stageId: 'split', path: 'fold-1.json' }] },
    ]);
  });

  test('a pattern input is a list in expansion order', () => {
    const agg = stage(load(experiment, { profile: 'paper' }), 'aggregate[over]');
    expect(agg.inputs).toEqual([
      {
        name: 'runs',
        many: true,
        refs: [0, 1, 2].map((f) => ({ stageId: `train[over,${f}]`, path: 'history.json' })),
      },
    ]);
  });

  test('a profile deep-merges: objects merge, other values replace, new keys allowed', () => {
    const p = load(experiment, { profile: 'paper' });
    expect(p.profile).toBe('paper');
    expect(p.params.folds).toBe(3);
    expect(p.params.regimes).toEqual({
      normal: { learning_rate: 0.1, epochs: 3 },
      over: { learning_rate: 0.5, epochs: 35 },
      extra: { epochs: 1 },
    });
    expect(p.groups.train).toHaveLength(9);
  });

  test('--set values are YAML scalars or flow collections, applied after the profile', () => {
    const p = load(experiment, {
      profile: 'paper',
      sets: ['regimes.normal.epochs=4', 'folds=1', 'regimes.over={ epochs: 2 }'],
    });
    expect(stage(p, 'train[normal,0]').params).toEqual({ learning_rate: 0.1, epochs: 4 });
    expect(stage(p, 'train[over,0]').params).toEqual({ epochs: 2 });
    expect(p.groups.train).toEqual(['train[normal,0]', 'train[over,0]', 'train[extra,0]']);
  });

  test('foreach bindings shadow params; $${ escapes; shell $VARS stay', () => {
    const p = load(
      y(
        'version: 1',
        'params: { fold: 99, who: world }',
        'stages:',
        '  shout:',
        '    kind: command',
        '    foreach: { fold: [1, two] }',
        '    cmd: echo %{fold} $OUT $%{HOME} %{who} > out-%{fold}.txt',
        '    outs: ["out-%{fold}.txt"]',
        '    env: { FOLD: "f%{fold}" }',
        '    deps: ["scripts/%{who}.sh"]',
      ),
    );
    expect(p.name).toBe('pipeline');
    expect(stage(p, 'shout[two]').params).toEqual({
      cmd: dollar('echo two $OUT %{HOME} world > out-two.txt'),
      outs: ['out-two.txt'],
      env: { FOLD: 'ftwo' },
    });
    expect(stage(p, 'shout[1]').params.env).toEqual({ FOLD: 'f1' });
    expect(stage(p, 'shout[1]').deps).toEqual(['scripts/world.sh']);
  });

  test('[name] segments look the name up first', () => {
    const p = load(
      y(
        'version: 1',
        'params: { pick: b, table: { a: 1, b: { dataset: from-b } } }',
        'stages:',
        '  data: { kind: fetch, params: "%{table[pick]}" }',
      ),
    );
    expect(stage(p, 'data').params).toEqual({ dataset: 'from-b' });
  });

  test('lists are indexed by number in interpolation and in --set', () => {
    const p = load(
      y(
        'version: 1',
        'params: { sets: [a, b] }',
        'stages:',
        '  data: { kind: fetch, params: { dataset: "%{sets.1}" } }',
      ),
      { sets: ['sets.1=c'] },
    );
    expect(stage(p, 'data').params).toEqual({ dataset: 'c' });
  });

  test('foreach over a list, a whole-value list, and booleans', () => {
    const p = load(
      y(
        'version: 1',
        'params: { sets: [x, y] }',
        'stages:',
        '  data:',
        '    kind: fetch',
        '    foreach: { ds: "%{sets}", flag: [true, false] }',
        '    params: { dataset: "%{ds}" }',
      ),
    );
    expect(p.groups.data).toEqual([
      'data[x,true]',
      'data[x,false]',
      'data[y,true]',
      'data[y,false]',
    ]);
  });

  test('key order in the YAML changes neither the result nor the keys', () => {
    const a = load(
      y(
        'version: 1',
        'params: { p: { x: 1, y: 2 } }',
        'stages:',
        '  data: { kind: fetch, params: { dataset: d } }',
        '  split: { kind: split, inputs: { data: data }, params: { seed: 1, folds: 2 } }',
      ),
    );
    const b = load(
      y(
        'stages:',
        '  split: { params: { folds: 2, seed: 1 }, inputs: { data: data }, kind: split }',
        '  data: { params: { dataset: d }, kind: fetch }',
        'params: { p: { y: 2, x: 1 } }',
        'version: 1',
      ),
    );
    expect(b.stages.map((s) => s.id)).toEqual(a.stages.map((s) => s.id));
    const keyOf = (p: Pipeline) =>
      p.stages.map((s) =>
        computeKey({
          schemaVersion: KEY_SCHEMA_VERSION,
          kind: s.kind,
          codeFingerprint: 'c',
          params: s.params,
          inputs: {},
          deps: {},
          packages: {},
          tools: {},
        }),
      );
    expect(keyOf(b)).toEqual(keyOf(a));
  });

  test('a command stage takes any input names, a list exactly for a pattern', () => {
    const p = load(
      y(
        'version: 1',
        'stages:',
        '  data: { kind: fetch, foreach: { i: { range: 2 } }, params: { dataset: d } }',
        '  both:',
        '    kind: command',
        '    cmd: cat "$IN_ALL"',
        '    inputs: { all: "data[ * ]", first: "data[0]:x.bin" }',
      ),
    );
    expect(stage(p, 'both').inputs).toEqual([
      {
        name: 'all',
        many: true,
        refs: [
          { stageId: 'data[0]', path: '' },
          { stageId: 'data[1]', path: '' },
        ],
      },
      { name: 'first', many: false, refs: [{ stageId: 'data[0]', path: 'x.bin' }] },
    ]);
  });

  test('a missing file is a diagnostic naming it as the user would', async () => {
    const result = await loadPipelineFile(
      '/nonexistent/advrob/pipeline.yaml',
      testRegistry,
      {},
      'pipeline.yaml',
    );
    expect(result).toEqual({
      ok: false,
      error: [
        {
          severity: 'error',
          message:
            'cannot read pipeline.yaml: no such file; expected a pipeline file (pass another with --file)',
        },
      ],
    });
  });

  test('stage locations point at the stage name', () => {
    expect(stage(load(experiment), 'train[normal,0]').location).toEqual({
      file: 'pipeline.yaml',
      line: 16,
      column: 3,
    });
  });

  test('runtime.backend is interpolated from params, so a profile or --set picks it', () => {
    const text = y(
      'version: 1',
      'params: { backend: auto }',
      'profiles: { gpu: { params: { backend: tensorflow-gpu } } }',
      'runtime: { backend: "%{backend}" }',
      'stages: { data: { kind: fetch, params: { dataset: mini } } }',
    );
    expect(load(text).runtime).toEqual({ backend: 'auto' });
    expect(load(text, { profile: 'gpu' }).runtime).toEqual({ backend: 'tensorflow-gpu' });
    expect(load(text, { sets: ['backend=cpu'] }).runtime).toEqual({ backend: 'cpu' });
    const none = y('version: 1', 'stages: { data: { kind: fetch, params: { dataset: mini } } }');
    expect(load(none).runtime).toEqual({});
  });
});
