/**
 * Entry point of the child process that runs one stage: it imports the module that defines
 * the kind (only that one, not the whole registry, so a shell command never loads tfjs),
 * builds a StageContext and runs the kind, reporting progress, log lines and
 * the result to the parent over IPC. It never touches the store: the parent alone decides
 * what becomes an object or a record. If the parent dies it aborts and exits.
 */
import type { JsonObject } from './pipeline-types.js';
import type { StageContext, StageKind, StageProgress } from './stage-kind.js';

/** What the executor sends to start the stage. */
export interface RunnerRequest {
  type: 'run';
  /** URL of the module that defines the kind (`StageKind.module`). */
  module: string;
  kind: string;
  stageId: string;
  params: JsonObject;
  inputs: Record<string, string | string[]>;
  deps: string[];
  outDir: string;
  scratchDir: string;
  workspace: string;
  seed: number;
}

export type RunnerMessage =
  | { type: 'progress'; progress: StageProgress }
  | { type: 'log'; line: string }
  | { type: 'facts'; facts: Record<string, string> }
  | { type: 'done' }
  | { type: 'error'; message: string; stack?: string; exitCode?: number; code?: string };

const send = (message: RunnerMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

async function runStage(request: RunnerRequest, signal: AbortSignal): Promise<void> {
  const exports = Object.values((await import(request.module)) as Record<string, unknown>);
  const kind = exports.find(
    (v): v is StageKind =>
      typeof v === 'object' &&
      v !== null &&
      (v as StageKind).kind === request.kind &&
      typeof (v as StageKind).run === 'function',
  );
  if (!kind) throw new Error(`stage kind '${request.kind}' is not exported by ${request.module}`);
  const ctx: StageContext = {
    stageId: request.stageId,
    params: request.params,
    inputs: request.inputs,
    deps: request.deps,
    outDir: request.outDir,
    scratchDir: request.scratchDir,
    workspace: request.workspace,
    seed: request.seed,
    progress: (progress) => void send({ type: 'progress', progress }),
    log: (line) => void send({ type: 'log', line }),
    annotate: (facts) => void send({ type: 'facts', facts }),
    signal,
  };
  process.chdir(request.outDir);
  await kind.run(ctx);
}

function main(): void {
  const controller = new AbortController();
  // The parent owns Ctrl-C: it decides when to stop us (SIGTERM), so the terminal's SIGINT
  // to the whole process group does not race it.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {
    controller.abort();
    setTimeout(() => process.exit(143), 2000).unref();
  });
  process.on('disconnect', () => {
    controller.abort();
    setTimeout(() => process.exit(1), 500).unref();
  });
  process.once('message', (request: RunnerRequest) => {
    runStage(request, controller.signal).then(
      async () => {
        await send({ type: 'done' });
        process.exit(0);
      },
      async (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        // A kind that wraps a process (e.g. `command`) reports that process's exit code.
        const exitCode = (e as { exitCode?: unknown }).exitCode;
        // The errno code lets the executor tell a full disk from the stage's own fault.
        const code = (e as NodeJS.ErrnoException).code;
        await send({
          type: 'error',
          message: e.message,
          stack: e.stack,
          ...(typeof exitCode === 'number' ? { exitCode } : {}),
          ...(typeof code === 'string' ? { code } : {}),
        });
        process.exit(1);
      },
    );
  });
}

main();
