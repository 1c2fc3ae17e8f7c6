/**
 * Jobs that die without writing their result, against a real Slurm with accounting off (the
 * recipe's default, so only squeue can tell): one cancelled from outside, one past its time
 * limit. Each fails its stage with Slurm's state in the message and the cause a retry
 * policy reads; its dependents are skipped; an independent branch runs to the end.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CliRun, clusterProblem, workspace } from './cluster.js';

const ws =
  clusterProblem === undefined
    ? workspace(`version: 1
name: slurm-failures
runtime:
  slurm:
    poll_interval: 1
    # Slurm's smallest limit (1 minute); it checks limits about every 30 s.
    kinds: { command: { time: 1 } }
stages:
  victim:
    kind: command
    cmd: sleep 300; touch out
    outs: [out]
  overtime:
    kind: command
    cmd: sleep 300; touch out
    outs: [out]
  after_victim:
    kind: command
    inputs: { v: "victim:out" }
    cmd: touch out
    outs: [out]
  fine:
    kind: command
    cmd: echo fine > out
    outs: [out]
  after_fine:
    kind: command
    inputs: { f: "fine:out" }
    cmd: cat "$IN_F" > out
    outs: [out]
`)
    : undefined;

afterAll(() => ws?.cleanup());

describe.skipIf(clusterProblem !== undefined)(
  `stages whose Slurm job dies${clusterProblem ? ` (skipped: ${clusterProblem})` : ''}`,
  () => {
    test("cancelled from outside and past the time limit: Slurm's state, and the rest goes on", async () => {
      if (!ws) return;
      const run = new CliRun(ws, ['run', '--json', '--executor', 'slurm']);
      const running = await run.next(
        (e) => e.type === 'stage-placement' && e.stageId === 'victim' && e.state === 'running',
      );
      expect(spawnSync('scancel', [String(running.jobId)]).status).toBe(0);
      expect(await run.done).toBe(1);

      const failed = Object.fromEntries(
        run.of('stage-failed').map((e) => [e.stageId, String(e.message)]),
      );
      expect(Object.keys(failed).sort()).toEqual(['overtime', 'victim']);
      expect(failed.victim).toMatch(new RegExp(`^Slurm job ${running.jobId} ended CANCELLED`));
      expect(failed.overtime).toMatch(/^Slurm job \d+ ended TIMEOUT/);
      expect(run.of('stage-skipped').map((e) => e.stageId)).toEqual(['after_victim']);
      expect(
        run
          .of('stage-finished')
          .map((e) => e.stageId)
          .sort(),
      ).toEqual(['after_fine', 'fine']);
      expect(fs.readFileSync(path.join(ws.dir, 'artifacts', 'after_fine', 'out'), 'utf8')).toBe(
        'fine\n',
      );
      // Slurm's own words are in the stage's log and its tail.
      const [overtime] = run.of('stage-failed', 'overtime');
      if (!overtime) throw new Error('overtime did not fail');
      expect((overtime.logTail as string[]).join('\n')).toMatch(/DUE TO TIME LIMIT/);
      expect(fs.readFileSync(path.join(ws.dir, String(overtime.logPath)), 'utf8')).toMatch(
        /\[slurm\] .*CANCELLED AT .* DUE TO TIME LIMIT/,
      );
      // Alone it takes 85 s. Its jobs queue behind other test files' jobs on the one-node
      // cluster, and Slurm checks time limits only every 30 s, so under the full suite one run
      // took over 240 s.
    }, 480_000);
  },
);
