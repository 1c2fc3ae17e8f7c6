/**
 * What `run` does to one stage once it has decided its state, in named steps: launch a stale
 * stage through the executor into a fresh temp dir, adopt its output into the store, then
 * record either the failure or the success (record, head, view, provenance row, event). A
 * fresh stage is recorded as cached. run.ts decides which stages get here and when; this
 * module is the only place that writes a stage's outcome.
 */
import * as path from 'node:path';
import type { ArtifactChange, ArtifactsView } from './artifacts-view.js';
import { bytesFree, diskFullMessage, isDiskFull, NEARLY_FULL_BYTES } from './disk-full.js';
import type { EngineEvent, RunCounts } from './events.js';
import type { FailureCause, StageOutcome } from './executor.js';
import type { KeyRecord } from './key.js';
import type { ConcreteStage } from './pipeline-types.js';
import type { Planner, StageState } from './plan.js';
import type { ExecutionInput } from './provenance.js';
import { NO_RETRY, pause, retryDelay } from './retry.js';
import type { RunOptions } from './run.js';
import { stageJob } from './stage-job.js';
import type { StateIndex } from './state-index.js';
import { idFileName, type StageRecord, type Store, type TreeManifest } from './store.js';

export type Settled =
  | { ok: true; key: string; tree: string }
  | { ok: false; failedDependency: string | undefined };

export type StaleState = Extract<StageState, { status: 'stale' }>;
type FreshState = Extract<StageState, { status: 'fresh' }>;
export type StageFailure = Extract<StageOutcome, { ok: false }>;

/** What every step of one run shares. */
export interface RunContext {
  opts: RunOptions;
  store: Store;
  view: ArtifactsView;
  planner: Planner;
  /** What the last run left; says when a head need not be read. */
  index: StateIndex;
  counts: RunCounts;
  /** Each settled stage's key, for the provenance lineage of its dependents. */
  keys: Map<string, string>;
  logDir: string;
  /** Aborted on Ctrl-C / SIGTERM, and by `halt`: no new stage starts, running ones stop. */
  signal: AbortSignal;
  /** Stops the whole run for a fault no stage can get past (a full disk). */
  halt(reason: string): void;
  now(): number;
  emit(event: EngineEvent): void;
  /** Queues a provenance row; `flush` writes the queue. */
  remember(execution: ExecutionInput): void;
  flush(): void;
}

/** A stage's output as stored: its objects, manifest and record are in place. */
interface Committed {
  treeDigest: string;
  manifest: TreeManifest;
}

/** A failure the runner itself saw (not the stage process): nothing ran or nothing came out. */
export function runnerFailure(message: string, cause: FailureCause = 'runner'): StageFailure {
  return { ok: false, cause, message, exitCode: null, signal: null, logTail: [] };
}

/** What an exception from the runner's own file work means for the stage. */
export function writeFailure(err: unknown, where: string): StageFailure {
  if (!isDiskFull(err, where)) return runnerFailure((err as Error).message);
  return runnerFailure(diskFullMessage((err as NodeJS.ErrnoException).path ?? where), 'disk-full');
}

/** One try at running a stale stage: its own log, its own provenance row. */
interface Attempt {
  /** 1 for the first, 2 for the first retry, ... */
  number: number;
  startedAt: number;
  logPath: string;
  facts: Record<string, string>;
}

/**
 * Runs a stale stage (with its retries) and stores its outcome. `release` hands the
 * scheduler's tokens back once the stage's process has succeeded: storing its output is the
 * engine's own file work, which overlaps the next stage's run.
 */
