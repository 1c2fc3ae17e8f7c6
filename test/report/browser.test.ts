/**
 * Opens a report.html built from rendered figures in Debian's headless chromium and checks
 * what a reader sees: every figure drawn at a non-zero size, no failed request, no console
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
import { experiment } from './fixture.js';

const CHROMIUM = '/usr/bin/chromium';

/** What the check reads of an <img> in the page (the project compiles without DOM types). */
interface ImageLike {
  complete: boolean;
  naturalWidth: number;
  getBoundingClientRect(): { width: number; height: number };
}
const OUTPUT = fileURLToPath(new URL('../../test-output/report/', import.meta.url));

describe.skipIf(!existsSync(CHROMIUM))('report.html in chromium', () => {
  it('renders every figure and table with no broken reference and no console error', async () => {
    const agg = experiment('toy');
    const figures = [];
    for (const def of figureDefs(agg)) {
      figures.push({ def, svg: await renderSvg(def.spec), files: [`${def.id}.svg`] });
    }
    const html = reportHtml({
      title: 'browser check',
      aggregates: [agg],
      figures,
      tables: distanceTables([agg]),
      params: agg.params,
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
      await tab.screenshot({ path: join(OUTPUT, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
