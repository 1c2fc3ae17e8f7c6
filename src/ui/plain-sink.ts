/**
 * The line logger for CI, pipes and `--no-ui`: one timestamped line per thing that happened,
 * never a cursor move or a redraw. Colour only when asked (`color: true`); otherwise not a
 * single escape byte is written. Progress is thinned so a log stays readable.
 */
import { type EngineEvent, type EventSink, formatRetry, type StatusEntry } from '../dag/events.js';
import { metricTexts, verdictLines } from './frame.js';
import { groupName, initialRunState, type RunState, reduceEvents } from './state.js';
import { renderStatus } from './status.js';
import { clock, formatDuration, type Paint, painter } from './text.js';

export interface PlainSinkOptions {
  out: NodeJS.WritableStream;
  color: boolean;
  /** A stage's progress is logged at most this often (event time), plus at its last step. */
  progressEveryMs?: number;
  /** Lines of a failing stage's log printed with the failure. */
  tailLines?: number;
  /** Width of the grouped plan block (log lines are not cut to a terminal). */
  planWidth?: number;
}

/** The text of one event (may span lines), or undefined when it is not worth a line. */
export function plainLine(
  event: EngineEvent,
  paint: Paint,
  opts: { tailLines: number },
): string | undefined {
  switch (event.type) {
    case 'run-started': {
      const facts = [
        ...(event.profile ? [`profile ${event.profile}`] : []),
        ...Object.entries(event.meta).map(([key, value]) => `${key} ${value}`),
        `jobs ${event.jobs}`,
      ];
      return `${paint('bold', `run ${event.pipeline}`)} (${facts.join(', ')}): ${event.stages.length} stages, run id ${event.runId}`;
    }
    case 'stage-planned':
      // Collected and written as one grouped block by the sink.
      return undefined;
    case 'stage-cached':
      return paint('gray', `cached ${event.stageId}`);
    case 'stage-started':
      return paint('cyan', `start  ${event.stageId}`);
    case 'stage-progress': {
      const p = event.progress;
      const inner = p.inner ? ` ${p.inner.unit} ${p.inner.done}/${p.inner.total}` : '';
      const metrics = metricTexts(p.metrics)
        .map((text) => ` ${text}`)
        .join('');
      const message = p.message ? ` ${p.message}` : '';
      return `       ${event.stageId}: ${p.unit} ${p.done}/${p.total}${inner}${metrics}${message}`;
    }
    case 'stage-log':
      return undefined;
    case 'stage-placement':
      return event.state === 'pending'
        ? paint(
            'yellow',
            `wait   ${event.stageId}: pending in Slurm${event.reason ? ` (${event.reason})` : ''}, job ${event.jobId}`,
          )
        : paint('cyan', `place  ${event.stageId}: running on ${event.node}, job ${event.jobId}`);
    case 'stage-finished':
      return paint(
        'green',
        `done   ${event.stageId} in ${formatDuration(event.durationMs)}${event.earlyCutoff ? ' (output unchanged: dependents keep their cache)' : ''}`,
      );
    case 'stage-failed': {
      const how =
        event.exitCode !== null
          ? `exit ${event.exitCode}`
          : event.signal !== null
            ? `signal ${event.signal}`
            : 'error';
      const lines = [
        paint(
          'red',
          `FAILED ${event.stageId} after ${formatDuration(event.durationMs)} (${how}): ${event.message}`,
        ),
        ...event.logTail.slice(-opts.tailLines).map((line) => `       | ${line}`),
        `       log: ${event.logPath}`,
      ];
      return lines.join('\n');
    }
    case 'stage-retrying':
      return paint('yellow', `retry  ${event.stageId}: ${formatRetry(event)}`);
    case 'stage-skipped':
      return paint('yellow', `skip   ${event.stageId}: ${event.failedDependency} failed`);
    case 'run-interrupting':
      return paint(
        'yellow',
        `stopping (${event.signal}): waiting for running stages to end; nothing half-written is kept`,
      );
    case 'run-finished': {
      const c = event.counts;
      const verdict = { success: 'finished', failed: 'FAILED', interrupted: 'interrupted' }[
        event.status
      ];
      const style = { success: 'green', failed: 'red', interrupted: 'yellow' } as const;
      return paint(
        style[event.status],
        `${verdict} in ${formatDuration(event.durationMs)}: ${c.total} stages, ${c.ran} ran, ${c.cached} cached, ${c.failed} failed, ${c.skipped} skipped`,
      );
    }
    case 'info':
      return event.message;
  }
}