export async function executeStage(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  release: () => void,
): Promise<Settled> {
  const t0 = ctx.now();
  ctx.emit({
    type: 'stage-started',
    time: t0,
    stageId: stage.id,
    kind: stage.kind,
    key: state.key,
  });
  if (state.problem !== undefined)
    return recordFailure(ctx, stage, state, t0, runnerFailure(state.problem));
  const policy = ctx.opts.pipeline.retry[stage.name] ?? NO_RETRY;
  for (let number = 1; ; number++) {
    const attempt: Attempt = {
      number,
      startedAt: ctx.now(),
      logPath: path.join(ctx.logDir, logFileName(stage.id, number)),
      facts: {},
    };
    const result = await runAttempt(ctx, stage, state, { attempt, t0, release });
    if (result === undefined) return { ok: false, failedDependency: undefined };
    if (!('ok' in result)) return recordSuccess(ctx, stage, state, t0, result, attempt);
    const delay = retryDelay(policy, result.cause, number);
    if (delay === undefined) return recordFailure(ctx, stage, state, t0, result, attempt);
    recordRetry(ctx, stage, state, result, attempt, { attempts: policy.retries + 1, delay });
    await pause(delay, ctx.signal);
    if (ctx.signal.aborted) return { ok: false, failedDependency: undefined };
  }
}

/** `train[a,1].log` for the first attempt, `train[a,1].attempt-2.log` for the next. */
const logFileName = (stageId: string, attempt: number): string =>
  `${idFileName(stageId)}${attempt === 1 ? '' : `.attempt-${attempt}`}.log`;

/**
 * Runs the stage once into a fresh temp dir and commits its output and record (a failure to
 * store them is the runner's or the disk's, never retried); undefined when the run was
 * stopped meanwhile (nothing of it is kept).
 */
async function runAttempt(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  at: { attempt: Attempt; t0: number; release: () => void },
): Promise<Committed | StageFailure | undefined> {
  let outDir: string;
  let scratchDir: string;
  try {
    outDir = await ctx.store.makeTempDir(stage.id);
    scratchDir = await ctx.store.scratchDir(state.key);
  } catch (err) {
    return writeFailure(err, ctx.store.tmpDir);
  }
  try {
    const outcome = await launch(ctx, stage, state, { outDir, scratchDir, attempt: at.attempt });
    if (ctx.signal.aborted && !outcome.ok) return undefined;
    if (!outcome.ok) return outcome;
    at.release();
    return await commitOutput(ctx, stage, state, outDir, at.t0);
  } finally {
    ctx.store.releaseTempDir(outDir);
  }
}

/**
 * Runs the stage through the executor. An executor that cannot even start it (fork failed,
 * sbatch refused) fails that stage, not the run.
 */
async function launch(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  where: { outDir: string; scratchDir: string; attempt: Attempt },
): Promise<StageOutcome> {
  const { opts, emit, now } = ctx;
  const kind = ctx.planner.kindOf(stage);
  const job = stageJob(stage, {
    module: kind.module,
    key: state.key,
    workspace: opts.workspace,
    view: ctx.view,
    outDir: where.outDir,
    scratchDir: where.scratchDir,
    logPath: where.attempt.logPath,
    ...(kind.resources ? { resources: kind.resources } : {}),
  });
  try {
    const outcome = await opts.executor.execute(
      job,
      {
        progress: (progress) =>
          emit({ type: 'stage-progress', time: now(), stageId: stage.id, progress }),
        log: (stream, line) =>
          emit({ type: 'stage-log', time: now(), stageId: stage.id, stream, line }),
        annotate: (f) => Object.assign(where.attempt.facts, f),
        placement: (p) => emit({ type: 'stage-placement', time: now(), stageId: stage.id, ...p }),
      },
      ctx.signal,
    );
    return outcome.ok ? outcome : blameTheDisk(outcome, where.outDir);
  } catch (err) {
    const failure = writeFailure(err, where.attempt.logPath);
    return failure.cause === 'disk-full'
      ? failure
      : runnerFailure(`could not start the stage: ${failure.message}`);
  }
}

/**
 * A shell command that hit a full disk only says that it exited non-zero. When its output's
 * filesystem is (nearly) full afterwards, that is the likelier story, and the one a user can
 * act on, so the failure is reported as the disk's.
 */
