/**
 * `run`: settles every selected stage in topological order. A fresh stage is reported cached
 * (and its view refreshed); a stale one runs through the scheduler and executor into a fresh
 * temp dir, whose files become objects, then a manifest, then the stage record, then the
 * head pointer. Early cutoff falls out of content keys: an output identical to the previous
 * one gives dependents their previous keys. A failure skips only its dependents. After an
 * abort nothing new starts and nothing from an unfinished stage is stored.
 * The caller holds the workspace lock; this module never takes it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtifactsView } from './artifacts-view.js';
import type { EngineEvent, EventSink, RunCounts } from './events.js';
import type { Executor } from './executor.js';
import type { ConcreteStage, Pipeline } from './pipeline-types.js';
import { expandNames, Planner, type StageState, selectStages } from './plan.js';
import type { ExecutionInput, Provenance } from './provenance.js';
import { defaultCapacity, Scheduler } from './scheduler.js';
import {
  emitFailed,
  executeStage,
  type RunContext,
  recordCached,
  runnerFailure,
  type Settled,
  writeFailure,
} from './stage-execution.js';
import type { StageRegistry } from './stage-kind.js';
import { StatCache } from './stat-cache.js';
import { type SettledStage, StateIndex } from './state-index.js';
import { Store } from './store.js';

export interface RunOptions {
  workspace: string;
  pipeline: Pipeline;
  registry: StageRegistry;
  targets: string[];
  force: string[];
  assumeFresh: string[];
  jobs: number;
  sink: EventSink;
  executor: Executor;
  provenance: Provenance;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  runId: string;
  argv: string[];
  toolVersion: string;
  meta: Record<string, string>;
  /** Said as `info` events right after `run-started`. */
  notes: string[];
}

export type RunStatus = 'success' | 'failed' | 'interrupted';

export function workspacePaths(workspace: string): {
  cache: string;
  artifacts: string;
  statCache: string;
  provenance: string;
} {
  const cache = path.join(workspace, 'cache');
  return {
    cache,
    artifacts: path.join(workspace, 'artifacts'),
    statCache: path.join(cache, 'stat-cache.json'),
    provenance: path.join(cache, 'provenance.db'),
  };
}

