/**
 * Tables 2-5 of the paper (L0, L2, L-inf of the adversarial perturbations, mean +- std per
 * attack) as CSV, JSON, Markdown and HTML strings. Pure; numbers are formatted here and only
 * here, CSV/JSON at full precision, Markdown/HTML with two decimals as the paper prints them.
 */
import { paperRow, publishedDatasets } from './paper.js';
import type { DistanceRow, ExperimentAggregate, Source, Stat } from './types.js';

export interface DistanceTable {
  /** Number of the matching table in the paper (2 + regime index x datasets + dataset index). */
  paperTable: number;
  dataset: string;
  regime: string;
  rows: DistanceRow[];
  sources: Source[];
}

/** One table per (dataset, regime), numbered in the paper's order (regime-major). */
export function distanceTables(aggregates: readonly ExperimentAggregate[]): DistanceTable[] {
  const tables: DistanceTable[] = [];
  aggregates.forEach((agg, d) => {
    agg.regimes.forEach((r, i) => {
      tables.push({
        paperTable: 2 + i * aggregates.length + d,
        dataset: agg.dataset,
        regime: r.regime,
        rows: r.distances,
        sources: r.sources.filter((s) => s.holds === 'distances'),
      });
    });
  });
  return tables.sort((a, b) => a.paperTable - b.paperTable);
}

export const fmt = (s: Stat): string =>
  Number.isFinite(s.mean) ? `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}` : 'n/a';

const CSV_COLUMNS = [
  'table',
  'dataset',
  'regime',
  'attack',
  'examples',
  'l0_mean',
  'l0_std',
  'l2_mean',
  'l2_std',
  'linf_mean',
  'linf_std',
  'sources',
] as const;

function csvField(value: string | number): string {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const stageIds = (sources: readonly Source[]): string[] => [
  ...new Set(sources.map((s) => s.stageId)),
];

export function tablesCsv(tables: readonly DistanceTable[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const t of tables) {
    const sources = stageIds(t.sources).join(' ');
    for (const r of t.rows) {
      lines.push(
        [
          t.paperTable,
          t.dataset,
          t.regime,
          r.attack,
          r.examples,
          r.l0.mean,
          r.l0.std,
          r.l2.mean,
          r.l2.std,
          r.linf.mean,
          r.linf.std,
          sources,
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function tablesJson(tables: readonly DistanceTable[]): string {
  return `${JSON.stringify(tables, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

export const tableCaption = (t: DistanceTable): string =>
  `Table ${t.paperTable}: ${t.dataset}, ${t.regime} regime — perturbation size of the adversarial examples (mean ± std over examples and folds)`;

const METRICS = ['l0', 'l2', 'linf'] as const;

/**
 * The paper's row and ours minus the paper's mean, or undefined where the paper published
 * no value for this dataset, regime and attack.
 */
function published(
  t: DistanceTable,
  r: DistanceRow,
): { paper: string[]; delta: string[] } | undefined {
  const p = paperRow(t.dataset, t.regime, r.attack);
  if (!p) return undefined;
  const delta = (k: (typeof METRICS)[number]) => {
    const d = r[k].mean - p[k].mean;
    return Number.isFinite(d) ? `${d >= 0 ? '+' : ''}${d.toFixed(2)}` : 'n/a';
  };
  return { paper: METRICS.map((k) => fmt(p[k])), delta: METRICS.map(delta) };
}

/** Said under a table that has nothing to compare with. */
const unpublished = (t: DistanceTable): string | undefined =>
  t.rows.some((r) => paperRow(t.dataset, t.regime, r.attack))
    ? undefined
    : `No published value for ${t.dataset}, ${t.regime} regime: the paper reports ${publishedDatasets().join(' and ')}, normal and overfitting regimes, attacks cw, fgsm and pgd.`;

export function tablesMarkdown(tables: readonly DistanceTable[]): string {
  return tables
    .map((t) => {
      const rows = t.rows.flatMap((r) => {
        const ours = `| ${r.attack} | ${r.examples} | ${fmt(r.l0)} | ${fmt(r.l2)} | ${fmt(r.linf)} |`;
        const p = published(t, r);
        return p
          ? [
              ours,
              `| ${r.attack} (paper) | | ${p.paper.join(' | ')} |`,
              `| ${r.attack} Δ mean (ours − paper) | | ${p.delta.join(' | ')} |`,
            ]
          : [ours];
      });
      const note = unpublished(t);
      return [
        `**${tableCaption(t)}**`,
        '',
        '| method | examples | L0 | L2 | L-inf |',
        '|---|---:|---:|---:|---:|',
        ...rows,
        '',
        ...(note ? [note, ''] : []),
        `Sources: ${stageIds(t.sources).join(', ')}`,
      ].join('\n');
    })
    .join('\n\n')
    .concat('\n');
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** One <table> per paper table; each row's title attribute names the stages it came from. */
export function tablesHtml(tables: readonly DistanceTable[]): string {
  return tables
    .map((t) => {
      const from = escapeHtml(stageIds(t.sources).join(', '));
      const cells = (xs: string[]) => xs.map((x) => `<td>${escapeHtml(x)}</td>`).join('');
      const rows = t.rows
        .flatMap((r) => {
          const attack = escapeHtml(r.attack);
          const ours =
            `<tr title="from ${from}"><th scope="row">${attack}</th><td>${r.examples}</td>` +
            `<td>${fmt(r.l0)}</td><td>${fmt(r.l2)}</td><td>${fmt(r.linf)}</td></tr>`;
          const p = published(t, r);
          return p
            ? [
                ours,
                `<tr class="paper"><th scope="row">${attack} (paper)</th><td></td>${cells(p.paper)}</tr>`,
                `<tr class="delta"><th scope="row">${attack} Δ mean (ours − paper)</th><td></td>${cells(p.delta)}</tr>`,
              ]
            : [ours];
        })
        .join('\n');
      const note = unpublished(t);
      return [
        `<table class="distances" id="table-${t.paperTable}">`,
        `<caption>${escapeHtml(tableCaption(t))}${note ? `<br><span class="unpublished">${escapeHtml(note)}</span>` : ''}</caption>`,
        '<thead><tr><th scope="col">method</th><th scope="col">examples</th><th scope="col">L0</th><th scope="col">L2</th><th scope="col">L-inf</th></tr></thead>',
        `<tbody>\n${rows}\n</tbody>`,
        '</table>',
      ].join('\n');
    })
    .join('\n');
}