function blameTheDisk(failure: StageFailure, outDir: string): StageFailure {
  const free = bytesFree(outDir);
  if (failure.cause !== 'exit' || free === undefined || free >= NEARLY_FULL_BYTES) return failure;
  return {
    ...failure,
    cause: 'disk-full',
    message: diskFullMessage(outDir, 'under', failure.message),
  };
}

/**
 * Moves the stage's output files into the store as objects, then its tree manifest, then its
 * record (store.commit keeps that order), so the record is durable before the head.
 */
async function commitOutput(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  outDir: string,
  t0: number,
): Promise<Committed | StageFailure> {
  const finished = ctx.now();
  try {
    return await ctx.store.commit(
      outDir,
      (outputTree): StageRecord => ({
        stageId: stage.id,
        kind: stage.kind,
        key: state.key,
        keyRecord: state.record,
        outputTree,
        origin: 'ran',
        startedAt: new Date(t0).toISOString(),
        finishedAt: new Date(finished).toISOString(),
        durationMs: finished - t0,
      }),
    );
  } catch (err) {
    return writeFailure(err, ctx.store.objectsDir);
  }
}

function recordFailure(
  ctx: RunContext,
  stage: ConcreteStage,
  state: FreshState | StaleState,
  t0: number,
  failure: StageFailure,
  attempt?: Attempt,
): Settled {
  ctx.counts.failed += 1;
  ctx.remember(
    execution(ctx, stage, state, 'failed', attempt?.startedAt ?? t0, {
      ...(attempt ? { attempt } : {}),
      cause: failure.cause,
    }),
  );
  ctx.flush();
  emitFailed(ctx, stage, ctx.now() - t0, failure, attempt?.logPath);
  if (failure.cause === 'disk-full') ctx.halt(failure.message);
  return { ok: false, failedDependency: stage.id };
}

/**
 * The record is stored (commitOutput); then head, then view: a crash or a full disk between
 * any two leaves the store consistent (a record whose objects are all present; a view the
 * next run rebuilds).
 */
async function recordSuccess(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  t0: number,
  committed: Committed,
  attempt: Attempt,
): Promise<Settled> {
  const { store, now } = ctx;
  try {
    await store.writeHead(stage.id, state.key);
    store.removeScratch(state.key);
    await ctx.view.show(stage.id, committed.treeDigest, committed.manifest);
  } catch (err) {
    return recordFailure(ctx, stage, state, t0, writeFailure(err, store.cacheDir), attempt);
  }
  ctx.counts.ran += 1;
  ctx.remember(
    execution(ctx, stage, state, 'ran', attempt.startedAt, {
      attempt,
      tree: committed.treeDigest,
      manifest: committed.manifest,
    }),
  );
  ctx.flush();
  ctx.emit({
    type: 'stage-finished',
    time: now(),
    stageId: stage.id,
    kind: stage.kind,
    key: state.key,
    durationMs: now() - t0,
    earlyCutoff: state.previous?.outputTree === committed.treeDigest,
  });
  return { ok: true, key: state.key, tree: committed.treeDigest };
}

/** A fresh stage: its head and view catch up with the key, nothing runs. */
export async function recordCached(
  ctx: RunContext,
  stage: ConcreteStage,
  state: FreshState,
  t0: number,
): Promise<Settled> {
  const { store } = ctx;
  try {
    if (state.assumedFrom) {
      store.writeRecord({
        ...state.assumedFrom,
        key: state.key,
        keyRecord: state.record,
        origin: 'assumed-fresh',
      });
    }
    if (!ctx.index.headIs(stage.id, state.key) && store.readHead(stage.id) !== state.key)
      await store.writeHead(stage.id, state.key);
    const undone = await ctx.view.show(stage.id, state.outputTree, state.manifest);
    if (undone.length > 0)
      ctx.emit({ type: 'info', time: ctx.now(), message: restoredMessage(undone) });
  } catch (err) {
    return recordFailure(ctx, stage, state, t0, writeFailure(err, store.cacheDir));
  }
  ctx.counts.cached += 1;
  ctx.remember(
    execution(ctx, stage, state, state.assumedFrom ? 'assumed-fresh' : 'cached', t0, {
      tree: state.outputTree,
      manifest: state.manifest,
    }),
  );
  ctx.emit({
    type: 'stage-cached',
    time: ctx.now(),
    stageId: stage.id,
    kind: stage.kind,
    key: state.key,
  });
  return { ok: true, key: state.key, tree: state.outputTree };
}

