/**
 * report.html: one self-contained page (figures inlined as SVG data URIs, tables, the
 * parameters, and for every figure and table the stage ids and sha256 digests it was drawn
 * from). Pure: strings in, a string out. It must never reference an external resource, and
 * never print a timestamp (the same inputs give the same bytes, so the cache can cut off).
 */
import type { JsonObject } from '../dag/pipeline-types.js';
import type { FigureDef } from './figures.js';
import { type DistanceTable, escapeHtml, tablesHtml } from './tables.js';
import type { ExperimentAggregate, Source } from './types.js';
import type { Verdict } from './verdicts.js';

export interface RenderedFigure {
  /** The figure's description; its vega-lite spec is not needed once drawn. */
  def: Omit<FigureDef, 'spec'>;
  svg: string;
  /** Paths of the SVG/PNG files beside the report's inputs, shown as text (never linked). */
  files: string[];
}

export interface ReportInput {
  title: string;
  aggregates: ExperimentAggregate[];
  figures: RenderedFigure[];
  tables: DistanceTable[];
  params: JsonObject;
  verdicts: Verdict[];
  /** The run whose curves are drawn dashed in the figures, when there is one. */
  against?: string;
}

const svgDataUri = (svg: string): string =>
  `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`;

function sourceList(sources: readonly Source[]): string {
  const items = sources
    .map(
      (s) =>
        `<li><code>${escapeHtml(s.stageId)}</code> : <code>${escapeHtml(s.file)}</code> ` +
        `<span class="digest">sha256 ${escapeHtml(s.digest)}</span></li>`,
    )
    .join('');
  return `<details><summary>from ${sources.length} file(s)</summary><ul>${items}</ul></details>`;
}

function figureHtml(f: RenderedFigure): string {
  return [
    `<figure id="${escapeHtml(f.def.id)}">`,
    `<img src="${svgDataUri(f.svg)}" alt="${escapeHtml(f.def.title)}">`,
    `<figcaption><strong>Figure ${f.def.paperFigure}</strong> (paper numbering): ${escapeHtml(f.def.title)}.` +
      (f.files.length > 0
        ? ` Files: ${f.files.map((p) => `<code>${escapeHtml(p)}</code>`).join(', ')}.`
        : ''),
    sourceList(f.def.sources),
    '</figcaption>',
    '</figure>',
  ].join('\n');
}

const num = (v: number | undefined, digits = 3): string =>
  v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : 'n/a';

