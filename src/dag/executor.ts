/**
 * How one stage is executed, behind an interface small enough that a Slurm executor (sbatch
 * + sacct over a shared cache) can implement it: given a job (paths, params, registry) run
 * it to completion or failure, streaming progress and log lines, and honour an AbortSignal.
 * The local executor forks `stage-runner.js`, one child per stage, or calls an `inProcess`
 * kind (a shell command) itself, and writes the stage's log file.
 * An executor never writes to the store; the engine adopts the output directory afterwards.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { diskFullMessage, isDiskFull } from './disk-full.js';
import type { Capacity } from './scheduler.js';
import { loadKind, type StageError, stageContext, stageError } from './stage-call.js';
import type { ResourceNeeds, StageKind, StageProgress } from './stage-kind.js';
import { type LogFailure, StageLog } from './stage-log.js';
import type { RunnerMessage, RunnerRequest } from './stage-runner.js';

export type StageJob = Omit<RunnerRequest, 'type'> & {
  logPath: string;
  /** The stage's cache key: the same work under the same key, e.g. for adopting a job. */
  key: string;
  /** The kind's declared tokens, for executors that ask a cluster for resources. */
  resources?: ResourceNeeds;
};

/** Where a stage waits or runs on a cluster: pending (with the scheduler's reason) or placed. */
export type Placement =
  | { state: 'pending'; jobId: string; reason: string }
  | { state: 'running'; jobId: string; node: string };

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
  /** A cluster executor's word on where the stage is; the local one never calls it. */
  placement?(p: Placement): void;
}

export interface Executor {
  execute(job: StageJob, hooks: StageHooks, signal: AbortSignal): Promise<StageOutcome>;
  /**
   * The tokens shared by stages in flight. Absent: this machine's (defaultCapacity). A
   * cluster executor asks the cluster per job, so only `--jobs` bounds it.
   */
  capacity?(jobs: number): Capacity;
}

const TAIL_LINES = 20;
const KILL_GRACE_MS = 3000;

const runnerPath = fileURLToPath(new URL('./stage-runner.js', import.meta.url));

/**
 * Runs each stage in a Node child (`stage-runner.js`), except the stages of kinds marked
 * `inProcess` (a shell command), whose `run` it calls itself: they then cost a process spawn
 * instead of a Node start. Either way it writes the stage's log and reports alike.
 */
export class LocalExecutor implements Executor {
  async execute(job: StageJob, hooks: StageHooks, signal: AbortSignal): Promise<StageOutcome> {
    const kind = await loadKind(job.module, job.kind).catch(() => undefined);
    return kind?.inProcess
      ? runInProcess(kind, job, hooks, signal)
      : runInChild(job, hooks, signal);
  }
}

/** A stage's output as lines: into its log file, a tail for the failure summary, the hooks. */
class StageOutput {
  private readonly tail: string[] = [];
  private readonly pending = { stdout: '', stderr: '' };

  readonly log: StageLog;

  /**
   * A log that cannot be written stops the stage (`onLogFailure`): on a full disk its output
   * would not fit either, and the runner must hear about the disk rather than crash on it.
   */
  constructor(
    file: string,
    private readonly hooks: StageHooks,
    onLogFailure: () => void,
  ) {
    this.log = new StageLog(file, onLogFailure);
  }

  line(stream: 'stdout' | 'stderr', text: string): void {
    this.log.write(stream === 'stderr' ? `[stderr] ${text}\n` : `${text}\n`);
    this.tail.push(text);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.hooks.log(stream, text);
  }

  /** Raw output, split into lines; an unfinished last line waits for the next chunk. */
  chunk(stream: 'stdout' | 'stderr', text: string): void {
    const parts = (this.pending[stream] + text).split('\n');
    this.pending[stream] = parts.pop() ?? '';
    for (const p of parts) this.line(stream, p);
  }

  end(stream: 'stdout' | 'stderr'): void {
    if (this.pending[stream]) this.line(stream, this.pending[stream]);
    this.pending[stream] = '';
  }

  /** Closes the log (made even if empty for a failure); the outcome, unless the log failed. */
  async close(
    outcome: StageOutcome,
    code: number | null,
    signal: string | null,
  ): Promise<StageOutcome> {
    await this.log.close({ evenIfEmpty: !outcome.ok });
    if (this.log.failure) return logFailed(this.log.failure, code, signal, this.logTail());
    return outcome;
  }

