/**
 * The live view as lines of text: header, one row per running stage, a summary of finished
 * ones, and the end-of-run verdict. Pure (state, width, clock in; lines out), so the Ink
 * component only lays the lines out and tests read them directly. Every line fits `width`
 * columns; with `color: false` no line holds an escape byte.
 */
import type { StageProgress } from '../dag/stage-kind.js';
import {
  countStatuses,
  groupName,
  type RunState,
  runEta,
  type StageView,
  stagesWithStatus,
} from './state.js';
import {
  bar,
  formatDuration,
  formatMetric,
  type Paint,
  padEnd,
  painter,
  stripAnsi,
  truncate,
  truncateId,
  visibleLength,
} from './text.js';

export interface FrameOptions {
  width: number;
  color: boolean;
  /** The clock for elapsed times; replays pass the last event's time. */
  now: number;
  /** Lines of a failing stage's log shown in the view (the log file has all of them). */
  tailLines?: number;
  /** Most running rows drawn; the rest are counted in one line. */
  maxRows?: number;
  /** Terminal rows: the live part stays below this, since Ink clears the whole screen for a taller frame. */
  height?: number;
}

/** Columns taken by the elapsed time at the right of a row: `59m59s` or `1h02m`. */
const elapsedWidth = 6;
/** Below this the view is drawn at this width and Ink cuts the lines. */
const minWidth = 20;

/** Joins parts with a separator, dropping parts from the end until the line fits. */
function fitParts(parts: string[], separator: string, width: number): string {
  const kept = [...parts];
  while (kept.length > 1 && visibleLength(kept.join(separator)) > width) kept.pop();
  const line = kept.join(separator);
  return visibleLength(line) > width ? truncate(stripAnsi(line), width) : line;
}

export function headerLines(state: RunState, opts: FrameOptions): string[] {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, minWidth);
  const facts = [
    paint('bold', state.pipeline || 'pipeline'),
    ...(state.profile ? [`profile ${state.profile}`] : []),
    ...(state.meta.backend ? [`backend ${state.meta.backend}`] : []),
    `jobs ${state.jobs}`,
    ...Object.entries(state.meta)
      .filter(([key]) => key !== 'backend')
      .map(([key, value]) => `${key} ${value}`),
  ];
  const counts = countStatuses(state);
  const tally = [
    paint('gray', `${counts.cached} cached`),
    paint('cyan', `${counts.running - counts.pendingInQueue} running`),
    ...(counts.pendingInQueue > 0
      ? [paint('yellow', `${counts.pendingInQueue} pending in Slurm`)]
      : []),
    `${counts.queued} queued`,
    paint('green', `${counts.done} done`),
    paint(counts.failed > 0 ? 'red' : 'gray', `${counts.failed} failed`),
    ...(counts.skipped > 0 ? [paint('yellow', `${counts.skipped} skipped`)] : []),
  ];
  const end = state.phase === 'finished' && state.result ? state.result.durationMs : undefined;
  const elapsed = formatDuration(end ?? Math.max(0, opts.now - state.startedAt));
  const eta = runEta(state, opts.now);
  const clockText = `${elapsed}${eta ? ` · ETA ${eta.partial ? '≥' : ''}${formatDuration(eta.ms)}` : ''}`;
  const first = fitParts(facts, ' · ', width);
  const tallyLine = tally.join(' · ');
  const used = visibleLength(tallyLine) + 2 + clockText.length;
  if (used <= width) {
    const gap = ' '.repeat(width - used + 2);
    return [first, `${tallyLine}${gap}${paint('dim', clockText)}`];
  }
  // Narrow terminal: the clock gets its own line rather than pushing counts off the screen.
  return [first, fitParts(tally, ' · ', width), paint('dim', truncate(clockText, width))];
}

/** ` 8/12`: done padded to the width of total, so bars of sibling rows line up. */
const counter = (done: number, total: number): string =>
  `${String(done).padStart(String(total).length)}/${total}`;

