/**
 * The Slurm client commands, each called the way a shared cluster tolerates: one `sbatch`
 * per stage, and for watching only batched queries (`squeue` over the run's job names,
 * `sacct` over them with an explicit `--starttime`), never one query per job.
 */
import { execFile } from 'node:child_process';
import { parseSacct, parseSqueue, type QueueRow, SACCT_FORMAT, SQUEUE_FORMAT } from './states.js';

const TIMEOUT_MS = 60_000;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: TIMEOUT_MS, maxBuffer: 1 << 26, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          const said = stderr.trim() || stdout.trim() || err.message;
          reject(new Error(`${command}: ${said.split('\n').slice(-3).join(' ')}`));
        } else resolve(stdout);
      },
    );
  });
}

/** Submits `script` with `args`; resolves with the job id. */
export async function sbatch(args: string[], script: string): Promise<string> {
  const out = await run('sbatch', ['--parsable', ...args, script]);
  const id = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new Error(`sbatch: unexpected answer '${out.trim()}'`);
  return id;
}

/** Every job, in any state Slurm still remembers, that carries one of `names`. */
export async function squeue(names: string[]): Promise<QueueRow[]> {
  if (names.length === 0) return [];
  const out = await run('squeue', [
    '--noheader',
    '--states=all',
    `--name=${names.join(',')}`,
    `--format=${SQUEUE_FORMAT}`,
  ]);
  return parseSqueue(out);
}

/**
 * Whether `sacct` answers at all: off when the cluster keeps no accounting (it then says
 * "accounting storage is disabled"), so a job is never waited for on an empty answer.
 */
export async function accountingEnabled(): Promise<boolean> {
  try {
    const out = await run('sacct', ['--noheader', '--parsable2', '-X', '--starttime=now']);
    return !/disabled/i.test(out);
  } catch {
    return false;
  }
}

/** `YYYY-MM-DDTHH:MM:SS` in this machine's time zone, which is how Slurm reads a time. */
export function localTime(date: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/** Final states, elapsed time and MaxRSS of the jobs named `names` submitted since `since`. */
export async function sacct(names: string[], since: Date): Promise<QueueRow[]> {
  if (names.length === 0) return [];
  const out = await run('sacct', [
    '--noheader',
    '--parsable2',
    `--starttime=${localTime(since)}`,
    '--endtime=now',
    `--name=${names.join(',')}`,
    `--format=${SACCT_FORMAT}`,
  ]);
  return parseSacct(out);
}

export async function scancel(jobIds: string[]): Promise<void> {
  if (jobIds.length > 0) await run('scancel', jobIds);
}
