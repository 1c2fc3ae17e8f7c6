/**
 * Calling a kind's `run` for one job, wherever that happens: in the stage runner (a Node
 * child process per stage) or, for kinds marked `inProcess`, in the local executor's own
 * process. Both find the kind the same way, give it the same context and describe its
 * failure the same way, so a stage behaves alike on either path.
 */
import type { StageContext, StageKind, StageProgress } from './stage-kind.js';

/** What a stage is given to run (the executor's job without its log path): plain data. */
export type StageCall = {
  /** URL of the module that defines the kind (`StageKind.module`). */
  module: string;
  kind: string;
} & Pick<
  StageContext,
  'stageId' | 'params' | 'inputs' | 'deps' | 'outDir' | 'scratchDir' | 'workspace' | 'seed'
>;

/** A failed `run`, as plain data that can cross a process boundary. */
export interface StageError {
  message: string;
  stack?: string;
  /** The exit code of the process a kind wraps (e.g. `command`). */
  exitCode?: number;
  /** The signal that killed the process a kind wraps. */
  signal?: string;
  /** The errno code, so a full disk can be told from the stage's own fault. */
  code?: string;
}

export interface CallHooks {
  progress(p: StageProgress): void;
  log(line: string): void;
  annotate(facts: Record<string, string>): void;
  output?(stream: 'stdout' | 'stderr', chunk: string): void;
}

/** The kind named `kind` among the exports of `module`. */
export async function loadKind(module: string, kind: string): Promise<StageKind> {
  const exports = Object.values((await import(module)) as Record<string, unknown>);
  const found = exports.find(
    (v): v is StageKind =>
      typeof v === 'object' &&
      v !== null &&
      (v as StageKind).kind === kind &&
      typeof (v as StageKind).run === 'function',
  );
  if (!found) throw new Error(`stage kind '${kind}' is not exported by ${module}`);
  return found;
}

export function stageContext(call: StageCall, hooks: CallHooks, signal: AbortSignal): StageContext {
  return {
    stageId: call.stageId,
    params: call.params,
    inputs: call.inputs,
    deps: call.deps,
    outDir: call.outDir,
    scratchDir: call.scratchDir,
    workspace: call.workspace,
    seed: call.seed,
    progress: hooks.progress,
    log: hooks.log,
    annotate: hooks.annotate,
    ...(hooks.output ? { output: hooks.output } : {}),
    signal,
  };
}

export function stageError(err: unknown): StageError {
  const e = err instanceof Error ? err : new Error(String(err));
  const { exitCode, signal, code } = e as { exitCode?: unknown; signal?: unknown; code?: unknown };
  return {
    message: e.message,
    ...(e.stack !== undefined ? { stack: e.stack } : {}),
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
    ...(typeof signal === 'string' ? { signal } : {}),
    ...(typeof code === 'string' ? { code } : {}),
  };
}
