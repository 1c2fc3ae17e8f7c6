/**
 * `run --executor slurm`: each stage is one sbatch job running the same stage runner as a
 * local run, in the same workspace on a shared filesystem. Completion is learned from the
 * result file the job writes (one directory read per second for all jobs), not from asking
 * Slurm per job; one batched `squeue` per interval (plus `sacct` with an explicit
 * `--starttime` when accounting is on) shows pending reasons and finds jobs that died
 * without writing: their stage fails with Slurm's state in words. Submissions are recorded
 * durably, so a later run adopts an earlier run's jobs instead of resubmitting them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Executor, FailureCause, StageHooks, StageJob, StageOutcome } from '../executor.js';
import type { Capacity } from '../scheduler.js';
import { accountingEnabled, sacct, sbatch, scancel, squeue } from './commands.js';
import { type JobResult, Journal, type Submission } from './journal.js';
import { jobNameOf, jobScript, sbatchArgs } from './sbatch.js';
import { jobRequest, type SlurmSettings } from './settings.js';
import { finalFailure, phaseOf, type QueueRow, stoppedBySlurm } from './states.js';

const jobMain = fileURLToPath(new URL('./job-main.js', import.meta.url));

/** How often the finished/ directory is read. */
const TICK_MS = 1000;
/** How long a result may lag behind Slurm's word that the job ended (shared filesystems cache). */
const GRACE_MS = 10_000;
const DEFAULT_POLL_SECONDS = 15;
const TAIL_LINES = 20;

type End =
  | { type: 'result'; result: JobResult; row?: QueueRow }
  | { type: 'lost'; cause: FailureCause; message: string; row?: QueueRow }
  | { type: 'cancelled' };

interface Watch {
  sub: Submission;
  hooks: StageHooks;
  placement?: string;
  row?: QueueRow;
  /** When Slurm first said the job ended, or first did not list it. */
  endedSince?: number;
  result?: JobResult;
  resultAt?: number;
  progressText?: string;
  end(e: End): void;
}

export interface SlurmExecutorOptions {
  cacheDir: string;
  runId: string;
  settings: SlurmSettings | undefined;
  /** Tells the user something about the cluster (info events). */
  say(message: string): void;
}

export class SlurmExecutor implements Executor {
  private readonly journal: Journal;
  private readonly watches = new Map<string, Watch>();
  private readonly pollMs: number;
  private accounting = false;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private queriedAt = 0;
  private queryFailed = false;
  private toCancel: Watch[] = [];

  constructor(private readonly opts: SlurmExecutorOptions) {
    this.journal = new Journal(opts.cacheDir);
    this.pollMs = (opts.settings?.poll_interval ?? DEFAULT_POLL_SECONDS) * 1000;
  }

