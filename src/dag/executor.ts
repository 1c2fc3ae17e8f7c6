/**
 * How one stage is executed, behind an interface small enough that a Slurm executor (sbatch
 * + sacct over a shared cache) can implement it: given a job (paths, params, registry) run
 * it to completion or failure, streaming progress and log lines, and honour an AbortSignal.
 * The local executor forks `stage-runner.js`, one child per stage, and writes its log file.
 * An executor never writes to the store; the engine adopts the output directory afterwards.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { diskFullMessage, isDiskFull } from './disk-full.js';
import type { StageProgress } from './stage-kind.js';
import { type LogFailure, StageLog } from './stage-log.js';
import type { RunnerMessage, RunnerRequest } from './stage-runner.js';

export type StageJob = Omit<RunnerRequest, 'type'> & { logPath: string };

/**
 * Why a stage failed, in the terms a retry policy needs: `exit` is the stage's own doing (a
 * non-zero exit or a reported error); the others happened to it (a signal, the cluster
 * losing its node or preempting it, a limit it ran into, the runner's own fault).
 */
export type FailureCause =
  | 'exit'
  | 'signal'
  | 'node-failure'
  | 'preempted'
  | 'timeout'
  | 'out-of-memory'
  | 'cancelled'
  | 'disk-full'
  | 'runner';

export type StageOutcome =
  | { ok: true }
  | {
      ok: false;
      cause: FailureCause;
      message: string;
      exitCode: number | null;
      signal: string | null;
      /** Last lines of the log, for the failure summary. */
      logTail: string[];
    };

export interface StageHooks {
  progress(p: StageProgress): void;
  log(stream: 'stdout' | 'stderr', line: string): void;
  /** What the stage reported with `ctx.annotate`. */
  annotate(facts: Record<string, string>): void;
}

export interface Executor {
  execute(job: StageJob, hooks: StageHooks, signal: AbortSignal): Promise<StageOutcome>;
}

const TAIL_LINES = 20;
const KILL_GRACE_MS = 3000;

const runnerPath = fileURLToPath(new URL('./stage-runner.js', import.meta.url));

export class LocalExecutor implements Executor {
  execute(job: StageJob, hooks: StageHooks, signal: AbortSignal): Promise<StageOutcome> {
    let stop = (): void => {};
    // A log that cannot be written stops the stage: on a full disk its output would not fit
    // either, and the runner must hear about the disk rather than crash on it.
    const log = new StageLog(job.logPath, () => stop());
    if (log.failure) return Promise.resolve(logFailed(log.failure, null, null, []));
    const tail: string[] = [];
    const line = (stream: 'stdout' | 'stderr', text: string): void => {
      log.write(stream === 'stderr' ? `[stderr] ${text}\n` : `${text}\n`);
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      hooks.log(stream, text);
    };
    const child = fork(runnerPath, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      execArgv: [],
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      let pending = '';
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        const parts = (pending + chunk).split('\n');
        pending = parts.pop() ?? '';
        for (const p of parts) line(stream, p);
      });
      child[stream]?.on('end', () => {
        if (pending) line(stream, pending);
        pending = '';
      });
    }
    let error: Extract<RunnerMessage, { type: 'error' }> | undefined;
    let done = false;
    child.on('message', (m: RunnerMessage) => {
      if (m.type === 'progress') hooks.progress(m.progress);
      else if (m.type === 'log') line('stdout', m.line);
      else if (m.type === 'facts') hooks.annotate(m.facts);
      else if (m.type === 'done') done = true;
      else if (m.type === 'error') {
        error = m;
        if (m.stack) log.write(`${m.stack}\n`);
      }
    });
    let killTimer: NodeJS.Timeout | undefined;
    const abort = (): void => {
      if (killTimer !== undefined) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    stop = abort;
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    const { logPath: _logPath, ...request } = job;
    child.send({ type: 'run', ...request } satisfies RunnerRequest);
    return new Promise((resolve) => {
      child.once('close', (code, sig) => {
        clearTimeout(killTimer);
        signal.removeEventListener('abort', abort);
        log.close();
        const logTail = [...tail];
        if (log.failure) return resolve(logFailed(log.failure, code, sig, logTail));
        if (done && code === 0) return resolve({ ok: true });
        if (error) return resolve(stageError(error, job.outDir, code, sig, logTail));
        resolve({
          ok: false,
          cause: sig ? 'signal' : 'exit',
          message: sig
            ? `stage process killed by ${sig}`
            : `stage process exited with code ${code} before reporting completion`,
          exitCode: code,
          signal: sig,
          logTail,
        });
      });
    });
  }
}

function logFailed(
  failure: LogFailure,
  exitCode: number | null,
  signal: string | null,
  logTail: string[],
): StageOutcome {
  const cause = failure.diskFull ? 'disk-full' : 'runner';
  return { ok: false, cause, message: failure.message, exitCode, signal, logTail };
}

/** The stage reported an error: its own fault, unless the disk filled under it. */
function stageError(
  error: Extract<RunnerMessage, { type: 'error' }>,
  outDir: string,
  code: number | null,
  signal: string | null,
  logTail: string[],
): StageOutcome {
  const exitCode = error.exitCode ?? code;
  if (isDiskFull(error))
    return {
      ok: false,
      cause: 'disk-full',
      message: diskFullMessage(outDir, 'while the stage wrote to', error.message),
      exitCode,
      signal,
      logTail,
    };
  return { ok: false, cause: 'exit', message: error.message, exitCode, signal, logTail };
}
