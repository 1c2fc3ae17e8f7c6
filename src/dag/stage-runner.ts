/**
 * Entry point of the child process that runs one stage: it imports the module that defines
 * the kind (only that one, not the whole registry, so a shell command never loads tfjs),
 * builds a StageContext and runs the kind, reporting progress, log lines and
 * the result to the parent over IPC. It never touches the store: the parent alone decides
 * what becomes an object or a record. If the parent dies it aborts and exits.
 */
import {
  loadKind,
  type StageCall,
  type StageError,
  stageContext,
  stageError,
} from './stage-call.js';
import type { StageProgress } from './stage-kind.js';

/** What the executor sends to start the stage. */
export type RunnerRequest = StageCall & { type: 'run' };

export type RunnerMessage =
  | { type: 'progress'; progress: StageProgress }
  | { type: 'log'; line: string }
  | { type: 'facts'; facts: Record<string, string> }
  | { type: 'done' }
  | ({ type: 'error' } & StageError);

const send = (message: RunnerMessage): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

async function runStage(request: RunnerRequest, signal: AbortSignal): Promise<void> {
  const kind = await loadKind(request.module, request.kind);
  const ctx = stageContext(
    request,
    {
      progress: (progress) => void send({ type: 'progress', progress }),
      log: (line) => void send({ type: 'log', line }),
      annotate: (facts) => void send({ type: 'facts', facts }),
    },
    signal,
  );
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
        await send({ type: 'error', ...stageError(err) });
        process.exit(1);
      },
    );
  });
}

main();
