/**
 * How one stage is executed, behind an interface small enough that a Slurm executor (sbatch
 * + sacct over a shared cache) can implement it: given a job (paths, params, registry) run
 * it to completion or failure, streaming progress and log lines, and honour an AbortSignal.
 * The local executor forks `stage-runner.js`, one child per stage, and writes its log file.
 * An executor never writes to the store; the engine adopts the output directory afterwards.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StageProgress } from './stage-kind.js';
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
    fs.mkdirSync(path.dirname(job.logPath), { recursive: true });
    const log = fs.openSync(job.logPath, 'w');
    const tail: string[] = [];
    const line = (stream: 'stdout' | 'stderr', text: string): void => {
      fs.writeSync(log, stream === 'stderr' ? `[stderr] ${text}\n` : `${text}\n`);
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
    let error: { message: string; exitCode?: number } | undefined;
    let done = false;
    child.on('message', (m: RunnerMessage) => {
      if (m.type === 'progress') hooks.progress(m.progress);
      else if (m.type === 'log') line('stdout', m.line);
      else if (m.type === 'facts') hooks.annotate(m.facts);
      else if (m.type === 'done') done = true;
      else if (m.type === 'error') {
        error = {
          message: m.message,
          ...(m.exitCode !== undefined ? { exitCode: m.exitCode } : {}),
        };
        if (m.stack) fs.writeSync(log, `${m.stack}\n`);
      }
    });
    let killTimer: NodeJS.Timeout | undefined;
    const abort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    const { logPath: _logPath, ...request } = job;
    child.send({ type: 'run', ...request } satisfies RunnerRequest);
    return new Promise((resolve) => {
      child.once('close', (code, sig) => {
        clearTimeout(killTimer);
        signal.removeEventListener('abort', abort);
        fs.closeSync(log);
        if (done && code === 0) return resolve({ ok: true });
        const message =
          error?.message ??
          (sig
            ? `stage process killed by ${sig}`
            : `stage process exited with code ${code} before reporting completion`);
        resolve({
          ok: false,
          cause: sig && !error ? 'signal' : 'exit',
          message,
          exitCode: error?.exitCode ?? code,
          signal: sig,
          logTail: [...tail],
        });
      });
    });
  }
}
