/**
 * Opens a report.html built from rendered figures in Debian's headless chromium and checks
 * what a reader sees: every figure drawn at a non-zero size, the verdict of every claim, the
 * other run's curves as dashed lines of non-zero length, no failed request, no console
 * error. The screenshot is kept under test-output/ for a human to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { describe, expect, it } from 'vitest';
import { figureDefs } from '../../src/report/figures.js';
import { reportHtml } from '../../src/report/html.js';
import { renderSvg } from '../../src/report/render.js';
import { distanceTables } from '../../src/report/tables.js';
import { verdictsOf } from '../../src/report/verdicts.js';
import { experiment, shippedThresholds } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';

/** What the check reads of an <img> in the page (the project compiles without DOM types). */
interface ImageLike {
  complete: boolean;
  naturalWidth: number;
  getBoundingClientRect(): { width: number; height: number };
}
interface ElementLike {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): Iterable<unknown>;
  getBoundingClientRect(): { width: number; height: number };
  innerHTML: string;
  remove(): void;
}
interface PageLike {
  document: {
    createElement(tag: string): ElementLike;
    body: { appendChild(node: ElementLike): void };
  };
  atob(data: string): string;
}
interface PathLike {
  getTotalLength(): number;
}
const OUTPUT = fileURLToPath(new URL('../../test-output/report/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))('report.html in chromium', () => {
  it('renders every figure, table and verdict, and the dashed overlay, with no broken reference or console error', async () => {
    const agg = experiment('toy');
    // An earlier run whose curves sit visibly lower, so the screenshot shows the dashes apart.
    const other = experiment('toy', 3, 0.7);
    const figures = [];
    for (const def of figureDefs(agg, { label: 'run earlier', aggregate: other })) {
      figures.push({ def, svg: await renderSvg(def.spec), files: [`${def.id}.svg`] });
    }
    const html = reportHtml({
      title: 'browser check',
      aggregates: [agg],
      figures,
      tables: distanceTables([agg]),
      params: agg.params,
      verdicts: verdictsOf(agg, shippedThresholds()),
      against: 'earlier',
    });
    mkdirSync(OUTPUT, { recursive: true });
    const page = join(OUTPUT, 'report.html');
    writeFileSync(page, html);

    const profile = mkdtempSync(join(tmpdir(), 'advrob-chromium-'));
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        `--user-data-dir=${profile}`,
      ],
    });
    try {
      const tab = await browser.newPage();
      const problems: string[] = [];
      tab.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      tab.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
      tab.on('requestfailed', (r) => problems.push(`failed: ${r.url().slice(0, 80)}`));
      tab.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url().slice(0, 80)}`);
      });
      await tab.setViewport({ width: 1280, height: 900 });
      await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
      const images = await tab.$$eval('figure img', (imgs) =>
        imgs.map((img) => {
          const i = img as unknown as ImageLike;
          const box = i.getBoundingClientRect();
          return {
            complete: i.complete,
            natural: i.naturalWidth,
            width: box.width,
            height: box.height,
          };
        }),
      );
      expect(images).toHaveLength(8);
      for (const img of images) {
        expect(img.complete).toBe(true);
        expect(img.natural).toBeGreaterThan(0);
        expect(img.width).toBeGreaterThan(0);
        expect(img.height).toBeGreaterThan(0);
      }
      expect(await tab.$$eval('table.distances tbody tr', (rows) => rows.length)).toBe(6);
      const verdicts = await tab.$$eval('table.verdicts tbody tr', (rows) =>
        rows.map((row) => {
          const r = row as unknown as ElementLike;
          return {
            text: r.querySelector('.verdict')?.textContent,
            height: r.getBoundingClientRect().height,
          };
        }),
      );
      expect(verdicts).toHaveLength(verdictsOf(agg, shippedThresholds()).length);
      for (const v of verdicts) {
        expect(['holds', 'does not hold', 'inconclusive']).toContain(v.text);
        expect(v.height).toBeGreaterThan(0);
      }
      // Each figure's SVG, laid out by chromium: its dashed lines (the other run) have length.
      const dashed = await tab.$$eval('figure img', (imgs) =>
        imgs.map((img) => {
          const src = (img as unknown as { src: string }).src;
          const page = globalThis as unknown as PageLike;
          const holder = page.document.createElement('div');
          holder.innerHTML = page.atob(src.slice(src.indexOf(',') + 1));
          page.document.body.appendChild(holder);
          const paths = [...holder.querySelectorAll('path[stroke-dasharray]')] as PathLike[];
          const length = paths.reduce((sum, p) => sum + p.getTotalLength(), 0);
          holder.remove();
          return { paths: paths.length, length };
        }),
      );
      for (const d of dashed) {
        expect(d.paths).toBeGreaterThan(0);
        expect(d.length).toBeGreaterThan(0);
      }
      await tab.screenshot({ path: join(OUTPUT, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