export async function runPipeline(
  opts: RunOptions,
): Promise<{ status: RunStatus; counts: RunCounts }> {
  const started = Date.now();
  const paths = workspacePaths(opts.workspace);
  const store = new Store(paths.cache);
  const statCache = new StatCache(paths.statCache);
  const index = StateIndex.read(store);
  const view = new ArtifactsView(paths.artifacts, store, index);
  const { pipeline } = opts;
  // We hold the lock: whatever a killed run left half-made can go.
  view.sweep();
  store.sweepTempFiles();
  try {
    fs.rmSync(store.tmpDir, { recursive: true, force: true });
  } catch {
    // a dying stage process of a killed run may still be writing there; gc gets it later
  }
  const selected = selectStages(pipeline, opts.targets);
  const planner = new Planner(pipeline, opts.registry, store, statCache, opts.workspace, {
    force: expandNames(pipeline, opts.force, '--force'),
    assumeFresh: expandNames(pipeline, opts.assumeFresh, '--assume-fresh'),
    index,
  });
  const { entries, states: planned } = planner.plan(selected);
  const stages = pipeline.stages.filter((s) => selected.has(s.id));
  const now = Date.now;
  const emit = (event: EngineEvent): void => opts.sink.emit(event);

  emit({
    type: 'run-started',
    time: now(),
    runId: opts.runId,
    pipeline: pipeline.name,
    profile: pipeline.profile,
    jobs: opts.jobs,
    meta: opts.meta,
    stages: stages.map((s) => ({ id: s.id, name: s.name, kind: s.kind })),
  });
  for (const message of opts.notes) emit({ type: 'info', time: now(), message });
  for (const e of entries)
    emit({
      type: 'stage-planned',
      time: now(),
      stageId: e.id,
      kind: e.kind,
      willRun: e.willRun,
      reason: e.reason,
    });

  const counts: RunCounts = { total: stages.length, cached: 0, ran: 0, failed: 0, skipped: 0 };
  const scheduler = new Scheduler(
    opts.jobs,
    opts.executor.capacity?.(opts.jobs) ?? defaultCapacity(opts.jobs),
  );
  const pending: ExecutionInput[] = [];
  const stop = new AbortController();
  const halt = (reason: string): void => {
    if (stop.signal.aborted) return;
    emit({ type: 'info', time: now(), message: `stopping the run: ${reason}` });
    stop.abort();
  };
  if (opts.signal.aborted) stop.abort();
  else opts.signal.addEventListener('abort', () => stop.abort(), { once: true });
  // Provenance is history, not correctness: rows that cannot be written (a full disk) stay
  // queued for the next flush, and the run stops rather than going on unrecorded.
  const flush = (): void => {
    try {
      opts.provenance.recordExecutions(pending);
      pending.length = 0;
    } catch (err) {
      halt(writeFailure(err, paths.provenance).message);
    }
  };
  const settled = new Map<string, Promise<Settled>>();
  const trees = new Map<string, string>();
  const keys = new Map<string, string>();
  const ctx: RunContext = {
    opts,
    store,
    view,
    planner,
    index,
    counts,
    keys,
    logDir: path.join(store.logsDir, opts.runId),
    signal: stop.signal,
    halt,
    now,
    emit,
    remember: (execution) => pending.push(execution),
    flush,
  };
  try {
    opts.provenance.startRun({
      id: opts.runId,
      argv: JSON.stringify(opts.argv),
      profile: pipeline.profile,
      tool_version: opts.toolVersion,
      host: os.hostname(),
      meta: JSON.stringify(opts.meta),
      started_at: started,
      params: JSON.stringify(pipeline.params),
    });
  } catch (err) {
    halt(writeFailure(err, paths.provenance).message);
  }

  const settle = async (stage: ConcreteStage): Promise<Settled> => {
    const ups = await Promise.all(
      planner.upstreamOf(stage).map((id) => {
        const up = settled.get(id);
        if (!up) throw new Error(`${stage.id} reads ${id}, which is not selected`);
        return up;
      }),
    );
    const broken = ups.find((u) => !u.ok);
    if (broken !== undefined || stop.signal.aborted) {
      const failedDependency = broken && !broken.ok ? broken.failedDependency : undefined;
      if (failedDependency !== undefined && !stop.signal.aborted) {
        counts.skipped += 1;
        emit({
          type: 'stage-skipped',
          time: now(),
          stageId: stage.id,
          kind: stage.kind,
          failedDependency,
        });
      }
      return { ok: false, failedDependency };
    }
    const t0 = now();
    let state: StageState;
    try {
      // A stage planned fresh had only fresh upstreams, which settled unchanged: reuse it.
      const plannedState = planned.get(stage.id);
      state =
        plannedState?.status === 'fresh'
          ? plannedState
          : planner.decide(stage, (id) => trees.get(id) ?? '');
    } catch (err) {
      counts.failed += 1;
      emitFailed(ctx, stage, 0, runnerFailure((err as Error).message));
      return { ok: false, failedDependency: stage.id };
    }
    if (state.status === 'blocked')
      throw new Error(`stage ${stage.id} blocked after its upstream settled`);
    keys.set(stage.id, state.key);
    if (state.status === 'fresh') return recordCached(ctx, stage, state, t0);
    const kind = planner.kindOf(stage);
    const result = await scheduler.run(
      kind.resources,
      stop.signal,
      (release) => executeStage(ctx, stage, state, release),
      pipeline.priority[stage.id],
    );
    return result ?? { ok: false, failedDependency: undefined };
  };

  for (const stage of stages) {
    const p = settle(stage).then((s) => {
      if (s.ok) trees.set(stage.id, s.tree);
      return s;
    });
    settled.set(stage.id, p);
  }
  await Promise.all(settled.values());
  await store.removalsDone();
  try {
    statCache.save();
    planner.saveCaches();
  } catch {
    // only caches of digests and package versions: the next run reads what they lack
  }
  flush();
  saveIndex(index, { pipeline, selected, keys, trees, planner, view });
  const status: RunStatus = opts.signal.aborted
    ? 'interrupted'
    : counts.failed > 0 || stop.signal.aborted
      ? 'failed'
      : 'success';
  const ended = now();
  try {
    opts.provenance.finishRun(opts.runId, status, ended);
  } catch (err) {
    emit({
      type: 'info',
      time: now(),
      message: `provenance not updated: ${writeFailure(err, paths.provenance).message}`,
    });
  }
  emit({
    type: 'run-finished',
    time: ended,
    runId: opts.runId,
    status,
    durationMs: ended - started,
    counts,
  });
  return { status, counts };
}

/** The next command's state index: what every stage that settled here settled as. */
function saveIndex(
  index: StateIndex,
  run: {
    pipeline: Pipeline;
    selected: ReadonlySet<string>;
    keys: ReadonlyMap<string, string>;
    trees: ReadonlyMap<string, string>;
    planner: Planner;
    view: ArtifactsView;
  },
): void {
  const settled = new Map<string, SettledStage>();
  try {
    for (const [id, tree] of run.trees) {
      const key = run.keys.get(id);
      if (key !== undefined) settled.set(id, { key, tree, manifest: run.planner.manifest(tree) });
    }
    if (index.holds(settled)) return;
    const others = run.pipeline.stages.map((s) => s.id).filter((id) => !run.selected.has(id));
    index.save(settled, others, (id) => run.view.markerOf(id));
  } catch {
    // only a shortcut for the next command, which reads the store without it
  }
}
