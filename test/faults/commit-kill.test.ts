import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { alive, cliPath, finished, Rig } from '../engine/rig.js';

// strace can hold every fsync for a while (`inject=fsync:delay_enter`), which widens the
// moment a stage is being stored to a second: its objects, manifest and record are written
// beside their names, their fsyncs pending on the threadpool, while the next stage runs.
const hasStrace = spawnSync('strace', ['-V']).status === 0;

const PIPELINE = `
version: 1
stages:
  a:
    kind: command
    foreach: { i: { range: 3 } }
    cmd: echo a\${i} > a.txt
    outs: [a.txt]
  b:
    kind: command
    inputs: { as: "a[*]:a.txt" }
    cmd: cat $IN_AS > b.txt
    outs: [b.txt]
`;

const rigs: Rig[] = [];
afterEach(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

async function until(what: string, ready: () => boolean): Promise<void> {
  // Every fsync of the run's start (the lock, SQLite's) is held too: allow for a minute.
  for (let i = 0; i < 3000; i++) {
    if (ready()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never saw ${what}`);
}

describe('a kill while a stage is being stored', () => {
  test.runIf(hasStrace)(
    'SIGKILL between writing a record and renaming it in: no record, the next run completes',
    async () => {
      const r = new Rig();
      rigs.push(r);
      r.write('pipeline.yaml', PIPELINE);
      const child = spawn(
        'strace',
        [
          '-f',
          '-qq',
          '-o',
          '/dev/null',
          '-e',
          'trace=fsync',
          '-e',
          'inject=fsync:delay_enter=1000000',
        ].concat([process.execPath, cliPath, 'run', '--jobs', '2', '--no-ui']),
        { cwd: r.dir, env: { ...process.env, CI: '1' }, stdio: 'ignore', detached: true },
      );
      const done = finished(child);
      const stages = r.path('cache/stages');
      const names = (): string[] => (fs.existsSync(stages) ? fs.readdirSync(stages) : []);
      await until('a record being written', () => names().some((n) => n.includes('.tmp-')));
      // The first fsync is still held: no record is visible, only the temp file of one.
      expect(names().filter((n) => !n.includes('.tmp-'))).toEqual([]);
      const { pid } = JSON.parse(r.read('cache/run.lock')) as { pid: number };
      process.kill(-(child.pid ?? 0), 'SIGKILL');
      await done;
      await until('the run gone', () => !alive(pid));

      const rerun = await r.run(['run', '--no-ui']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(rerun.stdout).toMatch(/took over the lock of a run that died/);
      expect(names().filter((n) => n.includes('.tmp-'))).toEqual([]);
      expect(names()).toHaveLength(4);
      expect(r.read('artifacts/b/b.txt')).toBe('a0\na1\na2\n');
      const verify = await r.run(['verify']);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    },
    120_000,
  );
});
