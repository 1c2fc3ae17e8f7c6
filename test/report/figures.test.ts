import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { figureDefs } from '../../src/report/figures.js';
import { embeddedFontFile, renderPng, renderSvg } from '../../src/report/render.js';
import { experiment } from './fixture.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Pixels that are not white in a PNG, decoded independently of renderPng. */
function inkedPixels(png: Uint8Array): number {
  const { pixels } = decodeWith(png);
  let inked = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if ((pixels[i] as number) < 200 || (pixels[i + 1] as number) < 200) inked++;
  }
  return inked;
}

/** Decode by drawing the PNG inside an SVG <image> with resvg (no PNG decoder dependency). */
function decodeWith(png: Uint8Array): { pixels: Uint8Array } {
  const uri = `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="40"><image width="200" height="40" xlink:href="${uri}"/></svg>`;
  const rendered = new Resvg(svg, { font: { loadSystemFonts: false } }).render();
  return { pixels: new Uint8Array(rendered.pixels) };
}

describe('figures 3-10', () => {
  const defs = figureDefs(experiment('toy'));

  it('gives four figures per regime, numbered as in the paper', () => {
    expect(defs.map((d) => d.id)).toEqual([
      'fig3-toy-normal-history',
      'fig4-toy-normal-asr',
      'fig5-toy-normal-clever',
      'fig6-toy-normal-robustness',
      'fig7-toy-overfitting-history',
      'fig8-toy-overfitting-asr',
      'fig9-toy-overfitting-clever',
      'fig10-toy-overfitting-robustness',
    ]);
  });

  it('cites only the files holding the plotted numbers', () => {
    const asr = defs.find((d) => d.topic === 'asr');
    expect(asr?.sources.map((s) => s.stageId)).toEqual([
      'evaluate[normal,0]',
      'evaluate[normal,1]',
    ]);
  });

  it('renders every figure to an SVG naming its series, with the mean and the band', async () => {
    for (const def of defs) {
      const svg = await renderSvg(def.spec);
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('epoch');
      if (def.topic === 'asr') {
        for (const label of ['ASR fgsm', 'ASR pgd', 'ASR cw', 'test accuracy'])
          expect(svg).toContain(label);
        expect(svg).toContain('mark-area role-mark'); // the std band
        expect(svg).toContain('mark-line role-mark'); // the mean line
      }
    }
  });

  it('renders a PNG whose text is drawn with the embedded font', () => {
    const textOnly = `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="20"><text x="2" y="15" font-family="DejaVu Sans" font-size="14">epoch 12</text></svg>`;
    const png = renderPng(textOnly, 2, embeddedFontFile());
    expect([...png.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(inkedPixels(png)).toBeGreaterThan(50);
    const blank = renderPng(
      `<svg xmlns="http://www.w3.org/2000/svg" width="100" height="20"></svg>`,
    );
    expect(inkedPixels(blank)).toBe(0);
  });
});
