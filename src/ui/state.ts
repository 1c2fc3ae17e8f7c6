/**
 * The run as the UIs see it: a pure reducer folding engine events into a view state. Every
 * renderer (Ink rows, summaries, tests) reads this state, never the raw stream. It must
 * never mutate a state it was given: callers keep old states (React compares them).
 */
import { type EngineEvent, formatRetry, type RunCounts, type StageReason } from '../dag/events.js';
import type { Placement } from '../dag/executor.js';
import type { StageProgress } from '../dag/stage-kind.js';
import { type Eta, estimateEta } from './eta.js';

export type StageStatus =
  | 'pending'
  | 'queued'
  | 'cached'
  | 'running'
  | 'done'
  | 'failed'
  | 'skipped'
  | 'cancelled';

export interface StageFailure {
  message: string;
  exitCode: number | null;
  signal: string | null;
  logPath: string;
  logTail: string[];
}

export interface StageView {
  id: string;
  name: string;
  kind: string;
  status: StageStatus;
  reason?: StageReason;
  startedAt?: number;
  durationMs?: number;
  progress?: StageProgress;
  lastLog?: string;
  earlyCutoff?: boolean;
  failure?: StageFailure;
  failedDependency?: string;
  /** On a cluster: the stage's job waits in the queue (with the reason) or runs on a node. */
  placement?: Placement;
}

export interface RunState {
  phase: 'idle' | 'running' | 'stopping' | 'finished';
  runId: string;
  pipeline: string;
  profile: string | null;
  jobs: number;
  meta: Record<string, string>;
  startedAt: number;
  /** Time of the latest event: the clock tests and replays render against. */
  lastTime: number;
  stopSignal?: string;
  result?: { status: 'success' | 'failed' | 'interrupted'; durationMs: number; counts: RunCounts };
  /** Stage ids in the order the engine listed them. */
  order: readonly string[];
  stages: ReadonlyMap<string, StageView>;
  /** Durations of stages that ran to completion, by kind: what the ETA learns from. */
  durationsByKind: Readonly<Record<string, readonly number[]>>;
  /** Ids of failed stages in the order they failed. */
  failures: readonly string[];
  /**
   * What is printed once and then scrolls away with the terminal, in the order it happened:
   * failures (with their log tails) and `info` messages. Append-only within a run.
   */
  notes: readonly Note[];
}

export type Note =
  | { type: 'failure'; stageId: string }
  | { type: 'info'; time: number; message: string };

export const initialRunState: RunState = {
  phase: 'idle',
  runId: '',
  pipeline: '',
  profile: null,
  jobs: 1,
  meta: {},
  startedAt: 0,
  lastTime: 0,
  order: [],
  stages: new Map(),
  durationsByKind: {},
  failures: [],
  notes: [],
};

/** Folds one event. */
export function reduceRun(state: RunState, event: EngineEvent): RunState {
  return reduceEvents(state, [event]);
}

/**
 * Folds a batch of events, copying the stage map once per batch rather than once per event,
 * so a burst of progress events costs one copy. Unknown stage ids are added on the fly: a
 * consumer that joined late still shows what it hears about.
 */
