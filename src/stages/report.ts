/**
 * Stage kind `report`: report.html, one self-contained page with the verdict on each of the
 * paper's claims, every dataset's figures (inlined), Tables 2-5 beside the paper's values,
 * the parameters and the provenance of each number; plus verdicts.json and the tables
 * numbered across datasets as CSV/JSON/Markdown. It reads only its inputs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Json, JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import type { RenderedFigure } from '../report/html.js';
import { distanceTables, tablesCsv, tablesJson, tablesMarkdown } from '../report/tables.js';
import type { ExperimentAggregate } from '../report/types.js';
import { type VerdictThresholds, verdictsOf, verdictThresholdsSchema } from '../report/verdicts.js';
import { inputPaths, readJson, writeJson } from './io.js';
import type { FigureEntry } from './plot.js';

interface ReportParams {
  [key: string]: Json;
  title: string;
  /** What each verdict compares with (docs/verdicts.md). */
  verdicts: VerdictThresholds & JsonObject;
}

export const report = defineStage<ReportParams>({
  kind: 'report',
  description:
    'report.html: figures, tables, parameters and provenance in one self-contained page.',
  paramsSchema: {
    type: 'object',
    required: ['title', 'verdicts'],
    additionalProperties: false,
    properties: { title: { type: 'string', minLength: 1 }, verdicts: verdictThresholdsSchema },
  },
  inputs: {
    aggregates: { description: 'aggregate.json of every aggregate stage', many: true },
    figures: { description: 'output trees of the plot stages', many: true },
  },
  outputs: ['report.html', 'verdicts.json', 'tables.csv', 'tables.json', 'tables.md'],
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
    const thresholds = ctx.params.verdicts;
    const verdicts = aggregates.flatMap((agg) => verdictsOf(agg, thresholds));
    writeJson(join(ctx.outDir, 'verdicts.json'), { thresholds, verdicts });
    writeFileSync(
      join(ctx.outDir, 'report.html'),
      reportHtml({ title: ctx.params.title, aggregates, figures, tables, params, verdicts }),
    );
    writeFileSync(join(ctx.outDir, 'tables.csv'), tablesCsv(tables));
    writeFileSync(join(ctx.outDir, 'tables.json'), tablesJson(tables));
    writeFileSync(join(ctx.outDir, 'tables.md'), tablesMarkdown(tables));
  },
});
