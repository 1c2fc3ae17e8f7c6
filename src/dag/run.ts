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
import type { Executor, StageOutcome } from './executor.js';
import type { KeyRecord } from './key.js';
import type { ConcreteStage, Pipeline } from './pipeline-types.js';
import { expandNames, Planner, type StageState, selectStages } from './plan.js';
import type { ExecutionInput, Provenance } from './provenance.js';
import { defaultCapacity, Scheduler } from './scheduler.js';
import { stageJob } from './stage-job.js';
import type { StageRegistry } from './stage-kind.js';
import { StatCache } from './stat-cache.js';
import { idFileName, type StageRecord, Store, type TreeManifest } from './store.js';

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

type Settled =
  | { ok: true; key: string; tree: string }
  | { ok: false; failedDependency: string | undefined };

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
  const view = new ArtifactsView(paths.artifacts, store);
  const { pipeline } = opts;
  // We hold the lock: whatever a killed run left half-made can go.
  view.sweep();
  try {
    fs.rmSync(store.tmpDir, { recursive: true, force: true });
  } catch {
    // a dying stage process of a killed run may still be writing there; gc gets it later
  }
  const selected = selectStages(pipeline, opts.targets);
  const planner = new Planner(pipeline, opts.registry, store, statCache, opts.workspace, {
    force: expandNames(pipeline, opts.force, '--force'),
    assumeFresh: expandNames(pipeline, opts.assumeFresh, '--assume-fresh'),
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
  opts.provenance.startRun({
    id: opts.runId,
    argv: JSON.stringify(opts.argv),
    profile: pipeline.profile,
    tool_version: opts.toolVersion,
    host: os.hostname(),
    meta: JSON.stringify(opts.meta),
    started_at: started,
  });

  const counts: RunCounts = { total: stages.length, cached: 0, ran: 0, failed: 0, skipped: 0 };
  const scheduler = new Scheduler(opts.jobs, defaultCapacity(opts.jobs));
  const pending: ExecutionInput[] = [];
  const flush = (): void => {
    opts.provenance.recordExecutions(pending.splice(0));
  };
  const settled = new Map<string, Promise<Settled>>();
  const trees = new Map<string, string>();
  const keys = new Map<string, string>();
  const logDir = path.join(store.logsDir, opts.runId);

  const provenanceInputs = (stage: ConcreteStage, state: { record: KeyRecord }) => {
    const inputs: ExecutionInput['inputs'] = [];
    for (const input of stage.inputs) {
      const digests = state.record.inputs[input.name];
      const list = digests ?? [];
      input.refs.forEach((ref, i) => {
        inputs.push({
          label: ref.path
            ? `${input.name}=${ref.stageId}:${ref.path}`
            : `${input.name}=${ref.stageId}`,
          digest: list[i] ?? '',
          sourceStage: ref.stageId,
          sourceKey: keys.get(ref.stageId) ?? null,
        });
      });
    }
    for (const [dep, digest] of Object.entries(state.record.deps))
      inputs.push({ label: dep, digest, sourceStage: null, sourceKey: null });
    return inputs;
  };

  const execution = (
    stage: ConcreteStage,
    state: Extract<StageState, { status: 'fresh' | 'stale' }>,
    status: ExecutionInput['status'],
    t0: number,
    extra: {
      logPath?: string;
      tree?: string;
      manifest?: TreeManifest;
      facts?: Record<string, string>;
    },
  ): ExecutionInput => ({
    runId: opts.runId,
    stageId: stage.id,
    kind: stage.kind,
    key: state.key,
    status,
    startedAt: t0,
    endedAt: now(),
    logPath: extra.logPath ?? null,
    params: stage.params,
    outputTree: extra.tree ?? null,
    facts: extra.facts ?? {},
    inputs: provenanceInputs(stage, state),
    outputs: (extra.manifest?.entries ?? []).map((e) => ({
      path: e.path,
      digest: e.digest,
      size: e.size,
    })),
  });

  const execute = async (
    stage: ConcreteStage,
    state: Extract<StageState, { status: 'stale' }>,
  ): Promise<Settled> => {
    const t0 = now();
    const startedAt = new Date(t0).toISOString();
    emit({ type: 'stage-started', time: t0, stageId: stage.id, kind: stage.kind, key: state.key });
    const logPath = path.join(logDir, `${idFileName(stage.id)}.log`);
    if (state.problem !== undefined) {
      counts.failed += 1;
      pending.push(execution(stage, state, 'failed', t0, {}));
      flush();
      emit({
        type: 'stage-failed',
        time: now(),
        stageId: stage.id,
        kind: stage.kind,
        durationMs: 0,
        message: state.problem,
        exitCode: null,
        signal: null,
        logPath: '',
        logTail: [],
      });
      return { ok: false, failedDependency: stage.id };
    }
    const outDir = store.makeTempDir(stage.id);
    const facts: Record<string, string> = {};
    const launch = async (): Promise<StageOutcome> =>
      opts.executor.execute(
        stageJob(stage, {
          module: planner.kindOf(stage).module,
          key: state.key,
          workspace: opts.workspace,
          view,
          outDir,
          scratchDir: store.scratchDir(state.key),
          logPath,
        }),
        {
          progress: (progress) =>
            emit({ type: 'stage-progress', time: now(), stageId: stage.id, progress }),
          log: (stream, line) =>
            emit({ type: 'stage-log', time: now(), stageId: stage.id, stream, line }),
          annotate: (f) => Object.assign(facts, f),
        },
        opts.signal,
      );
    // An executor that cannot even start the stage (fork failed, sbatch refused) fails
    // that stage, not the run.
    const outcome = await launch().catch(
      (err: unknown): StageOutcome => ({
        ok: false,
        cause: 'runner',
        message: `could not start the stage: ${(err as Error).message}`,
        exitCode: null,
        signal: null,
        logTail: [],
      }),
    );
    if (opts.signal.aborted && !outcome.ok) {
      fs.rmSync(outDir, { recursive: true, force: true });
      return { ok: false, failedDependency: undefined };
    }
    let failure = outcome.ok ? undefined : outcome;
    let adopted: { treeDigest: string; manifest: TreeManifest } | undefined;
    if (outcome.ok) {
      try {
        adopted = store.adoptTree(outDir);
      } catch (err) {
        failure = {
          ok: false,
          cause: 'runner',
          message: (err as Error).message,
          exitCode: null,
          signal: null,
          logTail: [],
        };
      }
    }
    fs.rmSync(outDir, { recursive: true, force: true });
    if (failure || !adopted) {
      const f = failure ?? { message: 'no output', exitCode: null, signal: null, logTail: [] };
      counts.failed += 1;
      pending.push(execution(stage, state, 'failed', t0, { logPath, facts }));
      flush();
      emit({
        type: 'stage-failed',
        time: now(),
        stageId: stage.id,
        kind: stage.kind,
        durationMs: now() - t0,
        message: f.message,
        exitCode: f.exitCode,
        signal: f.signal,
        logPath: path.relative(opts.workspace, logPath),
        logTail: f.logTail,
      });
      return { ok: false, failedDependency: stage.id };
    }
    const finished = now();
    const record: StageRecord = {
      stageId: stage.id,
      kind: stage.kind,
      key: state.key,
      keyRecord: state.record,
      outputTree: adopted.treeDigest,
      origin: 'ran',
      startedAt,
      finishedAt: new Date(finished).toISOString(),
      durationMs: finished - t0,
    };
    store.writeRecord(record);
    store.writeHead(stage.id, state.key);
    fs.rmSync(store.scratchDir(state.key), { recursive: true, force: true });
    view.show(stage.id, adopted.treeDigest, adopted.manifest);
    counts.ran += 1;
    pending.push(
      execution(stage, state, 'ran', t0, {
        logPath,
        facts,
        tree: adopted.treeDigest,
        manifest: adopted.manifest,
      }),
    );
    flush();
    emit({
      type: 'stage-finished',
      time: now(),
      stageId: stage.id,
      kind: stage.kind,
      key: state.key,
      durationMs: finished - t0,
      earlyCutoff: state.previous?.outputTree === adopted.treeDigest,
    });
    return { ok: true, key: state.key, tree: adopted.treeDigest };
  };

  const settle = async (stage: ConcreteStage): Promise<Settled> => {
    const ups = await Promise.all(
      planner.upstreamOf(stage).map((id) => {
        const up = settled.get(id);
        if (!up) throw new Error(`${stage.id} reads ${id}, which is not selected`);
        return up;
      }),
    );
    const broken = ups.find((u) => !u.ok);
    if (broken !== undefined || opts.signal.aborted) {
      const failedDependency = broken && !broken.ok ? broken.failedDependency : undefined;
      if (failedDependency !== undefined && !opts.signal.aborted) {
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
      emit({
        type: 'stage-failed',
        time: now(),
        stageId: stage.id,
        kind: stage.kind,
        durationMs: 0,
        message: (err as Error).message,
        exitCode: null,
        signal: null,
        logPath: '',
        logTail: [],
      });
      return { ok: false, failedDependency: stage.id };
    }
    if (state.status === 'blocked')
      throw new Error(`stage ${stage.id} blocked after its upstream settled`);
    keys.set(stage.id, state.key);
    if (state.status === 'fresh') {
      if (state.assumedFrom) {
        store.writeRecord({
          ...state.assumedFrom,
          key: state.key,
          keyRecord: state.record,
          origin: 'assumed-fresh',
        });
      }
      if (store.readHead(stage.id) !== state.key) store.writeHead(stage.id, state.key);
      view.show(stage.id, state.outputTree, state.manifest);
      counts.cached += 1;
      pending.push(
        execution(stage, state, state.assumedFrom ? 'assumed-fresh' : 'cached', t0, {
          tree: state.outputTree,
          manifest: state.manifest,
        }),
      );
      emit({
        type: 'stage-cached',
        time: now(),
        stageId: stage.id,
        kind: stage.kind,
        key: state.key,
      });
      return { ok: true, key: state.key, tree: state.outputTree };
    }
    const kind = planner.kindOf(stage);
    const result = await scheduler.run(kind.resources, opts.signal, () => execute(stage, state));
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
  statCache.save();
  flush();
  const status: RunStatus = opts.signal.aborted
    ? 'interrupted'
    : counts.failed > 0
      ? 'failed'
      : 'success';
  const ended = now();
  opts.provenance.finishRun(opts.runId, status, ended);
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