export function reduceEvents(state: RunState, events: readonly EngineEvent[]): RunState {
  if (events.length === 0) return state;
  const stages = new Map(state.stages);
  let order = state.order;
  let orderCopied = false;
  let durations = state.durationsByKind;
  let durationsCopied = false;
  let next: RunState = { ...state };
  // A list is copied at its first append in the batch and then appended to in place, so a
  // batch of n events costs O(n) however long the lists already are.
  const copied = new Set<readonly unknown[]>();
  const own = <T>(list: readonly T[]): T[] => {
    if (copied.has(list)) return list as T[];
    const copy = [...list];
    copied.add(copy);
    return copy;
  };

  const update = (id: string, kind: string | undefined, patch: Partial<StageView>): void => {
    let current = stages.get(id);
    if (current === undefined) {
      current = { id, name: groupName(id), kind: kind ?? '?', status: 'pending' };
      if (!orderCopied) {
        order = [...order];
        orderCopied = true;
      }
      (order as string[]).push(id);
    }
    stages.set(id, { ...current, ...patch });
  };

  for (const event of events) {
    next.lastTime = Math.max(next.lastTime, event.time);
    switch (event.type) {
      case 'run-started': {
        stages.clear();
        order = event.stages.map((s) => s.id);
        orderCopied = true;
        for (const s of event.stages) {
          stages.set(s.id, { id: s.id, name: s.name, kind: s.kind, status: 'pending' });
        }
        durations = {};
        durationsCopied = true;
        next = {
          ...initialRunState,
          phase: 'running',
          runId: event.runId,
          pipeline: event.pipeline,
          profile: event.profile,
          jobs: Math.max(1, event.jobs),
          meta: { ...event.meta },
          startedAt: event.time,
          lastTime: event.time,
        };
        break;
      }
      case 'stage-planned':
        update(event.stageId, event.kind, {
          kind: event.kind,
          reason: event.reason,
          status: event.willRun ? 'queued' : 'cached',
        });
        break;
      case 'stage-cached':
        update(event.stageId, event.kind, { status: 'cached' });
        break;
      case 'stage-started':
        update(event.stageId, event.kind, {
          status: 'running',
          startedAt: event.time,
          progress: undefined,
        });
        break;
      case 'stage-progress': {
        // Metrics are kept across events: a batch update (loss, acc) must not hide the last
        // epoch's val_acc.
        const previous = stages.get(event.stageId)?.progress?.metrics;
        const metrics =
          previous || event.progress.metrics
            ? { ...previous, ...event.progress.metrics }
            : undefined;
        update(event.stageId, undefined, {
          progress: { ...event.progress, ...(metrics ? { metrics } : {}) },
        });
        break;
      }
      case 'stage-placement': {
        const { type: _type, time: _time, stageId, ...placement } = event;
        update(stageId, undefined, { placement });
        break;
      }
      case 'stage-log':
        if (event.line.trim() !== '') update(event.stageId, undefined, { lastLog: event.line });
        break;
      case 'stage-finished': {
        update(event.stageId, event.kind, {
          status: 'done',
          durationMs: event.durationMs,
          earlyCutoff: event.earlyCutoff,
        });
        if (!durationsCopied) {
          durations = { ...durations };
          durationsCopied = true;
        }
        const mutable = durations as Record<string, readonly number[]>;
        const list = own(mutable[event.kind] ?? []);
        list.push(event.durationMs);
        mutable[event.kind] = list;
        break;
      }
      case 'stage-failed': {
        // A stage killed by the signal that stops the run was cancelled, not broken.
        const cancelled = next.phase === 'stopping' && event.signal !== null;
        update(event.stageId, event.kind, {
          status: cancelled ? 'cancelled' : 'failed',
          durationMs: event.durationMs,
          failure: {
            message: event.message,
            exitCode: event.exitCode,
            signal: event.signal,
            logPath: event.logPath,
            logTail: event.logTail,
          },
        });
        if (!cancelled) {
          const failures = own(next.failures);
          failures.push(event.stageId);
          next.failures = failures;
          const notes = own(next.notes);
          notes.push({ type: 'failure', stageId: event.stageId });
          next.notes = notes;
        }
        break;
      }
      case 'stage-retrying':
        update(event.stageId, event.kind, { progress: undefined });
        next.notes = [
          ...next.notes,
          { type: 'info', time: event.time, message: `${event.stageId}: ${formatRetry(event)}` },
        ];
        break;
      case 'stage-skipped':
        update(event.stageId, event.kind, {
          status: 'skipped',
          failedDependency: event.failedDependency,
        });
        break;
      case 'run-interrupting':
        next.phase = 'stopping';
        next.stopSignal = event.signal;
        break;
      case 'run-finished':
        next.phase = 'finished';
        next.result = { status: event.status, durationMs: event.durationMs, counts: event.counts };
        if (event.status === 'interrupted') {
          for (const [id, stage] of stages) {
            if (stage.status === 'running') stages.set(id, { ...stage, status: 'cancelled' });
          }
        }
        break;
      case 'info': {
        const notes = own(next.notes);
        notes.push({ type: 'info', time: event.time, message: event.message });
        next.notes = notes;
        break;
      }
    }
  }
  return { ...next, stages, order, durationsByKind: durations };
}

/** `train[normal,3]` -> `train`; a plain id is its own group. */
export function groupName(id: string): string {
  const bracket = id.indexOf('[');
  return bracket > 0 ? id.slice(0, bracket) : id;
}

export interface StatusCounts {
  total: number;
  cached: number;
  running: number;
  /** Of `running`: started, but their job still waits in the cluster's queue. */
  pendingInQueue: number;
  queued: number;
  done: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

export function countStatuses(state: RunState): StatusCounts {
  const counts: StatusCounts = {
    total: 0,
    cached: 0,
    running: 0,
    pendingInQueue: 0,
    queued: 0,
    done: 0,
    failed: 0,
    skipped: 0,
    cancelled: 0,
  };
  for (const stage of state.stages.values()) {
    counts.total += 1;
    if (stage.status === 'pending' || stage.status === 'queued') counts.queued += 1;
    else counts[stage.status] += 1;
    if (stage.status === 'running' && stage.placement?.state === 'pending')
      counts.pendingInQueue += 1;
  }
  return counts;
}

export function stagesWithStatus(state: RunState, status: StageStatus): StageView[] {
  const found: StageView[] = [];
  for (const id of state.order) {
    const stage = state.stages.get(id);
    if (stage?.status === status) found.push(stage);
  }
  return found;
}

/** The fraction of a stage's work done, counting the inner bar inside the current outer step. */
export function progressFraction(progress: StageProgress | undefined): number | undefined {
  if (progress === undefined || progress.total <= 0) return undefined;
  let done = progress.done;
  const inner = progress.inner;
  if (inner !== undefined && inner.total > 0 && progress.done < progress.total) {
    done += Math.min(inner.done / inner.total, 1);
  }
  return Math.min(done / progress.total, 1);
}

export function runEta(state: RunState, now: number): Eta | null {
  if (state.phase !== 'running') return null;
  const queued: Record<string, number> = {};
  const running: { kind: string; elapsedMs: number; fraction?: number }[] = [];
  for (const stage of state.stages.values()) {
    if (stage.status === 'pending' || stage.status === 'queued') {
      // A stage still waiting for its plan may come from the cache; count only planned runs.
      if (stage.status === 'queued') queued[stage.kind] = (queued[stage.kind] ?? 0) + 1;
    } else if (stage.status === 'running') {
      const fraction = progressFraction(stage.progress);
      running.push({
        kind: stage.kind,
        elapsedMs: Math.max(0, now - (stage.startedAt ?? now)),
        ...(fraction === undefined ? {} : { fraction }),
      });
    }
  }
  return estimateEta({ jobs: state.jobs, finished: state.durationsByKind, queued, running });
}
