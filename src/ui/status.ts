/**
 * `advrob-dag status` / `run --dry-run` as text: one line per stage group (a foreach
 * expansion collapses to `train[*] 20: 4 cached, 16 will run`), followed by why the ones that
 * will run will run, and what was accepted for those assumed fresh. Pure: entries in, text
 * out; with `color: false` no escape bytes.
 */
import type { ArtifactChange } from '../dag/artifacts-view.js';
import { formatReason, type StatusEntry } from '../dag/events.js';
import { idFileName } from '../dag/store.js';
import { listWithin, type Paint, padEnd, painter, truncate } from './text.js';

export interface StatusRenderOptions {
  color: boolean;
  width: number;
  /** One line per stage that will run instead of one line per distinct reason. */
  detail?: boolean;
}

interface Group {
  name: string;
  kind: string;
  /** More than one stage: drawn as `name[*]` with counts. */
  expanded: boolean;
  entries: StatusEntry[];
}

/** Groups by stage name in first-seen order (the engine lists stages in topological order). */
function groupEntries(entries: StatusEntry[]): Group[] {
  const groups = new Map<string, Group>();
  for (const entry of entries) {
    let group = groups.get(entry.name);
    if (!group) {
      group = { name: entry.name, kind: entry.kind, expanded: false, entries: [] };
      groups.set(entry.name, group);
    }
    group.entries.push(entry);
  }
  for (const group of groups.values()) group.expanded = group.entries.length > 1;
  return [...groups.values()];
}

export function renderStatus(entries: StatusEntry[], opts: StatusRenderOptions): string {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, 30);
  const groups = groupEntries(entries);
  if (groups.length === 0) return `${paint('dim', 'no stages')}\n`;

  // A foreach that expanded to one stage reads best as that stage.
  const labels = groups.map((g) => (g.expanded ? `${g.name}[*]` : (g.entries[0]?.id ?? g.name)));
  const labelOf = new Map<string, string>();
  groups.forEach((g, i) => {
    for (const e of g.entries) labelOf.set(e.id, labels[i] ?? e.id);
  });
  const labelWidth = Math.min(
    Math.max(...labels.map((l) => Array.from(l).length)),
    Math.floor(width * 0.4),
  );
  const kindWidth = Math.max(...groups.map((g) => g.kind.length));
  const showKind = labelWidth + kindWidth + 30 <= width;
  const lines: string[] = [];

  groups.forEach((group, index) => {
    const willRun = group.entries.filter((e) => e.willRun);
    const fresh = group.entries.length - willRun.length;
    const marker = willRun.length > 0 ? paint('yellow', '●') : paint('green', '✓');
    const label = padEnd(truncate(labels[index] ?? group.name, labelWidth), labelWidth);
    const kind = showKind ? `${paint('dim', padEnd(group.kind, kindWidth))}  ` : '';
    const room = width - 2 - labelWidth - 2 - (showKind ? kindWidth + 2 : 0);
    let summary: string;
    if (!group.expanded) {
      const entry = group.entries[0] as StatusEntry;
      summary = entry.willRun
        ? `will run: ${formatReason(entry.reason)}`
        : formatReason(entry.reason);
    } else {
      const parts = [
        ...(fresh > 0 ? [`${fresh} ${freshWord(group.entries)}`] : []),
        ...(willRun.length > 0 ? [`${willRun.length} will run`] : []),
      ];
      summary = `${group.entries.length}: ${parts.join(', ')}`;
    }
    lines.push(
      `${marker} ${paint('bold', label)}  ${kind}${colorSummary(truncate(summary, room), willRun.length > 0, paint)}`,
    );
    const explained = group.entries.filter(
      (e) => e.willRun || (e.reason.type === 'assumed-fresh' && e.reason.accepted?.length),
    );
    if (group.expanded && explained.length > 0)
      lines.push(...reasonLines(explained, width, opts, paint, labelOf));
  });

  lines.push(paint('dim', truncate(totalLine(entries), width)));
  return `${lines.join('\n')}\n`;
}

