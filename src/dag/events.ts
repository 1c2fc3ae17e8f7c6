/**
 * The typed event stream: the only way the engine talks to UIs and loggers. The Ink view,
 * the plain line logger and the `--json` NDJSON writer are three consumers of this union.
 * Every event is plain JSON (it is written verbatim as NDJSON).
 */
import type { FailureCause, Placement } from './executor.js';
import type { Json } from './pipeline-types.js';
import type { StageProgress } from './stage-kind.js';

/** Why a stage will run, or why it will not. Rendered in one line by `formatReason`. */
export type StageReason =
  | { type: 'up-to-date' }
  | { type: 'never-run' }
  | { type: 'forced' }
  /** `accepted`: what changed and was accepted (absent in events of older versions). */
  | { type: 'assumed-fresh'; accepted?: StageReason[] }
  | {
      type: 'params-changed';
      changes: { path: string; from: Json | undefined; to: Json | undefined }[];
    }
  | { type: 'input-changed'; inputs: { name: string; stageId?: string; path?: string }[] }
  | { type: 'deps-changed'; paths: string[] }
  | { type: 'tools-changed'; tools: { command: string; from?: string; to?: string }[] }
  | { type: 'packages-changed'; packages: { name: string; from: string[]; to: string[] }[] }
  | { type: 'code-changed'; kind: string }
  | { type: 'upstream-will-run'; stageIds: string[] }
  | { type: 'output-missing' };

export interface RunCounts {
  total: number;
  cached: number;
  ran: number;
  failed: number;
  skipped: number;
}

export type EngineEvent =
  | {
      type: 'run-started';
      time: number;
      runId: string;
      pipeline: string;
      profile: string | null;
      jobs: number;
      /** Extra facts for the header, filled by the CLI (e.g. { backend: 'wasm' }). */
      meta: Record<string, string>;
      stages: { id: string; name: string; kind: string }[];
    }
  | {
      type: 'stage-planned';
      time: number;
      stageId: string;
      kind: string;
      willRun: boolean;
      reason: StageReason;
    }
  | { type: 'stage-cached'; time: number; stageId: string; kind: string; key: string }
  | { type: 'stage-started'; time: number; stageId: string; kind: string; key: string }
  | { type: 'stage-progress'; time: number; stageId: string; progress: StageProgress }
  /** On a cluster: the stage's job waits in the queue (with Slurm's reason) or runs on a node. */
  | ({ type: 'stage-placement'; time: number; stageId: string } & Placement)
  | { type: 'stage-log'; time: number; stageId: string; stream: 'stdout' | 'stderr'; line: string }
  | {
      type: 'stage-finished';
      time: number;
      stageId: string;
      kind: string;
      key: string;
      durationMs: number;
      /** Output identical to the previous execution's: dependents need not rerun. */
      earlyCutoff: boolean;
    }
  | {
      type: 'stage-failed';
      time: number;
      stageId: string;
      kind: string;
      durationMs: number;
      message: string;
      exitCode: number | null;
      signal: string | null;
      logPath: string;
      logTail: string[];
    }
  | {
      /** An attempt failed for a cause the stage's retry policy covers; another follows. */
      type: 'stage-retrying';
      time: number;
      stageId: string;
      kind: string;
      /** The attempt that failed (1 = the first run) and how many are allowed in all. */
      attempt: number;
      attempts: number;
      cause: FailureCause;
      message: string;
      delayMs: number;
      logPath: string;
    }
  | { type: 'stage-skipped'; time: number; stageId: string; kind: string; failedDependency: string }
  | { type: 'run-interrupting'; time: number; signal: string }
  | {
      type: 'run-finished';
      time: number;
      runId: string;
      status: 'success' | 'failed' | 'interrupted';
      durationMs: number;
      counts: RunCounts;
    }
  | { type: 'info'; time: number; message: string };

export type EngineEventType = EngineEvent['type'];

