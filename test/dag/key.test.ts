import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatReason } from '../../src/dag/events.js';
import {
  canonicalJson,
  computeKey,
  environmentChanges,
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
  packages: { '@tensorflow/tfjs-core': ['4.22.0 sha512-x'], long: ['4.0.0'] },
  tools: { 'python3 --version': 'Python 3.11.2' },
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
      tools: { 'python3 --version': 'Python 3.11.2' },
      packages: { long: ['4.0.0'], '@tensorflow/tfjs-core': ['4.22.0 sha512-x'] },
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
    ['a package version', { packages: { ...base.packages, long: ['4.0.1'] } }],
    ['a package integrity', { packages: { ...base.packages, long: ['4.0.0 sha512-y'] } }],
    ['an added package', { packages: { ...base.packages, yaml: ['2.9.1'] } }],
    ['a tool output', { tools: { 'python3 --version': 'Python 3.12.1' } }],
    ['a tool command', { tools: { 'python --version': 'Python 3.11.2' } }],
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

  test('a tool, then a package change is reported before a code change', () => {
    const code = { codeFingerprint: 'c' };
    const pkg = { packages: { ...base.packages, long: ['5.0.0'] } };
    const tool = { tools: { 'python3 --version': 'Python 3.12.1' } };
    expect(explainChange(base, { ...base, ...code, ...pkg, ...tool }).type).toBe('tools-changed');
    expect(explainChange(base, { ...base, ...code, ...pkg })).toEqual({
      type: 'packages-changed',
      packages: [{ name: 'long', from: ['4.0.0'], to: ['5.0.0'] }],
    });
  });

  test('a record from before packages were keyed is a code change, not a package change', () => {
    const { packages: _, tools: __, ...old } = { ...base, schemaVersion: 1 };
    expect(explainChange(old as KeyRecord, base)).toEqual({ type: 'code-changed', kind: 'attack' });
  });
});

describe('environmentChanges', () => {
  test('lists every change of tools, packages and code, none of params, inputs or deps', () => {
    const next: KeyRecord = {
      ...base,
      params: { eps: 0.1 },
      deps: {},
      codeFingerprint: 'c',
      packages: { '@tensorflow/tfjs-core': ['4.23.0 sha512-z'], yaml: ['2.9.1'] },
      tools: { 'python3 --version': 'Python 3.12.1', 'sha256sum m.py': 'ab  m.py' },
    };
    expect(environmentChanges(base, next)).toEqual([
      {
        type: 'tools-changed',
        tools: [
          { command: 'python3 --version', from: 'Python 3.11.2', to: 'Python 3.12.1' },
          { command: 'sha256sum m.py', from: undefined, to: 'ab  m.py' },
        ],
      },
      {
        type: 'packages-changed',
        packages: [
          { name: '@tensorflow/tfjs-core', from: ['4.22.0'], to: ['4.23.0'] },
          { name: 'long', from: ['4.0.0'], to: [] },
          { name: 'yaml', from: [], to: ['2.9.1'] },
        ],
      },
      { type: 'code-changed', kind: 'attack' },
    ]);
    expect(environmentChanges(base, structuredClone(base))).toEqual([]);
  });
});

describe('formatReason of environment changes', () => {
  const line = (previous: Partial<KeyRecord>, next: Partial<KeyRecord>): string =>
    formatReason(explainChange({ ...base, ...previous }, { ...base, ...next }));

  test('a package: name, from, to, in one line', () => {
    const core = (id: string) => ({ packages: { '@tensorflow/tfjs-core': [id] } });
    expect(line(core('4.22.0 sha512-a'), core('4.23.0 sha512-b'))).toBe(
      'package @tensorflow/tfjs-core 4.22.0 -> 4.23.0',
    );
    expect(line(core('4.22.0 sha512-a'), core('4.22.0 sha512-b'))).toBe(
      'package @tensorflow/tfjs-core 4.22.0 (contents changed)',
    );
    expect(line({ packages: {} }, core('4.22.0'))).toBe(
      'package @tensorflow/tfjs-core (none) -> 4.22.0',
    );
    expect(
      line(core('4.22.0'), { packages: { '@tensorflow/tfjs-core': ['4.22.0', '5.0.0'] } }),
    ).toBe('package @tensorflow/tfjs-core 4.22.0 -> 4.22.0 + 5.0.0');
  });

  test('a tool: its output when short, else only that it changed', () => {
    const py = (v: string) => ({ tools: { 'python3 --version': v } });
    expect(line(py('Python 3.11.2'), py('Python 3.12.1'))).toBe(
      "tool 'python3 --version' Python 3.11.2 -> Python 3.12.1",
    );
    expect(line(py('a\nb'), py('a\nc'))).toBe("tool 'python3 --version' output changed");
    expect(line({ tools: {} }, py('Python 3.12.1'))).toBe("tool 'python3 --version' added");
    expect(line(py('Python 3.12.1'), { tools: {} })).toBe("tool 'python3 --version' removed");
  });

  test('assumed fresh says what it accepted', () => {
    expect(
      formatReason({
        type: 'assumed-fresh',
        accepted: [
          {
            type: 'packages-changed',
            packages: [{ name: 'long', from: ['4.0.0'], to: ['5.0.0'] }],
          },
          { type: 'code-changed', kind: 'attack' },
        ],
      }),
    ).toBe(
      "assumed fresh (--assume-fresh), accepted: package long 4.0.0 -> 5.0.0; code of kind 'attack' changed",
    );
  });
});
