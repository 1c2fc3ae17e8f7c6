/**
 * Stage kind `plot`: the paper's Figures 3-10 for one dataset, from aggregate.json, as SVG
 * and PNG (plus the vega-lite spec that drew them) and figures.json listing each figure with
 * the sources of its numbers. vega and resvg are loaded inside `run` only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import type { FigureTopic } from '../report/figures.js';
import type { ExperimentAggregate, Source } from '../report/types.js';
import { inputPath, readJson, writeJson } from './io.js';

interface PlotParams {
  [key: string]: number;
  /** PNG pixels per SVG pixel. */
  png_scale: number;
}

/** One entry of figures.json. */
export interface FigureEntry {
  id: string;
  paperFigure: number;
  regime: string;
  topic: FigureTopic;
  title: string;
  svg: string;
  png: string;
  spec: string;
  sources: Source[];
}

export const plot = defineStage<PlotParams>({
  kind: 'plot',
  description: 'Figures 3-10 (mean +- std over folds) as SVG and PNG.',
  paramsSchema: {
    type: 'object',
    required: ['png_scale'],
    additionalProperties: false,
    properties: { png_scale: { type: 'number', minimum: 0.25, maximum: 8 } },
  },
  inputs: { aggregate: { description: 'aggregate.json of an aggregate stage' } },
  outputs: ['figures/<id>.svg', 'figures/<id>.png', 'figures/<id>.vl.json', 'figures.json'],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const { figureDefs } = await import('../report/figures.js');
    const { renderPng, renderSvg } = await import('../report/render.js');
    const agg = readJson<ExperimentAggregate>(inputPath(ctx, 'aggregate'));
    const defs = figureDefs(agg);
    mkdirSync(join(ctx.outDir, 'figures'), { recursive: true });
    const entries: FigureEntry[] = [];
    for (const [i, def] of defs.entries()) {
      const svg = await renderSvg(def.spec);
      const files = {
        svg: `figures/${def.id}.svg`,
        png: `figures/${def.id}.png`,
        spec: `figures/${def.id}.vl.json`,
      };
      writeFileSync(join(ctx.outDir, files.svg), svg);
      writeFileSync(join(ctx.outDir, files.png), renderPng(svg, ctx.params.png_scale));
      writeJson(join(ctx.outDir, files.spec), def.spec);
      entries.push({
        id: def.id,
        paperFigure: def.paperFigure,
        regime: def.regime,
        topic: def.topic,
        title: def.title,
        ...files,
        sources: def.sources,
      });
      ctx.progress({ unit: 'figure', done: i + 1, total: defs.length });
    }
    writeJson(join(ctx.outDir, 'figures.json'), entries);
  },
});
