import { describe, expect, it } from 'vitest';
import { figureDefs } from '../../src/report/figures.js';
import { reportHtml } from '../../src/report/html.js';
import { distanceTables, tablesHtml, tablesMarkdown } from '../../src/report/tables.js';
import { verdictsOf } from '../../src/report/verdicts.js';
import { experiment, shippedThresholds } from './fixture.js';

describe('report.html', () => {
  const agg = experiment('toy');
  const figures = figureDefs(agg).map((def) => ({
    def,
    svg: `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><title>${def.id}</title></svg>`,
    files: [`${def.id}.svg`, `${def.id}.png`],
  }));
  const html = reportHtml({
    title: 'toy report',
    aggregates: [agg],
    figures,
    tables: distanceTables([agg]),
    params: agg.params,
    verdicts: verdictsOf(agg, shippedThresholds()),
  });

  it('inlines every figure as an SVG data URI and references nothing external', () => {
    const srcs = [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1] as string);
    expect(srcs).toHaveLength(8);
    for (const src of srcs) {
      expect(src.startsWith('data:image/svg+xml;base64,')).toBe(true);
      const svg = Buffer.from(src.slice('data:image/svg+xml;base64,'.length), 'base64').toString();
      expect(svg).toMatch(/<title>fig\d+-toy-/);
    }
    expect(html).not.toMatch(/\s(href|src)="(https?:|\/\/|file:)/);
    expect(html).not.toContain('<link');
    expect(html).not.toContain('<script');
  });

  it('cites the stage and digest of every source, and escapes parameters', () => {
    expect(html).toContain('<code>evaluate[normal,0]</code>');
    expect(html).toContain(`sha256 ${'0'.padStart(64, 'a')}`);
    expect(html).toContain('&lt;b&gt;escaped&lt;/b&gt;');
    expect(html).not.toContain('<b>escaped</b>');
  });

  it('names no files for a figure drawn on the fly (report --against)', () => {
    const [first] = figures;
    const page = reportHtml({
      title: 'against',
      aggregates: [agg],
      figures: first ? [{ ...first, files: [] }] : [],
      tables: [],
      params: {},
      verdicts: [],
      against: 'earlier',
    });
    expect(page).not.toContain('Files:');
    expect(page).toContain('Dashed lines: run <code>earlier</code>');
  });

  it('lists the selected epoch of every fold', () => {
    expect(html).toMatch(/<td>toy<\/td><td>normal<\/td><td>2<\/td><td>4, 4<\/td>/);
  });

  it('states a verdict on every claim with its numbers and the stages they came from', () => {
    const rows = [...html.matchAll(/<tr class="([a-z-]+)" data-claim="([^"]+)">/g)];
    expect(rows.length).toBe(verdictsOf(agg, shippedThresholds()).length);
    expect(rows.map((r) => r[2])).toContain('normal.cw_asr_follows_accuracy');
    // The fixture trains 4 epochs, fewer than the shipped min_epochs.
    expect(new Set(rows.map((r) => r[1]))).toEqual(new Set(['inconclusive']));
    expect(html).toContain('too few epochs: 4 &lt; 6');
    expect(html).toContain('<code>evaluate[normal,1]</code>');
  });
});

describe('Tables 2-5 beside the paper', () => {
  it("prints the paper's row and the difference where the paper used the dataset", () => {
    const tables = distanceTables([experiment('cifar10')]);
    const html = tablesHtml(tables);
    expect(html).toContain(
      '<tr class="paper"><th scope="row">cw (paper)</th><td></td><td>1024.00 ± 0.00</td><td>0.43 ± 0.48</td><td>0.07 ± 0.06</td></tr>',
    );
    // ours: L0 784 on every example; L2 mean of 0.4, 0.6, 0.4, 1.6 = 0.75 (fixture folds 0, 1)
    expect(html).toContain(
      '<tr class="delta"><th scope="row">cw Δ mean (ours − paper)</th><td></td><td>-240.00</td><td>+0.32</td><td>-0.01</td></tr>',
    );
    expect(html).not.toContain('No published value');
    expect(tablesMarkdown(tables)).toContain(
      '| fgsm (paper) | | 1017.92 ± 25.30 | 8.93 ± 0.48 | 0.30 ± 0.00 |',
    );
  });

  it('says there is no published value elsewhere', () => {
    const html = tablesHtml(distanceTables([experiment('toy')]));
    expect(html).toContain('No published value for toy, normal regime');
    expect(html).not.toContain('class="paper"');
  });
});