/** Metrics people look for first; the rest follow in the order the stage reported them. */
const preferredMetrics = ['val_acc', 'asr', 'test_acc', 'acc', 'loss'];

/** Finite metrics, the preferred ones first, as `name value`. */
export function metricTexts(metrics: Record<string, number> | undefined): string[] {
  const entries = Object.entries(metrics ?? {}).filter(([, value]) => Number.isFinite(value));
  const rank = (name: string) => {
    const at = preferredMetrics.indexOf(name);
    return at === -1 ? preferredMetrics.length : at;
  };
  return entries
    .map(([name, value], order) => ({ name, value, order }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.order - b.order)
    .map(({ name, value }) => `${name} ${formatMetric(value)}`);
}

const minBar = 4;

/**
 * `epoch 12/35 ██████░░░░ batch 40/100 ███░░ val_acc 0.812 loss 0.41 pgd` shrunk to `room`
 * columns. What goes first as room runs out: the message, then metrics from the least
 * wanted, then the inner bar; the first metric and the outer bar go last.
 */
export function progressText(progress: StageProgress, room: number, paint: Paint): string {
  const outer = `${progress.unit} ${counter(progress.done, progress.total)}`;
  const inner = progress.inner;
  const innerText = inner ? `${inner.unit} ${counter(inner.done, inner.total)}` : undefined;
  const metrics = metricTexts(progress.metrics);
  const message = progress.message;

  interface Layout {
    inner: boolean;
    metrics: number;
    message: boolean;
  }
  const build = (layout: Layout, outerBar: number, innerBar: number): string => {
    const parts = [outer];
    if (outerBar > 0) parts.push(paint('cyan', bar(progress.done, progress.total, outerBar)));
    if (layout.inner && inner && innerText) {
      parts.push(innerText);
      if (innerBar > 0) parts.push(paint('blue', bar(inner.done, inner.total, innerBar)));
    }
    if (layout.metrics > 0)
      parts.push(paint('magenta', metrics.slice(0, layout.metrics).join(' ')));
    if (layout.message && message) parts.push(paint('dim', message));
    return parts.join(' ');
  };

  // Richest first. With the inner bar on, at least one metric stays (else the inner bar goes).
  const layouts: Layout[] = [];
  for (const useInner of inner ? [true, false] : [false]) {
    const least = useInner && metrics.length > 0 ? 1 : 0;
    if (message) layouts.push({ inner: useInner, metrics: metrics.length, message: true });
    for (let k = metrics.length; k >= least; k--) {
      layouts.push({ inner: useInner, metrics: k, message: false });
    }
  }

  for (const layout of layouts) {
    const bars = layout.inner ? 2 : 1;
    const spare = room - visibleLength(build(layout, 0, 0)) - bars;
    if (spare < minBar * bars) continue;
    const total = Math.min(spare, bars === 2 ? 36 : 24);
    const outerBar = bars === 2 ? Math.ceil(total * 0.6) : total;
    return build(layout, outerBar, total - outerBar);
  }
  return truncate(outer, room);
}

/** Columns of a running row besides the id and the body: marker, spaces, elapsed time. */
const rowChrome = 2 + 1 + 1 + elapsedWidth;

/**
 * Ids are shown whole when the row has room: the body gets what its richest layout uses
 * (bars are capped, so a wide terminal has columns to spare) and the id takes the rest.
 * Only when both cannot fit is the id cut, and never below a third of the width.
 */
function idWidth(stages: StageView[], width: number, paint: Paint): number {
  const longest = Math.max(8, ...stages.map((s) => Array.from(s.id).length));
  const body = Math.max(0, ...stages.map((s) => wantedBody(s, width, paint)));
  const spare = width - rowChrome - body;
  return Math.min(longest, Math.max(10, Math.floor(width * 0.32), spare));
}

export function runningRows(state: RunState, opts: FrameOptions): string[] {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, minWidth);
  // Stages placed on a node first; those whose job still waits in the queue after them.
  const all = stagesWithStatus(state, 'running');
  const waiting = (s: StageView): boolean => s.placement?.state === 'pending';
  const running = [...all.filter((s) => !waiting(s)), ...all.filter(waiting)];
  const maxRows = opts.maxRows ?? 12;
  const shown = running.slice(0, maxRows);
  const idCols = idWidth(shown, width, paint);
  const rows = shown.map((stage) => {
    const id = padEnd(truncateId(stage.id, idCols), idCols);
    const elapsed = formatDuration(Math.max(0, opts.now - (stage.startedAt ?? opts.now)));
    const room = width - rowChrome - idCols;
    const body = stageBody(stage, room, paint);
    const filler = ' '.repeat(Math.max(0, room - visibleLength(body)));
    const mark = waiting(stage) ? paint('yellow', '◌') : paint('cyan', '▶');
    return `${mark} ${paint('bold', id)} ${body}${filler} ${paint('dim', elapsed.padStart(elapsedWidth))}`;
  });
  if (running.length > shown.length) {
    rows.push(paint('dim', `  … and ${running.length - shown.length} more running`));
  }
  return rows;
}

