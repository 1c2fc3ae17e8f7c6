import * as fs from 'node:fs';
import * as os from 'node:os';
import { describe, expect, test } from 'vitest';
import type * as ShellModule from '../../src/stages/shell.js';
import { alive } from './rig.js';

// The built module: its worker thread is dist/src/stages/shell-worker.js.
const { runShell } = (await import(
  new URL('../../dist/src/stages/shell.js', import.meta.url).href
)) as typeof ShellModule;

/** Alive and not a zombie (a killed orphan may wait a while for init to reap it). */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function shell(cmd: string, signal = new AbortController().signal) {
  const chunks: string[] = [];
  const done = runShell(cmd, {
    cwd: os.tmpdir(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ONLY: 'this' },
    output: (stream, chunk) => chunks.push(`${stream}:${chunk}`),
    signal,
  });
  return { chunks, done };
}

describe('runShell (command stages, started by a worker thread)', () => {
  test('relays both streams and the exit code; the environment is exactly the one given', async () => {
    const { chunks, done } = shell('test -z "$HOME" && echo "$ONLY"; echo oops >&2; exit 3');
    expect(await done).toEqual({ code: 3, signal: null, stoppedLeftovers: false });
    expect(chunks.sort()).toEqual(['stderr:oops\n', 'stdout:this\n']);
  });

  test('an abort before the shell has started still stops it', async () => {
    const abort = new AbortController();
    abort.abort();
    const { done } = shell('sleep 30', abort.signal);
    expect(await done).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  test('an abort reaches what the shell started (its process group)', async () => {
    const abort = new AbortController();
    const { chunks, done } = shell('sleep 30 & echo $!; wait', abort.signal);
    while (chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const sleeper = Number(chunks[0]?.replace('stdout:', ''));
    expect(alive(sleeper)).toBe(true);
    abort.abort();
    expect((await done).signal).toBe('SIGTERM');
    for (let i = 0; i < 100 && alive(sleeper); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(alive(sleeper)).toBe(false);
  });

  test('what the shell left running, its output elsewhere, is stopped before the result', async () => {
    const { chunks, done } = shell('sleep 30 > /dev/null 2>&1 & echo $!');
    const result = await done;
    const sleeper = Number(chunks[0]?.replace('stdout:', ''));
    expect(sleeper).toBeGreaterThan(0);
    expect(result).toEqual({ code: 0, signal: null, stoppedLeftovers: true });
    expect(running(sleeper)).toBe(false);
  });

  test('one that ignores SIGTERM is killed after the grace period', async () => {
    const { chunks, done } = shell(
      'sh -c \'trap "" TERM; while :; do sleep 0.05; done\' > /dev/null 2>&1 & echo $!',
    );
    const result = await done;
    expect(result).toMatchObject({ code: 0, stoppedLeftovers: true });
    expect(running(Number(chunks[0]?.replace('stdout:', '')))).toBe(false);
  });
});