  logTail(): string[] {
    return [...this.tail];
  }
}

async function runInChild(
  job: StageJob,
  hooks: StageHooks,
  signal: AbortSignal,
): Promise<StageOutcome> {
  let stop = (): void => {};
  const out = new StageOutput(job.logPath, hooks, () => stop());
  const child = fork(runnerPath, [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    execArgv: [],
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (chunk: string) => out.chunk(stream, chunk));
    child[stream]?.on('end', () => out.end(stream));
  }
  let error: StageError | undefined;
  let done = false;
  child.on('message', (m: RunnerMessage) => {
    if (m.type === 'progress') hooks.progress(m.progress);
    else if (m.type === 'log') out.line('stdout', m.line);
    else if (m.type === 'facts') hooks.annotate(m.facts);
    else if (m.type === 'done') done = true;
    else if (m.type === 'error') {
      error = m;
      if (m.stack) out.log.write(`${m.stack}\n`);
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
  const { logPath: _logPath, key: _key, resources: _resources, ...request } = job;
  child.send({ type: 'run', ...request } satisfies RunnerRequest);
  return new Promise((resolve) => {
    child.once('close', (code, sig) => {
      clearTimeout(killTimer);
      signal.removeEventListener('abort', abort);
      const logTail = out.logTail();
      const outcome: StageOutcome =
        done && code === 0
          ? { ok: true }
          : error
            ? reportedFailure(error, job.outDir, code, sig, logTail)
            : unreportedFailure(code, sig, logTail);
      resolve(out.close(outcome, code, sig));
    });
  });
}

/**
 * An `inProcess` kind's `run`, called here. A crash of the engine cannot leave anything
 * half-made in the store: the stage writes only its temp output directory, which the next
 * run sweeps, and the engine adopts it only after `run` returned.
 */
async function runInProcess(
  kind: StageKind,
  job: StageJob,
  hooks: StageHooks,
  signal: AbortSignal,
): Promise<StageOutcome> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const out = new StageOutput(job.logPath, hooks, stop);
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  const { logPath: _logPath, key: _key, resources: _resources, ...call } = job;
  const ctx = stageContext(
    call,
    {
      progress: hooks.progress,
      log: (line) => out.line('stdout', line),
      annotate: hooks.annotate,
      output: (stream, chunk) => out.chunk(stream, chunk),
    },
    controller.signal,
  );
  let outcome: StageOutcome = { ok: true };
  try {
    await kind.run(ctx);
  } catch (err) {
    const error = stageError(err);
    if (error.stack) out.log.write(`${error.stack}\n`);
    outcome = reportedFailure(error, job.outDir, null, error.signal ?? null, out.logTail());
  } finally {
    signal.removeEventListener('abort', stop);
    out.end('stdout');
    out.end('stderr');
  }
  return out.close(outcome, outcome.ok ? 0 : outcome.exitCode, outcome.ok ? null : outcome.signal);
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

/** V8's last words when a heap limit is reached (`--max-old-space-size`, or the default). */
const HEAP_EXHAUSTED = /JavaScript heap out of memory|Reached heap limit/;

/** The stage process ended without saying why: killed, crashed, or out of memory. */
function unreportedFailure(
  code: number | null,
  signal: string | null,
  logTail: string[],
): StageOutcome {
  const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
  const outOfMemory = logTail.some((l) => HEAP_EXHAUSTED.test(l));
  return {
    ok: false,
    cause: outOfMemory ? 'out-of-memory' : signal ? 'signal' : 'exit',
    message: outOfMemory
      ? `stage process ran out of memory (${how})`
      : `stage process ${how}${signal ? '' : ' before reporting completion'}`,
    exitCode: code,
    signal,
    logTail,
  };
}

/**
 * The stage reported an error: its own fault, unless a signal, a full disk or the heap
 * limit of a Node process it ran did it.
 */
function reportedFailure(
  error: StageError,
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
  const killedBy = error.signal ?? null;
  const outOfMemory = logTail.some((l) => HEAP_EXHAUSTED.test(l));
  return {
    ok: false,
    cause: outOfMemory ? 'out-of-memory' : killedBy ? 'signal' : 'exit',
    message: outOfMemory ? `out of memory: ${error.message}` : error.message,
    exitCode: killedBy ? null : exitCode,
    signal: killedBy ?? signal,
    logTail,
  };
}