/** A consumer of the stream. Loggers must never throw into the engine. */
export interface EventSink {
  emit(event: EngineEvent): void;
  /** Flush and release the terminal; awaited before the process exits. */
  close?(): Promise<void> | void;
}

/** Fans one stream out to several sinks, as wireit's combination logger does. */
export function combineSinks(...sinks: EventSink[]): EventSink {
  return {
    emit(event) {
      for (const sink of sinks) sink.emit(event);
    },
    async close() {
      for (const sink of sinks) await sink.close?.();
    },
  };
}

const show = (v: Json | undefined): string => (v === undefined ? '(unset)' : JSON.stringify(v));

/** `4.22.0`, or both installed copies, or `(none)`; an unchanged version means new contents. */
const versions = (list: string[]): string => (list.length ? list.join(' + ') : '(none)');

/** A tool output is quoted when short and on one line, else only said to have changed. */
const shortOutput = (output: string | undefined): boolean =>
  output === undefined || (output.length <= 60 && !output.includes('\n'));

function formatTool(t: { command: string; from?: string; to?: string }): string {
  const name = `tool '${t.command}'`;
  if (t.from === undefined) return `${name} added`;
  if (t.to === undefined) return `${name} removed`;
  if (shortOutput(t.from) && shortOutput(t.to)) return `${name} ${t.from} -> ${t.to}`;
  return `${name} output changed`;
}

/** One line, no hashes: `params.eps 0.3 -> 0.1`, `input model changed (train[normal,2])`. */
export function formatReason(reason: StageReason): string {
  switch (reason.type) {
    case 'up-to-date':
      return 'up to date';
    case 'never-run':
      return 'never run';
    case 'forced':
      return 'forced (--force)';
    case 'assumed-fresh':
      return reason.accepted?.length
        ? `assumed fresh (--assume-fresh), accepted: ${reason.accepted.map(formatReason).join('; ')}`
        : 'assumed fresh (--assume-fresh)';
    case 'params-changed':
      return reason.changes
        .map((c) => `params.${c.path} ${show(c.from)} -> ${show(c.to)}`)
        .join(', ');
    case 'input-changed':
      return `input ${reason.inputs
        .map((i) =>
          i.stageId
            ? `${i.name} changed (${i.stageId}${i.path ? `:${i.path}` : ''})`
            : `${i.name} changed`,
        )
        .join(', ')}`;
    case 'deps-changed':
      return `deps changed: ${reason.paths.join(', ')}`;
    case 'tools-changed':
      return reason.tools.map(formatTool).join(', ');
    case 'packages-changed':
      return reason.packages
        .map((p) =>
          versions(p.from) === versions(p.to)
            ? `package ${p.name} ${versions(p.to)} (contents changed)`
            : `package ${p.name} ${versions(p.from)} -> ${versions(p.to)}`,
        )
        .join(', ');
    case 'code-changed':
      return `code of kind '${reason.kind}' changed`;
    case 'upstream-will-run':
      return `upstream will run: ${reason.stageIds.join(', ')}`;
    case 'output-missing':
      return 'output missing from the store';
  }
}

/** One row of `advrob-dag status` (also printed as JSON by `status --json`). */
export interface StatusEntry {
  id: string;
  /** Group name (the stage's name in pipeline.yaml). */
  name: string;
  kind: string;
  willRun: boolean;
  reason: StageReason;
}

/** What `dag` renders: stages and the ids they read from. */
export interface DagView {
  stages: { id: string; name: string; kind: string; dependsOn: string[] }[];
}

/** `attempt 1 of 3 failed (signal): stage process killed by SIGKILL; trying again in 1s`. */
export function formatRetry(event: Extract<EngineEvent, { type: 'stage-retrying' }>): string {
  const wait = event.delayMs < 1000 ? `${event.delayMs}ms` : `${Math.round(event.delayMs / 1000)}s`;
  return `attempt ${event.attempt} of ${event.attempts} failed (${event.cause}): ${event.message}; trying again in ${wait} (log ${event.logPath})`;
}