/** A log line or message can be cut anywhere, so it asks for no more than a bar would. */
const noteWant = 24;

function wantedBody(stage: StageView, width: number, paint: Paint): number {
  const full = visibleLength(stageBody(stage, width, paint));
  return stage.progress && stage.progress.total > 0 ? full : Math.min(full, noteWant);
}

function stageBody(stage: StageView, room: number, paint: Paint): string {
  if (room <= 0) return '';
  const placement = stage.placement;
  if (placement?.state === 'pending')
    return paint(
      'yellow',
      truncate(
        `pending in Slurm${placement.reason ? ` (${placement.reason})` : ''}, job ${placement.jobId}`,
        room,
      ),
    );
  if (stage.progress && stage.progress.total > 0) return progressText(stage.progress, room, paint);
  const note = stage.progress?.message ?? stage.lastLog ?? stage.kind;
  return paint('dim', truncate(note, room));
}

/** `done 12 (train 8, attack 4) · cached 4 · early cutoff 1`: finished stages, collapsed. */
export function summaryLine(state: RunState, opts: FrameOptions): string | undefined {
  const paint = painter(opts.color);
  const done = stagesWithStatus(state, 'done');
  const cached = stagesWithStatus(state, 'cached');
  const skipped = stagesWithStatus(state, 'skipped');
  if (done.length === 0 && cached.length === 0 && skipped.length === 0) return undefined;
  const byGroup = (stages: StageView[]) => {
    const counts = new Map<string, number>();
    for (const s of stages) counts.set(s.name, (counts.get(s.name) ?? 0) + 1);
    return [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
  };
  const cutoffs = done.filter((s) => s.earlyCutoff).length;
  const parts = [
    ...(done.length > 0 ? [paint('green', `✓ done ${done.length} (${byGroup(done)})`)] : []),
    ...(cached.length > 0 ? [paint('gray', `cached ${cached.length}`)] : []),
    ...(cutoffs > 0 ? [`early cutoff ${cutoffs}`] : []),
    ...(skipped.length > 0 ? [paint('yellow', `skipped ${skipped.length}`)] : []),
  ];
  const width = Math.max(opts.width, minWidth);
  const line = parts.join(' · ');
  if (visibleLength(line) <= width) return line;
  // Too narrow for the per-group breakdown: keep the totals.
  const short = [
    ...(done.length > 0 ? [paint('green', `✓ done ${done.length}`)] : []),
    ...parts.slice(done.length > 0 ? 1 : 0),
  ];
  return fitParts(short, ' · ', width);
}

/** A failed stage: what failed, the tail of its log, and where the full log is. */
export function failureLines(stage: StageView, opts: FrameOptions): string[] {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, minWidth);
  const failure = stage.failure;
  if (!failure) return [];
  const how =
    failure.exitCode !== null
      ? `exit ${failure.exitCode}`
      : failure.signal !== null
        ? `signal ${failure.signal}`
        : undefined;
  const title = `✗ ${stage.id} failed after ${formatDuration(stage.durationMs ?? 0)}${how ? ` (${how})` : ''}`;
  const lines = [paint('red', truncate(title, width))];
  if (failure.message) lines.push(`  ${truncate(failure.message, width - 2)}`);
  const tail = failure.logTail.slice(-(opts.tailLines ?? 8));
  for (const line of tail) lines.push(paint('dim', `  │ ${truncate(line, width - 4)}`));
  lines.push(`  log: ${truncate(failure.logPath, width - 7)}`);
  return lines;
}

