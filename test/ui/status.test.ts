import { describe, expect, it } from 'vitest';
import type { DagView, StatusEntry } from '../../src/dag/events.js';
import { renderDag, renderStatus } from '../../src/ui/index.js';
import { stripEscapes } from './ansi.js';

/** data -> split -> train[normal|overfitting, 0..9]; 4 trains cached, split's params changed. */
function entries(): StatusEntry[] {
  const list: StatusEntry[] = [
    { id: 'data', name: 'data', kind: 'fetch', willRun: false, reason: { type: 'up-to-date' } },
    {
      id: 'split',
      name: 'split',
      kind: 'split',
      willRun: true,
      reason: { type: 'params-changed', changes: [{ path: 'folds', from: 2, to: 5 }] },
    },
  ];
  for (const regime of ['normal', 'overfitting']) {
    for (let fold = 0; fold < 10; fold++) {
      const cached = regime === 'normal' && fold < 4;
      list.push({
        id: `train[${regime},${fold}]`,
        name: 'train',
        kind: 'train',
        willRun: !cached,
        reason: cached
          ? { type: 'up-to-date' }
          : regime === 'overfitting' && fold < 2
            ? { type: 'upstream-will-run', stageIds: ['split'] }
            : { type: 'never-run' },
      });
    }
  }
  return list;
}

function view(): DagView {
  return {
    stages: entries().map((e) => ({
      id: e.id,
      name: e.name,
      kind: e.kind,
      dependsOn: e.name === 'split' ? ['data'] : e.name === 'train' ? ['data', 'split'] : [],
    })),
  };
}

const fits = (text: string, width: number) => {
  for (const line of text.trimEnd().split('\n')) {
    expect(Array.from(line).length).toBeLessThanOrEqual(width);
  }
};

describe('renderStatus', () => {
  it('collapses a foreach group into one line with counts and groups the reasons', () => {
    const text = renderStatus(entries(), { color: false, width: 100 });
    expect(text.trimEnd().split('\n')).toEqual([
      '✓ data      fetch  up to date',
      '● split     split  will run: params.folds 2 -> 5',
      '● train[*]  train  20: 4 cached, 16 will run',
      '    never run ×14  train[normal,4], train[normal,5], train[normal,6], train[normal,7], … (+10)',
      '    upstream will run: split ×2  train[overfitting,0], train[overfitting,1]',
      '22 stages: 5 up to date, 17 will run (split 1, train 16)',
    ]);
    fits(text, 100);
  });

  it('gives stages waiting on different members of one group a single line', () => {
    const evaluate = [0, 1, 2].map((fold) => ({
      id: `evaluate[${fold}]`,
      name: 'evaluate',
      kind: 'evaluate',
      willRun: true,
      reason: {
        type: 'upstream-will-run' as const,
        stageIds: [`train[overfitting,${fold}]`, `train[normal,${fold + 4}]`, 'split'],
      },
    }));
    const lines = renderStatus([...entries(), ...evaluate], { color: false, width: 100 }).split(
      '\n',
    );
    expect(lines).toContain(
      '    upstream will run: train[*], split ×3  evaluate[0], evaluate[1], evaluate[2]',
    );
    const detail = renderStatus([...entries(), ...evaluate], {
      color: false,
      width: 100,
      detail: true,
    });
    expect(detail).toMatch(
      /evaluate\[2\] +upstream will run: train\[overfitting,2\], train\[normal,6\], split/,
    );
  });

  it('lists every stage that will run, with its reason, in detail mode', () => {
    const lines = renderStatus(entries(), { color: false, width: 100, detail: true }).split('\n');
    expect(lines).toContain('    train[normal,4]       never run');
    expect(lines).toContain('    train[overfitting,1]  upstream will run: split');
    expect(lines.filter((l) => l.startsWith('    train['))).toHaveLength(16);
  });

  it('stays within a 60-column terminal', () => {
    const text = renderStatus(entries(), { color: false, width: 60 });
    fits(text, 60);
    expect(text).toContain('● train[*]  train  20: 4 cached, 16 will run');
    expect(text).toContain('    never run ×14  train[normal,4], train[normal,5], … (+12)');
  });

  it('colours only when asked, with the same text underneath', () => {
    const plain = renderStatus(entries(), { color: false, width: 100 });
    const colored = renderStatus(entries(), { color: true, width: 100 });
    expect(plain).not.toContain('\x1b');
    expect(colored).toContain('\x1b[33m●');
    expect(stripEscapes(colored)).toBe(plain);
  });

  it('shows a foreach that expanded to one stage as that stage', () => {
    const one: StatusEntry[] = [
      {
        id: 'attack[a,0,pgd]',
        name: 'attack',
        kind: 'attack',
        willRun: true,
        reason: { type: 'code-changed', kind: 'attack' },
      },
    ];
    expect(renderStatus(one, { color: false, width: 80 }).split('\n')[0]).toBe(
      "● attack[a,0,pgd]  attack  will run: code of kind 'attack' changed",
    );
  });

  it('says what --assume-fresh accepted for a group', () => {
    const accepted: StatusEntry[] = ['a', 'b'].map((x) => ({
      id: `attack[${x}]`,
      name: 'attack',
      kind: 'attack',
      willRun: false,
      reason: {
        type: 'assumed-fresh',
        accepted: [
          {
            type: 'packages-changed',
            packages: [{ name: 'long', from: ['4.0.0'], to: ['5.0.0'] }],
          },
        ],
      },
    }));
    expect(renderStatus(accepted, { color: false, width: 120 }).split('\n').slice(0, 2)).toEqual([
      '✓ attack[*]  attack  2: 2 assumed fresh',
      '    assumed fresh (--assume-fresh), accepted: package long 4.0.0 -> 5.0.0 ×2  attack[a], attack[b]',
    ]);
  });

  it('says when every stage is fresh', () => {
    const fresh = entries().map((e) => ({
      ...e,
      willRun: false,
      reason: { type: 'up-to-date' as const },
    }));
    const text = renderStatus(fresh, { color: false, width: 80 });
    expect(text).toContain('✓ train[*]  train  20: 20 cached');
    expect(text).toContain('22 stages: 22 up to date, 0 will run');
  });
});

