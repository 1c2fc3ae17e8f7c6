import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  canonicalJson,
  computeKey,
  explainChange,
  KEY_SCHEMA_VERSION,
  type KeyRecord,
} from '../../src/dag/key.js';

const base: KeyRecord = {
  schemaVersion: KEY_SCHEMA_VERSION,
  kind: 'attack',
  codeFingerprint: 'a'.repeat(64),
  params: { eps: 0.3, norm: 'inf', pgd: { steps: 10, step: 0.1 } },
  inputs: { model: ['d1'], runs: ['d2', 'd3'] },
  deps: { 'scripts/a.sh': 'd4' },
};

describe('canonicalJson', () => {
  test('sorts object keys at every depth and keeps list order', () => {
    expect(canonicalJson({ b: [{ z: 1, a: 2 }, 3], a: { d: null, c: 'x' } })).toBe(
      '{"a":{"c":"x","d":null},"b":[{"a":2,"z":1},3]}',
    );
  });

  test('refuses numbers JSON cannot write', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/no JSON form/);
  });
});

describe('computeKey', () => {
  test('is sha256 hex of the canonical JSON and ignores key order', () => {
    const reordered: KeyRecord = {
      deps: { 'scripts/a.sh': 'd4' },
      inputs: { runs: ['d2', 'd3'], model: ['d1'] },
      params: { pgd: { step: 0.1, steps: 10 }, norm: 'inf', eps: 0.3 },
      codeFingerprint: 'a'.repeat(64),
      kind: 'attack',
      schemaVersion: KEY_SCHEMA_VERSION,
    };
    expect(computeKey(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(computeKey(reordered)).toBe(computeKey(base));
  });

  const changes: [string, Partial<KeyRecord>][] = [
    ['schemaVersion', { schemaVersion: KEY_SCHEMA_VERSION + 1 }],
    ['kind', { kind: 'attack2' }],
    ['codeFingerprint', { codeFingerprint: 'b'.repeat(64) }],
    ['a param value', { params: { ...base.params, eps: 0.1 } }],
    ['a nested param', { params: { ...base.params, pgd: { steps: 11, step: 0.1 } } }],
    ['an added param', { params: { ...base.params, extra: 1 } }],
    ['a number that is now a string', { params: { ...base.params, eps: '0.3' } }],
    ['an input digest', { inputs: { ...base.inputs, model: ['dX'] } }],
    ['the order of a list input', { inputs: { ...base.inputs, runs: ['d3', 'd2'] } }],
    ['an input name', { inputs: { net: ['d1'], runs: ['d2', 'd3'] } }],
    ['a dep digest', { deps: { 'scripts/a.sh': 'dX' } }],
    ['a dep path', { deps: { 'scripts/b.sh': 'd4' } }],
  ];
  test.each(changes)('changes when %s changes', (_, change) => {
    expect(computeKey({ ...base, ...change })).not.toBe(computeKey(base));
  });

  test('is the same in another process', () => {
    const keyModule = new URL('../../dist/src/dag/key.js', import.meta.url).href;
    const script = `import { computeKey } from ${JSON.stringify(keyModule)};
      process.stdout.write(computeKey(JSON.parse(process.argv[1])));`;
    const child = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', script, JSON.stringify(base)],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe(computeKey(base));
  });
});

describe('explainChange', () => {
  test('never run without a previous record; up to date when equal', () => {
    expect(explainChange(undefined, base)).toEqual({ type: 'never-run' });
    expect(explainChange(base, structuredClone(base))).toEqual({ type: 'up-to-date' });
  });

  test('names each changed param by dotted path, from what to what', () => {
    const next = { ...base, params: { eps: 0.1, pgd: { steps: 10, step: 0.2 }, seed: 3 } };
    expect(explainChange(base, next)).toEqual({
      type: 'params-changed',
      changes: [
        { path: 'eps', from: 0.3, to: 0.1 },
        { path: 'norm', from: 'inf', to: undefined },
        { path: 'pgd.step', from: 0.1, to: 0.2 },
        { path: 'seed', from: undefined, to: 3 },
      ],
    });
  });

  test('lists compare as whole values', () => {
    const prev = { ...base, params: { layers: [1, 2] } };
    const next = { ...base, params: { layers: [1, 3] } };
    expect(explainChange(prev, next)).toEqual({
      type: 'params-changed',
      changes: [{ path: 'layers', from: [1, 2], to: [1, 3] }],
    });
  });

  test('names changed inputs, then deps, then code', () => {
    expect(explainChange(base, { ...base, inputs: { ...base.inputs, runs: ['d2'] } })).toEqual({
      type: 'input-changed',
      inputs: [{ name: 'runs' }],
    });
    expect(explainChange(base, { ...base, deps: { 'scripts/a.sh': 'x', 'b.txt': 'y' } })).toEqual({
      type: 'deps-changed',
      paths: ['b.txt', 'scripts/a.sh'],
    });
    expect(explainChange(base, { ...base, codeFingerprint: 'c' })).toEqual({
      type: 'code-changed',
      kind: 'attack',
    });
  });

  test('a param change is reported before a code change', () => {
    const next = { ...base, codeFingerprint: 'c', params: { ...base.params, eps: 0.2 } };
    expect(explainChange(base, next).type).toBe('params-changed');
  });
});
