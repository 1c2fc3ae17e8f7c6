/**
 * `sh -c cmd` for `command` stages, started by one worker thread (shell-worker.ts) so that
 * the fork of the whole engine process and the wait for the child's exec block that thread,
 * not the engine's. Each shell gets its own process group, so an abort reaches everything it
 * started: SIGTERM first, SIGKILL if it is still there after a grace period.
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { ShellReply, ShellRequest } from './shell-worker.js';

const KILL_GRACE_MS = 3000;

interface Job {
  output(stream: 'stdout' | 'stderr', chunk: string): void;
  started(pid: number): void;
  closed(code: number | null, signal: string | null): void;
  failed(err: Error): void;
}

/** Process groups of the shells still running, killed if this process exits first. */
const running = new Set<number>();
const jobs = new Map<number, Job>();
let worker: Worker | undefined;
let nextId = 0;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Whether any process of the group `pid` is left, zombies not counted. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !onlyZombies(pid);
}

/**
 * Whether every process of group `pgid` has exited and waits to be reaped (Linux's /proc;
 * false where it cannot tell). A killed orphan stays a zombie until init reaps it, and some
 * container inits reap late or never: the signal probe alone would wait for that.
 */
function onlyZombies(pgid: number): boolean {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return false;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return false;
  }
  return true;
}

/**
 * Stops what the shell left running in its group once it has exited (a `cmd > log &` that
 * was never waited for): SIGTERM, SIGKILL after the grace period, and waits until the group
 * is empty. As at the end of a Slurm job: the output dir is the stage's no longer (it is
 * committed, then reused), so nothing may go on writing there. True when there was any.
 */
async function stopLeftovers(pid: number): Promise<boolean> {
  if (!groupAlive(pid)) return false;
  killGroup(pid, 'SIGTERM');
  const started = Date.now();
  // Bounded: a process stuck in the kernel (state D) outlives SIGKILL for a while.
  while (groupAlive(pid) && Date.now() - started < 2 * KILL_GRACE_MS) {
    if (Date.now() - started > KILL_GRACE_MS) killGroup(pid, 'SIGKILL');
    await sleep(10);
  }
  return true;
}

function dispatch(reply: ShellReply): void {
  const job = jobs.get(reply.id);
  if (job === undefined) return;
  if (reply.type === 'started') job.started(reply.pid);
  else if (reply.type === 'output') job.output(reply.stream, reply.chunk);
  else if (reply.type === 'closed') job.closed(reply.code, reply.signal);
  else job.failed(Object.assign(new Error(reply.message), { code: reply.code }));
}

/** The worker, started on first use; it keeps the process alive only while shells run. */
function shellWorker(): Worker {
  if (worker !== undefined) return worker;
  const started = new Worker(new URL('./shell-worker.js', import.meta.url));
  started.on('message', dispatch);
  started.on('error', (err) => {
    for (const job of jobs.values()) job.failed(err);
  });
  started.unref();
  process.once('exit', () => {
    for (const pid of running) killGroup(pid, 'SIGTERM');
  });
  worker = started;
  return started;
}

export function runShell(
  cmd: string,
  opts: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    output: (stream: 'stdout' | 'stderr', chunk: string) => void;
    signal: AbortSignal;
  },
): Promise<{ code: number | null; signal: string | null; stoppedLeftovers: boolean }> {
  const shells = shellWorker();
  const id = nextId++;
  let pid: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const abort = (): void => {
    if (pid === undefined || killTimer !== undefined) return;
    killGroup(pid, 'SIGTERM');
    const group = pid;
    killTimer = setTimeout(() => killGroup(group, 'SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', abort);
      if (pid !== undefined) running.delete(pid);
      jobs.delete(id);
      if (jobs.size === 0) shells.unref();
    };
    jobs.set(id, {
      output: opts.output,
      started(p) {
        pid = p;
        running.add(p);
        if (opts.signal.aborted) abort();
      },
      closed(code, signal) {
        const leftovers = pid === undefined ? Promise.resolve(false) : stopLeftovers(pid);
        void leftovers.then((stoppedLeftovers) => {
          settle();
          resolve({ code, signal, stoppedLeftovers });
        });
      },
      failed(err) {
        settle();
        reject(err);
      },
    });
    opts.signal.addEventListener('abort', abort, { once: true });
    shells.ref();
    shells.postMessage({ id, cmd, cwd: opts.cwd, env: opts.env } satisfies ShellRequest);
  });
}
