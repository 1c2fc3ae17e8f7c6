import { describe, expect, it } from 'vitest';
import { figureDefs } from '../../src/report/figures.js';
import { reportHtml } from '../../src/report/html.js';
import { distanceTables } from '../../src/report/tables.js';
import { experiment } from './fixture.js';

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

  it('lists the selected epoch of every fold', () => {
    expect(html).toMatch(/<td>toy<\/td><td>normal<\/td><td>2<\/td><td>4, 4<\/td>/);
  });
});