/** `22 stages: 5 up to date, 17 will run (split 1, train 16)`: what will run, by kind. */
function totalLine(entries: StatusEntry[]): string {
  const byKind = new Map<string, number>();
  for (const e of entries) if (e.willRun) byKind.set(e.kind, (byKind.get(e.kind) ?? 0) + 1);
  const running = [...byKind.values()].reduce((a, b) => a + b, 0);
  const kinds = [...byKind].map(([kind, n]) => `${kind} ${n}`).join(', ');
  return `${entries.length} stages: ${entries.length - running} up to date, ${running} will run${running > 0 ? ` (${kinds})` : ''}`;
}

/** Stages that will not run are "cached", or "assumed fresh" when the user said so. */
function freshWord(entries: StatusEntry[]): string {
  const notRunning = entries.filter((e) => !e.willRun);
  return notRunning.every((e) => e.reason.type === 'assumed-fresh') ? 'assumed fresh' : 'cached';
}

function colorSummary(text: string, willRun: boolean, paint: Paint): string {
  return willRun ? paint('yellow', text) : paint('gray', text);
}

/**
 * A reason as the summary groups it: a stage waiting on `train[normal,3]` and one waiting on
 * `train[normal,4]` wait for the same thing, `train[*]`, so they share a line.
 */
function summaryReason(entry: StatusEntry, labelOf: Map<string, string>): string {
  if (entry.reason.type !== 'upstream-will-run') return formatReason(entry.reason);
  const groups = [...new Set(entry.reason.stageIds.map((id) => labelOf.get(id) ?? id))];
  return formatReason({ type: 'upstream-will-run', stageIds: groups });
}

/**
 * Why the members of a foreach group will run (or what was accepted for them): one line per
 * reason, or per stage with `detail`.
 */
function reasonLines(
  explained: StatusEntry[],
  width: number,
  opts: StatusRenderOptions,
  paint: Paint,
  labelOf: Map<string, string>,
): string[] {
  const indent = '    ';
  if (opts.detail) {
    const idWidth = Math.min(
      Math.max(...explained.map((e) => Array.from(e.id).length)),
      Math.floor(width * 0.45),
    );
    return explained.map((e) => {
      const room = width - indent.length - idWidth - 2;
      return `${indent}${padEnd(truncate(e.id, idWidth), idWidth)}  ${paint('dim', truncate(formatReason(e.reason), room))}`;
    });
  }
  const byReason = new Map<string, string[]>();
  for (const e of explained) {
    const reason = summaryReason(e, labelOf);
    const ids = byReason.get(reason);
    if (ids) ids.push(e.id);
    else byReason.set(reason, [e.id]);
  }
  const lines: string[] = [];
  for (const [reason, ids] of byReason) {
    const head = `${indent}${reason} ×${ids.length}`;
    if (Array.from(head).length >= width - 12) {
      lines.push(truncate(head, width));
      lines.push(paint('dim', `${indent}  ${listWithin(ids, width - indent.length - 2)}`));
    } else {
      const room = width - Array.from(head).length - 2;
      lines.push(`${head}  ${paint('dim', listWithin(ids, room))}`);
    }
  }
  return lines;
}

/**
 * Files under artifacts/ that differ from what the last run put there (`dvc status`'s
 * "modified"), with what `run` will do about them. Empty text when there are none.
 */
export function renderArtifactChanges(changes: ArtifactChange[], color: boolean): string {
  if (changes.length === 0) return '';
  const paint = painter(color);
  const lines = changes.map(
    (c) => `  ${paint('yellow', c.change.padEnd(8))}  artifacts/${idFileName(c.stageId)}/${c.path}`,
  );
  return `${paint('bold', 'artifacts changed since the last run')} ${paint('dim', '(run restores them from the store)')}\n${lines.join('\n')}\n`;
}
