import { describe, expect, it } from 'vitest';
import {
  distanceTables,
  escapeHtml,
  tablesCsv,
  tablesHtml,
  tablesJson,
  tablesMarkdown,
} from '../../src/report/tables.js';
import { experiment } from './fixture.js';

describe('distance tables (paper Tables 2-5)', () => {
  const tables = distanceTables([experiment('cifar10'), experiment('stl10')]);

  it('numbers tables in the paper order: regime-major, then dataset', () => {
    expect(tables.map((t) => [t.paperTable, t.dataset, t.regime])).toEqual([
      [2, 'cifar10', 'normal'],
      [3, 'stl10', 'normal'],
      [4, 'cifar10', 'overfitting'],
      [5, 'stl10', 'overfitting'],
    ]);
  });

  it('writes a CSV with one row per attack and full-precision numbers', () => {
    const lines = tablesCsv(tables).trim().split('\n');
    expect(lines[0]).toBe(
      'table,dataset,regime,attack,examples,l0_mean,l0_std,l2_mean,l2_std,linf_mean,linf_std,sources',
    );
    expect(lines).toHaveLength(1 + 4 * 3);
    const fgsm = lines[1]?.split(',');
    expect(fgsm?.slice(0, 5)).toEqual(['2', 'cifar10', 'normal', 'fgsm', '4']);
    expect(Number(fgsm?.[5])).toBe(782);
    expect(Number(fgsm?.[6])).toBe(2);
  });

  it('round-trips through JSON', () => {
    const parsed = JSON.parse(tablesJson(tables));
    expect(parsed).toHaveLength(4);
    expect(parsed[0].rows[0].l2.n).toBe(4);
  });

  it('prints mean ± std with two decimals in Markdown and HTML', () => {
    const md = tablesMarkdown(tables);
    expect(md).toContain('| fgsm | 4 | 782.00 ± 2.00 | 8.20 ± 0.10 | 0.30 ± 0.00 |');
    expect(md).toContain('Sources: attack[normal,0,cw], attack[normal,1,cw]');
    const html = tablesHtml(tables);
    expect(html.match(/<table /g)).toHaveLength(4);
    expect(html).toContain('<td>782.00 ± 2.00</td>');
  });

  it('escapes HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });
});
