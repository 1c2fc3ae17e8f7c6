/**
 * Renders vega-lite specs to SVG (vega's headless SVG renderer) and SVG to PNG (resvg with
 * the embedded DejaVu Sans, so a PNG's bytes do not depend on the machine's fonts). Reads no
 * network resource and no system font.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { FIGURE_FONT } from './figures.js';

const FONT_RELATIVE = join('data', 'fonts', 'DejaVuSans.ttf');

/** The embedded font, found by walking up from this module (it runs from src/ or dist/src/). */
export function embeddedFontFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, FONT_RELATIVE);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${FONT_RELATIVE} not found above ${import.meta.url}`);
    dir = parent;
  }
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG at `scale` times its size, text drawn with the embedded font only. */
export function renderPng(svg: string, scale = 2, fontFile = embeddedFontFile()): Uint8Array {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      loadSystemFonts: false,
      fontFiles: [fontFile],
      defaultFontFamily: FIGURE_FONT,
      sansSerifFamily: FIGURE_FONT,
    },
  });
  return new Uint8Array(resvg.render().asPng());
}