  /**
   * Under the workspace lock, before any stage: keeps the earlier runs' submissions that can
   * still be adopted (job waiting or running, or finished with its output), drops the rest.
   */
  async open(): Promise<void> {
    // Fails early, once, when the cluster cannot be reached (rather than once per stage).
    await squeue([jobNameOf(this.opts.runId)]);
    this.accounting = await accountingEnabled();
    const subs = this.journal.submissions();
    const rows = await this.queue(subs);
    for (const sub of subs) {
      const result = this.journal.result(sub.token);
      const alive = rows.get(sub.jobId);
      const usable =
        result?.ok === true
          ? fs.existsSync(this.journal.outDir(sub.token))
          : result === undefined && alive !== undefined && phaseOf(alive.state) !== 'final';
      if (!usable) this.journal.forget(sub);
    }
    this.journal.sweep();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Only `--jobs` bounds the jobs in flight: each job asks the cluster for its own resources. */
  capacity(): Capacity {
    return {
      cpu: Number.POSITIVE_INFINITY,
      gpu: Number.POSITIVE_INFINITY,
      memoryMb: Number.POSITIVE_INFINITY,
    };
  }

  async execute(job: StageJob, hooks: StageHooks, signal: AbortSignal): Promise<StageOutcome> {
    const earlier = this.journal.submissionOf(job.key);
    if (earlier) {
      const end = await this.watch(earlier, hooks, signal);
      if (end.type === 'result' && end.result.ok) return this.take(earlier, end, job, hooks);
      if (end.type === 'cancelled') return this.cancelled(earlier);
      // Failed or lost while no runner watched it: this run computes the stage afresh.
      this.journal.forget(earlier);
    }
    if (signal.aborted) return this.cancelled(undefined);
    const sub = await this.submit(job);
    const end = await this.watch(sub, hooks, signal);
    if (end.type === 'cancelled') return this.cancelled(sub);
    if (end.type === 'result' && end.result.ok) return this.take(sub, end, job, hooks);
    return this.fail(sub, end, job, hooks);
  }

  private async submit(job: StageJob): Promise<Submission> {
    const token = this.journal.newToken(job.stageId);
    try {
      const spec = this.journal.writeSpec(token, {
        job: { ...job, outDir: this.journal.outDir(token) },
        resultPath: this.journal.resultPath(token),
        progressPath: this.journal.progressPath(token),
      });
      const script = this.journal.writeScript(
        token,
        jobScript({ stageId: job.stageId, node: process.execPath, main: jobMain, spec }),
      );
      const jobName = jobNameOf(this.opts.runId);
      const args = sbatchArgs(jobRequest(this.opts.settings, job.kind, job.resources), {
        jobName,
        stageId: job.stageId,
        workspace: job.workspace,
        slurmOut: this.journal.slurmOutPath(token),
      });
      const jobId = await sbatch(args, script);
      const sub: Submission = {
        key: job.key,
        token,
        jobId,
        jobName,
        runId: this.opts.runId,
        stageId: job.stageId,
        submittedAt: Date.now(),
        logPath: job.logPath,
      };
      this.journal.record(sub);
      return sub;
    } catch (err) {
      this.journal.forget({ key: job.key, token });
      throw err;
    }
  }

  private watch(sub: Submission, hooks: StageHooks, signal: AbortSignal): Promise<End> {
    return new Promise((resolve) => {
      const onAbort = (): void => this.cancelSoon(watch);
      const watch: Watch = {
        sub,
        hooks,
        end: (e) => {
          this.watches.delete(sub.token);
          signal.removeEventListener('abort', onAbort);
          resolve(e);
        },
      };
      this.watches.set(sub.token, watch);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.tick();
    });
  }

  /** Ctrl-C: one scancel for every job of the run still in flight, and say which. */
  private cancelSoon(watch: Watch): void {
    this.toCancel.push(watch);
    if (this.toCancel.length > 1) return;
    setImmediate(async () => {
      const batch = this.toCancel.splice(0);
      const ids = batch.map((w) => w.sub.jobId);
      const which = batch.map((w) => `${w.sub.jobId} (${w.sub.stageId})`).join(', ');
      try {
        await scancel(ids);
        this.opts.say(`scancel: cancelled Slurm job${ids.length > 1 ? 's' : ''} ${which}`);
      } catch (err) {
        this.opts.say(`scancel of ${which} failed: ${(err as Error).message}`);
      }
      for (const w of batch) w.end({ type: 'cancelled' });
    });
  }

  private async tick(): Promise<void> {
    if (this.busy || this.watches.size === 0) return;
    this.busy = true;
    try {
      const finished = this.journal.finishedTokens();
      for (const w of this.watches.values())
        if (w.result === undefined && finished.has(w.sub.token)) {
          const result = this.journal.result(w.sub.token);
          if (result) {
            w.result = result;
            w.resultAt = Date.now();
            // A failure waits for Slurm's final state: ask now rather than at the next interval.
            if (!result.ok) this.queriedAt = 0;
          }
        }
      if (Date.now() - this.queriedAt >= this.pollMs) await this.poll();
      for (const w of [...this.watches.values()]) this.settle(w);
    } finally {
      this.busy = false;
    }
  }

  /** One batched query for all jobs in flight: their placement, and any final state. */
  private async poll(): Promise<void> {
    this.queriedAt = Date.now();
    const watches = [...this.watches.values()];
    let rows: Map<string, QueueRow>;
    try {
      rows = await this.queue(watches.map((w) => w.sub));
      this.queryFailed = false;
    } catch (err) {
      if (!this.queryFailed)
        this.opts.say(`Slurm query failed, retrying: ${(err as Error).message}`);
      this.queryFailed = true;
      return;
    }
    const now = Date.now();
    for (const w of watches) {
      const row = rows.get(w.sub.jobId);
      w.row = row;
      const phase = row ? phaseOf(row.state) : 'final';
      if (phase === 'final') w.endedSince ??= now;
      else {
        w.endedSince = undefined;
        // Requeued after it was stopped: it starts again and writes a new result.
        if (phase === 'pending' && w.result && !w.result.ok) w.result = undefined;
      }
      if (row && phase !== 'final') this.place(w, row, phase);
      if (phase === 'running') this.showProgress(w);
    }
  }

  private async queue(subs: Submission[]): Promise<Map<string, QueueRow>> {
    const names = [...new Set(subs.map((s) => s.jobName))];
    const rows = new Map((await squeue(names)).map((r) => [r.jobId, r]));
    if (this.accounting && subs.length > 0) {
      // Explicit --starttime: sacct's default window (since midnight) loses older jobs.
      const since = new Date(Math.min(...subs.map((s) => s.submittedAt)) - 60_000);
      for (const r of await sacct(names, since))
        if (!rows.has(r.jobId) || phaseOf(r.state) === 'final') rows.set(r.jobId, r);
    }
    return rows;
  }

  private place(w: Watch, row: QueueRow, phase: 'pending' | 'running'): void {
    const text = `${phase} ${phase === 'pending' ? row.reason : row.node}`;
    if (w.placement === text) return;
    w.placement = text;
    w.hooks.placement?.(
      phase === 'pending'
        ? { state: 'pending', jobId: w.sub.jobId, reason: row.reason }
        : { state: 'running', jobId: w.sub.jobId, node: row.node },
    );
  }

  private showProgress(w: Watch): void {
    const progress = this.journal.progress(w.sub.token);
    const text = JSON.stringify(progress);
    if (progress && text !== w.progressText) {
      w.progressText = text;
      w.hooks.progress(progress);
    }
  }

  /** Ends a watch once its result and, where it matters, Slurm's final word are in. */
  private settle(w: Watch): void {
    const now = Date.now();
    const late = (since: number | undefined): boolean =>
      since !== undefined && now - since > GRACE_MS + this.pollMs;
    if (w.result) {
      // A failed job's own report may say only "killed by SIGTERM": Slurm's final state says
      // why (the signal can reach the command before the job's own handler notices it). With
      // accounting on, the final row also carries the elapsed time and MaxRSS.
      const wantRow = !w.result.ok || this.accounting;
      const rowFinal = w.row !== undefined && phaseOf(w.row.state) === 'final';
      if (!wantRow || rowFinal || late(w.resultAt))
        w.end({ type: 'result', result: w.result, ...(w.row ? { row: w.row } : {}) });
      return;
    }
    if (w.endedSince === undefined || now - w.endedSince < GRACE_MS) return;
    if (w.row) {
      const { cause, message } = finalFailure(w.row);
      w.end({ type: 'lost', cause, message: `${message} without writing its result`, row: w.row });
    } else
      w.end({
        type: 'lost',
        cause: 'runner',
        message: `Slurm job ${w.sub.jobId} left the queue without writing its result${this.accounting ? '' : ' (accounting is off, so its final state is unknown)'}`,
      });
  }

  private facts(sub: Submission, end: Extract<End, { type: 'result' }>): Record<string, string> {
    const { result, row } = end;
    const elapsed = row?.elapsedSeconds ?? (result.endedAt - result.startedAt) / 1000;
    return {
      ...result.facts,
      executor: 'slurm',
      slurm_job_id: sub.jobId,
      node: row?.node || result.node,
      elapsed_s: elapsed.toFixed(1),
      ...(row?.maxRssKb !== undefined ? { max_rss_kb: String(row.maxRssKb) } : {}),
    };
  }

  /** The job's output becomes the stage's output dir, which the engine adopts as usual. */
  private take(
    sub: Submission,
    end: Extract<End, { type: 'result' }>,
    job: StageJob,
    hooks: StageHooks,
  ): StageOutcome {
    hooks.annotate(this.facts(sub, end));
    fs.rmSync(job.outDir, { recursive: true, force: true });
    fs.renameSync(this.journal.outDir(sub.token), job.outDir);
    if (sub.logPath !== job.logPath) copyLog(sub.logPath, job.logPath);
    this.journal.forget(sub);
    return { ok: true };
  }

  private fail(sub: Submission, end: End, job: StageJob, hooks: StageHooks): StageOutcome {
    if (end.type === 'result') hooks.annotate(this.facts(sub, end));
    else hooks.annotate({ executor: 'slurm', slurm_job_id: sub.jobId });
    // Slurm's own lines (e.g. "CANCELLED ... DUE TO TIME LIMIT") belong in the stage's log.
    const slurmLines = readLines(this.journal.slurmOutPath(sub.token)).map((l) => `[slurm] ${l}`);
    if (slurmLines.length > 0) {
      fs.mkdirSync(path.dirname(job.logPath), { recursive: true });
      fs.appendFileSync(job.logPath, `${slurmLines.join('\n')}\n`);
    }
    const tail = [...readLines(job.logPath)].slice(-TAIL_LINES);
    this.journal.forget(sub);
    if (end.type === 'lost')
      return {
        ok: false,
        cause: end.cause,
        message: end.message,
        exitCode: null,
        signal: null,
        logTail: tail,
      };
    if (end.type === 'cancelled') return this.cancelled(undefined);
    const { result, row } = end;
    const slurmSays = row && stoppedBySlurm(row) ? finalFailure(row) : undefined;
    return {
      ok: false,
      cause: slurmSays?.cause ?? result.cause ?? 'exit',
      message: slurmSays
        ? `${slurmSays.message} (the stage: ${result.message ?? 'stopped'})`
        : (result.message ?? 'failed'),
      exitCode: result.exitCode,
      signal: result.signal,
      logTail: tail.length > 0 ? tail : result.logTail,
    };
  }

  private cancelled(sub: Submission | undefined): StageOutcome {
    if (sub) this.journal.forget(sub);
    return {
      ok: false,
      cause: 'cancelled',
      message: 'cancelled (scancel)',
      exitCode: null,
      signal: 'SIGTERM',
      logTail: [],
    };
  }
}

function readLines(file: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

function copyLog(from: string, to: string): void {
  try {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
  } catch {
    // the earlier run's log is gone (gc): the stage's output is still good
  }
}
