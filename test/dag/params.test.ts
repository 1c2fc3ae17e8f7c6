import { describe, expect, test } from 'vitest';
import { applySets, deepMerge, interpolateString, type Scope } from '../../src/dag/params.js';
import { dollar } from './error-cases.js';

const scope: Scope = {
  binding: { regime: 'normal', fold: 2 },
  params: {
    fold: 99,
    rate: 0.5,
    flag: true,
    none: null,
    list: [1, 'a'],
    regimes: { normal: { epochs: 3 } },
  },
};

const value = (text: string) => {
  const result = interpolateString(dollar(text), scope);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};

describe('interpolateString', () => {
  test('a whole-value reference keeps its type, as a copy', () => {
    expect(value('%{rate}')).toBe(0.5);
    expect(value('%{flag}')).toBe(true);
    expect(value('%{none}')).toBeNull();
    expect(value('%{regimes[regime]}')).toEqual({ epochs: 3 });
    expect(value('%{regimes[regime]}')).not.toBe(scope.params.regimes);
  });

  test('inside a longer string: strings as is, the rest as JSON', () => {
    expect(value('f%{fold}-%{regime}-%{rate}-%{list}-%{regimes.normal}')).toBe(
      'f2-normal-0.5-[1,"a"]-{"epochs":3}',
    );
  });

  test('$${ is a literal ${, and $VAR or a lone $ stay', () => {
    expect(value('$%{fold} $OUT $ %{fold}')).toBe(dollar('%{fold} $OUT $ 2'));
  });

  test('reports where the failing reference starts', () => {
    const result = interpolateString(dollar('ab %{nope}'), scope);
    expect(result).toMatchObject({ ok: false, error: { index: 3 } });
  });
});

describe('deepMerge', () => {
  test('merges mappings key by key and replaces everything else', () => {
    expect(deepMerge({ a: { x: 1, y: [1] }, b: 1 }, { a: { y: [2], z: 3 }, b: { c: 1 } })).toEqual({
      a: { x: 1, y: [2], z: 3 },
      b: { c: 1 },
    });
  });
});

describe('applySets', () => {
  test('parses values as YAML and leaves the input tree untouched', () => {
    const tree = { a: { eps: 0.3, norm: 'inf' }, n: 1 };
    const result = applySets(tree, ['a.eps=1e-2', 'a.norm=2', 'n=[1, 2]', 'a.norm="2"']);
    expect(result).toEqual({ ok: true, value: { a: { eps: 0.01, norm: '2' }, n: [1, 2] } });
    expect(tree).toEqual({ a: { eps: 0.3, norm: 'inf' }, n: 1 });
  });

  test('a value may itself contain =', () => {
    expect(applySets({ cmd: '' }, ['cmd=a=b'])).toEqual({ ok: true, value: { cmd: 'a=b' } });
  });
});