/** Per regime: folds, the selected epoch of each fold, and the last epoch's mean values. */
function summaryHtml(aggregates: readonly ExperimentAggregate[]): string {
  const rows = aggregates.flatMap((agg) =>
    agg.regimes.map((r) => {
      const last = <T>(xs: readonly T[]): T | undefined => xs[xs.length - 1];
      const attacks = Object.entries(r.asr)
        .map(([a, s]) => `${escapeHtml(a)} ${num(last(s.values)?.mean)}`)
        .join(', ');
      return (
        `<tr><td>${escapeHtml(agg.dataset)}</td><td>${escapeHtml(r.regime)}</td><td>${r.folds.length}</td>` +
        `<td>${r.selectedEpochs.join(', ')}</td>` +
        `<td>${num(last(r.history.acc.values)?.mean)}</td><td>${num(last(r.history.val_acc.values)?.mean)}</td>` +
        `<td>${num(last(r.testAccuracy.values)?.mean)}</td><td>${attacks}</td></tr>`
      );
    }),
  );
  return [
    '<table class="summary"><caption>Runs: selected epoch per fold (best validation accuracy, ties earliest) and last-epoch means</caption>',
    '<thead><tr><th>dataset</th><th>regime</th><th>folds</th><th>selected epochs</th><th>train acc</th><th>val acc</th><th>test acc</th><th>ASR</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

const sig = (v: number | null): string =>
  v === null || !Number.isFinite(v) ? 'n/a' : String(Number(v.toPrecision(3)));

/** One row per claim: the statistic, its value over folds, the threshold and the verdict. */
function verdictsHtml(verdicts: readonly Verdict[]): string {
  const rows = verdicts.map((v) => {
    const cls = v.verdict.replaceAll(' ', '-');
    const stages = v.stages.map((id) => `<code>${escapeHtml(id)}</code>`).join(', ');
    return (
      `<tr class="${cls}" data-claim="${escapeHtml(v.id)}"><td>${escapeHtml(v.dataset)}</td><td>${escapeHtml(v.regime)}</td>` +
      `<td>${escapeHtml(v.claim)}<br><small>${escapeHtml(v.statistic)}</small></td>` +
      `<td>${sig(v.value)} ± ${sig(v.std)}<br><small>folds: ${v.perFold.map(sig).join(', ')}</small></td>` +
      `<td>${escapeHtml(v.direction)} ${sig(v.threshold)}</td><td class="verdict">${escapeHtml(v.verdict)}</td>` +
      `<td>${escapeHtml(v.reason)}</td><td><details><summary>${v.stages.length} stage(s)</summary>${stages}</details></td></tr>`
    );
  });
  return [
    '<table class="verdicts" id="verdict-table"><caption>Each claim of the paper measured on this run (per fold, then mean ± std over folds); thresholds are the report stage\'s <code>verdicts</code> parameters, also in verdicts.json</caption>',
    '<thead><tr><th>dataset</th><th>regime</th><th>claim</th><th>value</th><th>holds if</th><th>verdict</th><th>why</th><th>from</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

function provenanceHtml(aggregates: readonly ExperimentAggregate[]): string {
  const rows = aggregates.flatMap((agg) =>
    agg.regimes.flatMap((r) =>
      r.sources.map(
        (s) =>
          `<tr><td><code>${escapeHtml(s.stageId)}</code></td><td><code>${escapeHtml(s.file)}</code></td>` +
          `<td>${escapeHtml(s.holds)}</td><td><code>${escapeHtml(s.digest)}</code></td></tr>`,
      ),
    ),
  );
  return [
    '<table class="provenance"><caption>Every file the numbers above were computed from (<code>advrob-dag why &lt;sha256&gt;</code> traces one back to the data)</caption>',
    '<thead><tr><th>stage</th><th>file</th><th>holds</th><th>sha256</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody></table>`,
  ].join('\n');
}

const STYLE = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 75rem; padding: 0 1rem; color: #222; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
td:first-child, th:first-child { text-align: left; }
.digest, .provenance code { font-size: 0.75rem; color: #555; word-break: break-all; }
pre { background: #f6f6f6; padding: 1rem; overflow: auto; }
.verdicts td, .verdicts th { text-align: left; vertical-align: top; }
.verdicts .holds .verdict { color: #1a7f37; font-weight: bold; }
.verdicts .does-not-hold .verdict { color: #cf222e; font-weight: bold; }
.verdicts .inconclusive .verdict { color: #9a6700; font-weight: bold; }
tr.paper, tr.delta { color: #555; font-style: italic; }
.unpublished { font-weight: normal; font-style: italic; }
`;

export function reportHtml(input: ReportInput): string {
  const datasets = input.aggregates.map((a) => a.dataset).join(', ');
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(input.title)}</h1>`,
    `<p>Datasets: ${escapeHtml(datasets)}. Curves are means over folds with a ±1 standard deviation band (population std); ` +
      'table entries are mean ± std over every adversarial example of every fold. Figure and table numbers follow ' +
      'Pedraza, Deniz, Bueno, <em>On the Relationship between Generalization and Robustness to Adversarial Examples</em>, Symmetry 13(5):817, 2021.</p>',
    ...(input.against
      ? [
          `<p class="against">Dashed lines: run <code>${escapeHtml(input.against)}</code>, drawn over this run's curves for comparison.</p>`,
        ]
      : []),
    '<h2 id="verdicts">Does the paper\'s claim hold on this run?</h2>',
    verdictsHtml(input.verdicts),
    '<h2>Runs</h2>',
    summaryHtml(input.aggregates),
    '<h2>Figures</h2>',
    ...input.figures.map(figureHtml),
    '<h2>Tables</h2>',
    tablesHtml(input.tables),
    ...input.tables.map(
      (t) => `<div class="table-sources">Table ${t.paperTable} ${sourceList(t.sources)}</div>`,
    ),
    '<h2>Parameters</h2>',
    `<pre id="params">${escapeHtml(JSON.stringify(input.params, null, 2))}</pre>`,
    '<h2>Provenance</h2>',
    provenanceHtml(input.aggregates),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