/** What the run is doing overall: stopping, or how it ended (and what was cancelled). */
export function verdictLines(state: RunState, opts: FrameOptions): string[] {
  const paint = painter(opts.color);
  const width = Math.max(opts.width, minWidth);
  if (state.phase === 'stopping') {
    const running = stagesWithStatus(state, 'running').length;
    const waiting = `■ stopping (${state.stopSignal ?? 'signal'}): waiting for ${running} running stage${running === 1 ? '' : 's'}`;
    return [paint('yellow', fitParts([waiting, 'nothing half-written is kept'], '; ', width))];
  }
  if (state.phase !== 'finished' || !state.result) return [];
  const { status, durationMs, counts } = state.result;
  const totals = `${counts.ran} ran, ${counts.cached} cached, ${counts.failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}`;
  if (status === 'success') {
    return [
      paint('green', truncate(`✓ finished in ${formatDuration(durationMs)}: ${totals}`, width)),
    ];
  }
  if (status === 'failed') {
    return [
      paint('red', truncate(`✗ failed after ${formatDuration(durationMs)}: ${totals}`, width)),
    ];
  }
  const cancelled = stagesWithStatus(state, 'cancelled');
  const notStarted = [...stagesWithStatus(state, 'queued'), ...stagesWithStatus(state, 'pending')];
  const lines = [
    paint(
      'yellow',
      truncate(`■ interrupted after ${formatDuration(durationMs)}: ${totals}`, width),
    ),
  ];
  if (cancelled.length > 0) {
    lines.push(
      truncate(
        `  cancelled (${cancelled.length}): ${cancelled.map((s) => s.id).join(', ')}`,
        width,
      ),
    );
  }
  if (notStarted.length > 0) {
    lines.push(truncate(`  not started (${notStarted.length}): ${groupCounts(notStarted)}`, width));
  }
  return lines;
}

function groupCounts(stages: StageView[]): string {
  const counts = new Map<string, number>();
  for (const s of stages) counts.set(groupName(s.id), (counts.get(groupName(s.id)) ?? 0) + 1);
  return [...counts].map(([name, n]) => (n === 1 ? name : `${name} ×${n}`)).join(', ');
}

/** An `info` message, printed once above the live part. */
export function infoLine(message: string, opts: FrameOptions): string {
  return painter(opts.color)('dim', `ℹ ${truncate(message, Math.max(opts.width, minWidth) - 2)}`);
}

/** The live part of the view (notes are printed once, above it, by the caller). */
export function liveLines(state: RunState, opts: FrameOptions): string[] {
  // Before run-started there is nothing to say (and a run that never starts leaves no frame).
  if (state.phase === 'idle') return [];
  const summary = summaryLine(state, opts);
  const header = headerLines(state, opts);
  const verdict = verdictLines(state, opts);
  const fixed = header.length + (summary ? 1 : 0) + verdict.length;
  // Ink clears the whole screen to redraw a frame taller than the terminal: keep below it,
  // with one row for the "… and N more" line and one for the cursor.
  const fromHeight = opts.height === undefined ? undefined : Math.max(1, opts.height - fixed - 2);
  const maxRows = Math.min(opts.maxRows ?? 12, fromHeight ?? Number.POSITIVE_INFINITY);
  return [
    ...header,
    ...runningRows(state, { ...opts, maxRows }),
    ...(summary ? [summary] : []),
    ...verdict,
  ];
}