describe('renderDag', () => {
  it('shows levels with a foreach group as one node and the groups it reads from', () => {
    const text = renderDag(view(), { color: false, width: 100 });
    expect(text.trimEnd().split('\n')).toEqual([
      '0 data          fetch',
      '1 split         split  ← data',
      '2 train[*] ×20  train  ← data, split',
      '22 stages in 3 groups, 41 edges; levels on the left',
    ]);
  });

  it('expands to one node per stage on request, within the width', () => {
    const text = renderDag(view(), { color: false, width: 60, expand: true });
    const lines = text.trimEnd().split('\n');
    expect(lines[2]).toBe('2 train[normal,0]       train  ← data, split');
    expect(lines[3]).toBe('  train[normal,1]       train  ← data, split');
    expect(lines).toHaveLength(23);
    fits(text, 60);
  });

  it('shows a foreach that expanded to one stage as that stage, as status does', () => {
    const text = renderDag(
      {
        stages: [
          { id: 'data[mnist]', name: 'data', kind: 'fetch', dependsOn: [] },
          { id: 'train[mnist,0]', name: 'train', kind: 'train', dependsOn: ['data[mnist]'] },
          { id: 'train[mnist,1]', name: 'train', kind: 'train', dependsOn: ['data[mnist]'] },
        ],
      },
      { color: false, width: 80 },
    );
    expect(text.split('\n').slice(0, 2)).toEqual([
      '0 data[mnist]  fetch',
      '1 train[*] ×2  train  ← data[mnist]',
    ]);
  });

  it('orders by dependency level, not by listing order', () => {
    const text = renderDag(
      {
        stages: [
          { id: 'report', name: 'report', kind: 'report', dependsOn: ['plot'] },
          { id: 'plot', name: 'plot', kind: 'plot', dependsOn: ['data'] },
          { id: 'data', name: 'data', kind: 'fetch', dependsOn: [] },
        ],
      },
      { color: true, width: 80 },
    );
    const lines = stripEscapes(text).split('\n');
    expect(lines.slice(0, 3).map((l) => l.split(/\s+/)[1])).toEqual(['data', 'plot', 'report']);
  });
});
