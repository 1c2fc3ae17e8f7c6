/**
 * `advrob-dag diff` as text or Markdown (for a paper's notes or a pull request). Pure: a
 * RunDiff in, a string out. A series with more changed values than `maxValues` (say, a
 * per-example array) is shown as its mean, old -> new; shorter ones (per-epoch curves,
 * table cells) value by value.
 */
import type { Json } from '../dag/pipeline-types.js';
import type { RunDiff, RunInfo } from '../dag/run-diff.js';
import type { SeriesDiff } from '../dag/value-diff.js';

export interface DiffRenderOptions {
  maxValues: number;
}

interface Row {
  series: string;
  at: string;
  old: string;
  new: string;
  delta: string;
}

export const formatNumber = (v: number | null): string =>
  v === null ? '-' : Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v);

const signed = (v: number | null): string =>
  v === null ? '' : `${v > 0 ? '+' : ''}${formatNumber(v)}`;

const shown = (v: Json | undefined): string => (v === undefined ? '(absent)' : JSON.stringify(v));

function seriesRows(s: SeriesDiff, opts: DiffRenderOptions): Row[] {
  if (s.changes.length > opts.maxValues) {
    const delta = s.meanOld !== null && s.meanNew !== null ? s.meanNew - s.meanOld : null;
    return [
      {
        series: s.series,
        at: `mean (${s.changes.length} of ${s.length} changed)`,
        old: formatNumber(s.meanOld),
        new: formatNumber(s.meanNew),
        delta: signed(delta),
      },
    ];
  }
  return s.changes.map((c) => ({
    series: s.series,
    at: c.at === '' ? '' : `[${c.at}]`,
    old: formatNumber(c.old),
    new: formatNumber(c.new),
    delta: signed(c.delta),
  }));
}

const runLine = (label: string, r: RunInfo & { planned?: boolean }): string =>
  r.planned
    ? `${label} the workspace as it would run now (advrob-dag ${r.argv.join(' ')}), not run`
    : `${label} ${r.id}  ${r.startedAt}  ${r.status}  advrob-dag ${r.argv.join(' ')}`;

const stageLines = (d: RunDiff, pad: string, list: (ids: string[]) => string): string[] => {
  const verb = d.b.planned ? 'would ' : '';
  const groups: [string, string[]][] = [
    [`${verb}rerun`, d.stages.reran],
    [`${verb}stay cached`, d.stages.cached],
    ['failed', d.stages.failed],
    ['only in A', d.stages.onlyA],
    ['only in B', d.stages.onlyB],
  ];
  return groups
    .filter(([, ids]) => ids.length > 0)
    .map(([name, ids]) => `${pad}${name} (${ids.length}): ${list(ids)}`);
};

function paramLines(
  d: RunDiff,
  format: (path: string, old: string, now: string) => string,
): string[] {
  if (d.params === null)
    return ['params were not recorded for one of the runs (compare their argv)'];
  if (d.params.length === 0) return ['no params differ'];
  return d.params.map((p) => format(p.path, shown(p.old), shown(p.new)));
}

export function renderDiffText(d: RunDiff, opts: DiffRenderOptions): string {
  const out = [runLine('A', d.a), runLine('B', d.b), '', 'params'];
  out.push(
    ...paramLines(d, (path, old, now) => `  ${path}  ${old} -> ${now}`).map((l) =>
      l.startsWith('  ') ? l : `  ${l}`,
    ),
  );
  out.push('', 'stages', ...stageLines(d, '  ', (ids) => ids.join(', ')));
  if (!d.b.planned) {
    out.push(
      '',
      d.files.length === 0 ? 'no value in a JSON or CSV output changed' : 'values (A -> B)',
    );
    for (const f of d.files) {
      out.push(`  ${f.stageId}  ${f.file}`);
      for (const s of f.series)
        for (const r of seriesRows(s, opts))
          out.push(
            `    ${r.series}${r.at ? ` ${r.at}` : ''}  ${r.old} -> ${r.new}${r.delta ? `  (${r.delta})` : ''}`,
          );
    }
  }
  for (const m of d.missing)
    out.push(`  ${m.stageId}: ${m.files.join(', ')} of run ${m.run} collected by gc, not compared`);
  return `${out.join('\n')}\n`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

export function renderDiffMarkdown(d: RunDiff, opts: DiffRenderOptions): string {
  const code = (ids: string[]) => ids.map((id) => `\`${id}\``).join(', ');
  const out = [
    `**A** ${runLine('', d.a).trim()}  `,
    `**B** ${runLine('', d.b).trim()}`,
    '',
    '### Params',
    '',
  ];
  if (d.params && d.params.length > 0) {
    out.push('| param | A | B |', '|---|---|---|');
    for (const p of d.params)
      out.push(`| \`${p.path}\` | ${cell(shown(p.old))} | ${cell(shown(p.new))} |`);
  } else out.push(...paramLines(d, () => ''));
  out.push('', '### Stages', '', ...stageLines(d, '- ', code));
  if (!d.b.planned) {
    out.push('', '### Changed values', '');
    if (d.files.length === 0) out.push('No value in a JSON or CSV output changed.');
    for (const f of d.files) {
      out.push(
        `#### \`${f.stageId}\` ${f.file}`,
        '',
        '| series | at | A | B | Δ |',
        '|---|---|---:|---:|---:|',
      );
      for (const s of f.series)
        for (const r of seriesRows(s, opts))
          out.push(`| \`${cell(r.series)}\` | ${cell(r.at)} | ${r.old} | ${r.new} | ${r.delta} |`);
      out.push('');
    }
  }
  for (const m of d.missing)
    out.push(
      `- \`${m.stageId}\`: ${m.files.join(', ')} of run ${m.run} collected by gc, not compared`,
    );
  return `${out.join('\n')}\n`;
}
