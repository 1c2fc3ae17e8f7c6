/**
 * Stage kind `report`: report.html, one self-contained page with every dataset's figures
 * (inlined), Tables 2-5, the parameters and the provenance of each number; plus the tables
 * numbered across datasets as CSV/JSON/Markdown. It reads only its inputs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import type { RenderedFigure } from '../report/html.js';
import { distanceTables, tablesCsv, tablesJson, tablesMarkdown } from '../report/tables.js';
import type { ExperimentAggregate } from '../report/types.js';
import { inputPaths, readJson } from './io.js';
import type { FigureEntry } from './plot.js';

interface ReportParams {
  [key: string]: string;
  title: string;
}

export const report = defineStage<ReportParams>({
  kind: 'report',
  description:
    'report.html: figures, tables, parameters and provenance in one self-contained page.',
  paramsSchema: {
    type: 'object',
    required: ['title'],
    additionalProperties: false,
    properties: { title: { type: 'string', minLength: 1 } },
  },
  inputs: {
    aggregates: { description: 'aggregate.json of every aggregate stage', many: true },
    figures: { description: 'output trees of the plot stages', many: true },
  },
  outputs: ['report.html', 'tables.csv', 'tables.json', 'tables.md'],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const { reportHtml } = await import('../report/html.js');
    const aggregates = inputPaths(ctx, 'aggregates').map((path) =>
      readJson<ExperimentAggregate>(path),
    );
    const figures: RenderedFigure[] = inputPaths(ctx, 'figures').flatMap((dir) =>
      readJson<FigureEntry[]>(join(dir, 'figures.json')).map((f) => ({
        def: f,
        svg: readFileSync(join(dir, f.svg), 'utf8'),
        files: [f.svg, f.png],
      })),
    );
    figures.sort(
      (a, b) => a.def.paperFigure - b.def.paperFigure || a.def.id.localeCompare(b.def.id),
    );
    const tables = distanceTables(aggregates);
    const params = aggregates[0]?.params ?? {};
    writeFileSync(
      join(ctx.outDir, 'report.html'),
      reportHtml({ title: ctx.params.title, aggregates, figures, tables, params }),
    );
    writeFileSync(join(ctx.outDir, 'tables.csv'), tablesCsv(tables));
    writeFileSync(join(ctx.outDir, 'tables.json'), tablesJson(tables));
    writeFileSync(join(ctx.outDir, 'tables.md'), tablesMarkdown(tables));
  },
});