export function createPlainSink(opts: PlainSinkOptions): EventSink {
  const paint = painter(opts.color);
  const progressEveryMs = opts.progressEveryMs ?? 5000;
  const tailLines = opts.tailLines ?? 20;
  const progressSeen = new Map<string, { loggedAt: number; done: number; nested: boolean }>();
  // Lifecycle events only (not progress or logs), folded once at the end for the recap of
  // failures and cancellations: folding each as it comes copies the stage map per event,
  // quadratic in the number of stages.
  const lifecycle: EngineEvent[] = [];
  const names = new Map<string, string>();
  // Consecutive stage-planned events, written as one `status`-like block: a foreach group of
  // 500 stages takes a few lines, not 500.
  let plan: { time: number; entries: StatusEntry[] } | undefined;
  // The plan block already says these are up to date: a line each when they settle cached
  // would repeat it (10,000 lines for a no-op run of a 10,000-stage pipeline). A stage
  // planned to run that settles cached (its upstream's output came out unchanged) is news.
  const plannedFresh = new Set<string>();
  const broken = watchForBrokenPipe(opts.out);
  // Lines wait for the end of the event loop's turn and go out in one write: a no-op run
  // settles hundreds of cached stages in one turn, and a write each was a visible share of it.
  let pending: string[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    if (!broken.value) opts.out.write(text);
  };
  const write = (time: number, text: string) => {
    if (broken.value) return;
    const stamp = clock(time);
    const indent = ' '.repeat(stamp.length + 1);
    const lines = text.split('\n');
    if (pending.length === 0) setImmediate(flush);
    pending.push(
      `${lines.map((line, i) => (i === 0 ? `${paint('dim', stamp)} ${line}` : `${indent}${line}`)).join('\n')}\n`,
    );
  };
  const flushPlan = () => {
    if (plan === undefined) return;
    const status = renderStatus(plan.entries, {
      color: opts.color,
      width: opts.planWidth ?? 120,
    });
    write(plan.time, `plan\n${status.trimEnd()}`);
    plan = undefined;
  };
  return {
    emit(event) {
      try {
        if (event.type === 'run-started') for (const s of event.stages) names.set(s.id, s.name);
        if (event.type === 'stage-planned') {
          lifecycle.push(event);
          if (!event.willRun) plannedFresh.add(event.stageId);
          plan ??= { time: event.time, entries: [] };
          plan.entries.push({
            id: event.stageId,
            name: names.get(event.stageId) ?? groupName(event.stageId),
            kind: event.kind,
            willRun: event.willRun,
            reason: event.reason,
          });
          return;
        }
        flushPlan();
        if (
          event.type === 'stage-progress' &&
          !worthLogging(event, progressSeen, progressEveryMs)
        ) {
          return;
        }
        if (event.type !== 'stage-progress' && event.type !== 'stage-log') lifecycle.push(event);
        if (event.type === 'stage-cached' && plannedFresh.has(event.stageId)) return;
        const text = plainLine(event, paint, { tailLines });
        if (text !== undefined) write(event.time, text);
        if (event.type === 'run-finished') {
          const recap = recapLines(reduceEvents(initialRunState, lifecycle), paint);
          if (recap.length > 0) write(event.time, recap.join('\n'));
        }
      } catch {
        // A logger must never break the run (a closed pipe, say).
      }
    },
    close: () => {
      try {
        flushPlan();
        flush();
      } catch {
        // As in emit: never into the engine.
      }
      return drain(opts.out, broken);
    },
  };
}

/**
 * Whether a progress event gets a line: the first of a stage, its last step, every few
 * seconds, and every outer step of a stage with an inner bar (each epoch of a training, with
 * its val_acc) since those steps are the milestones people scan a CI log for.
 */
function worthLogging(
  event: Extract<EngineEvent, { type: 'stage-progress' }>,
  seen: Map<string, { loggedAt: number; done: number; nested: boolean }>,
  everyMs: number,
): boolean {
  const p = event.progress;
  const last = seen.get(event.stageId);
  const nested = (last?.nested ?? false) || p.inner !== undefined;
  const final = p.total > 0 && p.done >= p.total;
  const milestone = nested && last !== undefined && p.done !== last.done;
  const log = last === undefined || final || milestone || event.time - last.loggedAt >= everyMs;
  seen.set(event.stageId, {
    loggedAt: log ? event.time : (last?.loggedAt ?? event.time),
    done: p.done,
    nested,
  });
  return log;
}

/** After the verdict: each failure with its log, or what an interrupt cancelled. */
function recapLines(state: RunState, paint: Paint): string[] {
  const failed = state.failures.flatMap((id) => {
    const stage = state.stages.get(id);
    return stage?.failure ? [paint('red', `failed ${id}: log ${stage.failure.logPath}`)] : [];
  });
  // verdictLines' first line repeats the verdict already written; the rest lists what stopped.
  const stopped = verdictLines(state, { width: Number.MAX_SAFE_INTEGER, color: false, now: 0 })
    .slice(1)
    .map((line) => line.trim());
  return [...failed, ...(state.result?.status === 'interrupted' ? stopped : [])];
}

/**
 * A reader that went away (`| head`) makes the stream emit 'error' later; without a listener
 * that would kill the run. Writing simply stops.
 */
export function watchForBrokenPipe(out: NodeJS.WritableStream): { value: boolean } {
  const broken = { value: false };
  out.once('error', () => {
    broken.value = true;
  });
  return broken;
}

/** Resolves once everything written so far has been handed to the OS. */
export function drain(out: NodeJS.WritableStream, broken?: { value: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (broken?.value) {
      resolve();
      return;
    }
    try {
      out.write('', () => resolve());
    } catch {
      resolve();
    }
  });
}