/** A failed attempt that will be run again: its own provenance row and an event, no count. */
function recordRetry(
  ctx: RunContext,
  stage: ConcreteStage,
  state: StaleState,
  failure: StageFailure,
  attempt: Attempt,
  next: { attempts: number; delay: number },
): void {
  ctx.remember(
    execution(ctx, stage, state, 'retried', attempt.startedAt, { attempt, cause: failure.cause }),
  );
  ctx.flush();
  ctx.emit({
    type: 'stage-retrying',
    time: ctx.now(),
    stageId: stage.id,
    kind: stage.kind,
    attempt: attempt.number,
    attempts: next.attempts,
    cause: failure.cause,
    message: failure.message,
    delayMs: next.delay,
    logPath: path.relative(ctx.opts.workspace, attempt.logPath),
  });
}

function restoredMessage(changes: ArtifactChange[]): string {
  const what = changes.map((c) => `${c.path} (${c.change})`).join(', ');
  return `artifacts/${idFileName(changes[0]?.stageId ?? '')}: restored from the store: ${what}`;
}

/** The `stage-failed` event; a stage that never got a log passes no `logPath`. */
export function emitFailed(
  ctx: RunContext,
  stage: ConcreteStage,
  durationMs: number,
  failure: StageFailure,
  logPath?: string,
): void {
  ctx.emit({
    type: 'stage-failed',
    time: ctx.now(),
    stageId: stage.id,
    kind: stage.kind,
    durationMs,
    message: failure.message,
    exitCode: failure.exitCode,
    signal: failure.signal,
    logPath: logPath === undefined ? '' : path.relative(ctx.opts.workspace, logPath),
    logTail: failure.logTail,
  });
}

function execution(
  ctx: RunContext,
  stage: ConcreteStage,
  state: FreshState | StaleState,
  status: ExecutionInput['status'],
  startedAt: number,
  extra: {
    attempt?: Attempt;
    cause?: FailureCause;
    tree?: string;
    manifest?: TreeManifest;
  },
): ExecutionInput {
  return {
    runId: ctx.opts.runId,
    stageId: stage.id,
    kind: stage.kind,
    key: state.key,
    status,
    startedAt,
    endedAt: ctx.now(),
    logPath: extra.attempt?.logPath ?? null,
    params: stage.params,
    outputTree: extra.tree ?? null,
    facts: extra.attempt?.facts ?? {},
    attempt: extra.attempt?.number ?? 1,
    ...(extra.cause !== undefined ? { cause: extra.cause } : {}),
    inputs: provenanceInputs(ctx, stage, state.record),
    outputs: (extra.manifest?.entries ?? []).map((e) => ({
      path: e.path,
      digest: e.digest,
      size: e.size,
    })),
  };
}

function provenanceInputs(
  ctx: RunContext,
  stage: ConcreteStage,
  record: KeyRecord,
): ExecutionInput['inputs'] {
  const inputs: ExecutionInput['inputs'] = [];
  for (const input of stage.inputs) {
    const list = record.inputs[input.name] ?? [];
    input.refs.forEach((ref, i) => {
      inputs.push({
        label: ref.path
          ? `${input.name}=${ref.stageId}:${ref.path}`
          : `${input.name}=${ref.stageId}`,
        digest: list[i] ?? '',
        sourceStage: ref.stageId,
        sourceKey: ctx.keys.get(ref.stageId) ?? null,
      });
    });
  }
  for (const [dep, digest] of Object.entries(record.deps))
    inputs.push({ label: dep, digest, sourceStage: null, sourceKey: null });
  return inputs;
}
