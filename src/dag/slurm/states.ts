/**
 * Slurm's job states, read from `squeue` and `sacct` output: which are still waiting or
 * running, which are final, and how a final one that left no result becomes a failure the
 * retry policy understands (FailureCause) with Slurm's own words in the message.
 */
import type { FailureCause } from '../executor.js';

export interface QueueRow {
  jobId: string;
  /** Slurm's state word (`PENDING`, `RUNNING`, `TIMEOUT`, ...); sacct may add `by 1234`. */
  state: string;
  /** Why a job is pending (`Resources`, `Priority`), from squeue; '' otherwise. */
  reason: string;
  node: string;
  /** From sacct only. */
  elapsedSeconds?: number;
  maxRssKb?: number;
}

const WAITING = new Set([
  'PENDING',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESV_DEL_HOLD',
  'SPECIAL_EXIT',
]);

const FINAL_CAUSES: Record<string, FailureCause> = {
  COMPLETED: 'exit',
  FAILED: 'exit',
  CANCELLED: 'cancelled',
  REVOKED: 'cancelled',
  TIMEOUT: 'timeout',
  DEADLINE: 'timeout',
  OUT_OF_MEMORY: 'out-of-memory',
  NODE_FAIL: 'node-failure',
  BOOT_FAIL: 'node-failure',
  PREEMPTED: 'preempted',
};

/** `CANCELLED by 1234` -> `CANCELLED`. */
export const stateWord = (state: string): string => state.split(/\s+/)[0] ?? '';

export type Phase = 'pending' | 'running' | 'final';

export function phaseOf(state: string): Phase {
  const word = stateWord(state);
  if (WAITING.has(word)) return 'pending';
  return word in FINAL_CAUSES ? 'final' : 'running';
}

/** A final state that Slurm brought about (time limit, scancel, node failure, ...), not the job's exit. */
export function stoppedBySlurm(row: QueueRow): boolean {
  const cause = FINAL_CAUSES[stateWord(row.state)];
  return cause !== undefined && cause !== 'exit';
}

/** A job that ended without writing its result: the stage fails with Slurm's state. */
export function finalFailure(row: QueueRow): { cause: FailureCause; message: string } {
  const cause = FINAL_CAUSES[stateWord(row.state)] ?? 'runner';
  const where = row.node ? ` on ${row.node}` : '';
  return { cause, message: `Slurm job ${row.jobId} ended ${row.state}${where}` };
}

/** The squeue format these parsers read: id, state, reason, node list. */
export const SQUEUE_FORMAT = '%i|%T|%r|%N';

export function parseSqueue(text: string): QueueRow[] {
  const rows: QueueRow[] = [];
  for (const line of text.split('\n')) {
    const [jobId, state, reason, node] = line.trim().split('|');
    if (!jobId || !state) continue;
    rows.push({
      jobId,
      state,
      reason: reason === 'None' ? '' : (reason ?? ''),
      node: node === '(null)' ? '' : (node ?? ''),
    });
  }
  return rows;
}

/** The sacct fields these parsers read (`--parsable2`, job and step lines). */
export const SACCT_FORMAT = 'JobIDRaw,State,NodeList,ElapsedRaw,MaxRSS';

/** Slurm's sizes (`1234K`, `12M`, `1.5G`) in KiB. */
export function kibibytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text.trim());
  if (!m) return undefined;
  const scale = { '': 1 / 1024, K: 1, M: 1024, G: 1024 ** 2, T: 1024 ** 3 }[m[2] ?? ''] ?? 1;
  return Math.round(Number(m[1]) * scale);
}

/** One row per job: the allocation's state, the largest MaxRSS of its steps. */
export function parseSacct(text: string): QueueRow[] {
  const jobs = new Map<string, QueueRow>();
  const rss = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [id, state, node, elapsed, maxRss] = line.trim().split('|');
    if (!id || !state) continue;
    const [jobId = id, step] = id.split('.');
    const kb = kibibytes(maxRss ?? '');
    if (kb !== undefined) rss.set(jobId, Math.max(rss.get(jobId) ?? 0, kb));
    if (step !== undefined) continue;
    jobs.set(jobId, {
      jobId,
      state,
      reason: '',
      node: node === 'None assigned' ? '' : (node ?? ''),
      ...(elapsed && /^\d+$/.test(elapsed) ? { elapsedSeconds: Number(elapsed) } : {}),
    });
  }
  for (const [jobId, row] of jobs) {
    const kb = rss.get(jobId);
    if (kb !== undefined) row.maxRssKb = kb;
  }
  return [...jobs.values()];
}
