import { describe, expect, it } from 'vitest';
import { diffNumbers, paramChanges } from '../../src/dag/value-diff.js';

describe('diffNumbers', () => {
  it('groups a JSON file by its innermost arrays and reports old, new and delta', () => {
    const old = {
      asr: { pgd: [0.5, 0.75, 1], fgsm: [0.9, 0.9] },
      n: 4,
      stat: [{ mean: 1, std: 0 }],
    };
    const now = {
      asr: { pgd: [0.5, 0.25, 1], fgsm: [0.9, 0.9] },
      n: 5,
      stat: [{ mean: 1, std: 0.5 }],
    };
    expect(diffNumbers('asr.json', JSON.stringify(old), JSON.stringify(now))).toEqual([
      {
        series: 'asr.pgd[*]',
        length: 3,
        changes: [{ at: '1', old: 0.75, new: 0.25, delta: -0.5 }],
        meanOld: 0.75,
        meanNew: 0.5833333333333334,
      },
      {
        series: 'n',
        length: 1,
        changes: [{ at: '', old: 4, new: 5, delta: 1 }],
        meanOld: 4,
        meanNew: 5,
      },
      {
        series: 'stat[*].std',
        length: 1,
        changes: [{ at: '0', old: 0, new: 0.5, delta: 0.5 }],
        meanOld: 0,
        meanNew: 0.5,
      },
    ]);
  });

  it('reads a CSV column by column, rows named by their first text fields', () => {
    const header = 'table,dataset,regime,attack,l2,sources';
    const a = `${header}\n2,cifar10,normal,pgd,8.1,"a, b"\n2,cifar10,normal,cw,0.4,c\n`;
    const b = `${header}\n2,cifar10,normal,pgd,7.9,"a, b"\n2,cifar10,normal,cw,0.4,c\n2,stl10,normal,cw,1,c\n`;
    const d = diffNumbers('tables.csv', a, b);
    expect(d.map((s) => s.series)).toEqual(['table', 'l2']);
    expect(d[1]?.changes).toEqual([
      { at: 'cifar10 normal pgd', old: 8.1, new: 7.9, delta: 7.9 - 8.1 },
      { at: 'stl10 normal cw', old: null, new: 1, delta: null },
    ]);
  });

  it('finds nothing when only text changed', () => {
    expect(diffNumbers('a.json', '{"digest":"aa","x":[1]}', '{"digest":"bb","x":[1]}')).toEqual([]);
  });
});

describe('paramChanges', () => {
  it('lists changed, added and removed leaves by path', () => {
    expect(
      paramChanges(
        { attacks: { pgd: { eps: 0.3 } }, datasets: ['a'], gone: 1 },
        { attacks: { pgd: { eps: 0.1 } }, datasets: ['a', 'b'], added: {} },
      ),
    ).toEqual([
      { path: 'added', new: {} },
      { path: 'attacks.pgd.eps', old: 0.3, new: 0.1 },
      { path: 'datasets[1]', new: 'b' },
      { path: 'gone', old: 1 },
    ]);
  });
});
