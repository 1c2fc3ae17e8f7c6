/**
 * The worker thread that starts `command` stages' shells (see shell.ts): Node forks the whole
 * engine process for a spawn and waits until the child has exec'd, milliseconds per stage
 * that the engine's own thread would otherwise spend blocked. Here only this thread waits.
 * It spawns, relays output and exit, and nothing else; killing is the engine's (by group).
 */
import { spawn } from 'node:child_process';
import { parentPort } from 'node:worker_threads';

/** What the engine asks: run `sh -c cmd` in `cwd` with exactly `env`, in its own group. */
export interface ShellRequest {
  id: number;
  cmd: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export type ShellReply =
  | { type: 'started'; id: number; pid: number }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; chunk: string }
  | { type: 'closed'; id: number; code: number | null; signal: string | null }
  | { type: 'failed'; id: number; message: string; code: string | undefined };

const port = parentPort;
if (port === null) throw new Error('shell-worker.js runs as a worker thread');

port.on('message', ({ id, cmd, cwd, env }: ShellRequest) => {
  const reply = (r: ShellReply): void => port.postMessage(r);
  const child = spawn('/bin/sh', ['-c', cmd], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid !== undefined) reply({ type: 'started', id, pid: child.pid });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk: string) => reply({ type: 'output', id, stream, chunk }));
  }
  child.once('error', (err: NodeJS.ErrnoException) =>
    reply({ type: 'failed', id, message: err.message, code: err.code }),
  );
  // 'close', not 'exit': the shell's output has been read to its end by then.
  child.once('close', (code, signal) => reply({ type: 'closed', id, code, signal }));
});
