/**
 * `run --executor slurm` against a real single-node Slurm (accounting off, as the recipe
 * starts it): the paper's pipeline on the tiny profile gives the same bytes as a local run;
 * a runner killed with SIGKILL leaves jobs that the next run adopts instead of
 * resubmitting; Ctrl-C cancels the run's jobs and says which.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { hashFileSync, listFiles } from '../../src/dag/store.js';
import { cli, makeTinyWorkspace } from '../pipeline/tiny-workspace.js';
import {
  CLI,
  CliRun,
  clusterProblem,
  jobState,
  sleep,
  type Workspace,
  workspace,
} from './cluster.js';

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Every file under artifacts/ with its digest. */
function artifactDigests(ws: string): Record<string, string> {
  const root = path.join(ws, 'artifacts');
  return Object.fromEntries(
    listFiles(root).map((rel) => [rel, hashFileSync(path.join(root, rel)).digest]),
  );
}

const commandPipeline = (stages: string, slurm = ''): string => `version: 1
name: slurm-test
runtime:
  slurm:
    poll_interval: 1
${slurm}
stages:
${stages}`;

function tracked(ws: Workspace): Workspace {
  cleanups.push(ws.cleanup);
  return ws;
}

describe.skipIf(clusterProblem !== undefined)(
  `run --executor slurm${clusterProblem ? ` (skipped: ${clusterProblem})` : ''}`,
  () => {
    test("the tiny profile of the paper's pipeline gives the same bytes through Slurm as locally", () => {
      const local = makeTinyWorkspace();
      const slurm = makeTinyWorkspace();
      cleanups.push(() => fs.rmSync(local, { recursive: true, force: true }));
      cleanups.push(() => fs.rmSync(slurm, { recursive: true, force: true }));
      const doc = parseDocument(fs.readFileSync(path.join(slurm, 'pipeline.yaml'), 'utf8'));
      doc.setIn(['runtime', 'slurm'], doc.createNode({ poll_interval: 1 }));
      fs.writeFileSync(path.join(slurm, 'pipeline.yaml'), doc.toString());

      const ranLocal = cli(local, ['run', '--profile', 'tiny', '--json']);
      expect(ranLocal.status, ranLocal.stderr).toBe(0);
      const ranSlurm = cli(slurm, ['run', '--profile', 'tiny', '--json', '--executor', 'slurm']);
      expect(ranSlurm.status, ranSlurm.stdout.slice(-3000) + ranSlurm.stderr).toBe(0);

      const local_ = artifactDigests(local);
      expect(Object.keys(local_).length).toBeGreaterThan(20);
      expect(artifactDigests(slurm)).toEqual(local_);

      // Provenance names the executor, the job and the node; `why` shows them.
      const why = spawnSync(
        process.execPath,
        [CLI, '-C', slurm, 'why', path.join(slurm, 'artifacts', 'report', 'report.html')],
        {
          encoding: 'utf8',
        },
      );
      expect(why.status, why.stderr).toBe(0);
      expect(why.stdout).toMatch(/"executor":"slurm"/);
      expect(why.stdout).toMatch(/"slurm_job_id":"\d+"/);
      expect(why.stdout).toMatch(/"node":"[^"]+"/);
      expect(why.stdout).toMatch(/"elapsed_s":"\d+\.\d"/);
      // Nothing of the executor's own bookkeeping is left once every job was taken.
      expect(fs.readdirSync(path.join(slurm, 'cache', 'slurm', 'jobs'))).toEqual([]);
    }, 600_000);

    test('after the runner is killed, the next run adopts its jobs instead of resubmitting them', async () => {
      const ws = tracked(
        workspace(
          commandPipeline(`  fast:
    kind: command
    foreach: { i: { range: 2 } }
    cmd: echo fast \${i} > out.txt
    outs: [out.txt]
  slow:
    kind: command
    foreach: { i: { range: 2 } }
    cmd: sleep 6; echo slow \${i} > out.txt
    outs: [out.txt]
  join:
    kind: command
    inputs: { f: "fast[*]:out.txt", s: "slow[*]:out.txt" }
    cmd: cat $IN_F $IN_S > all.txt
    outs: [all.txt]
`),
        ),
      );
      const first = new CliRun(ws, ['run', '--json', '--executor', 'slurm']);
      // Killed once all four submissions are recorded (sbatch answered for each).
      const recorded = path.join(ws.dir, 'cache', 'slurm', 'submitted');
      const count = () =>
        fs.existsSync(recorded)
          ? fs.readdirSync(recorded).filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).length
          : 0;
      while (count() < 4) await sleep(50);
      first.kill('SIGKILL');
      await first.done;
      expect(first.of('stage-finished', 'join')).toEqual([]);
      // The fast jobs finish while no runner is alive; the slow ones are still running.
      await sleep(2000);

      const second = new CliRun(ws, ['run', '--json', '--executor', 'slurm']);
      expect(await second.done, second.stderr).toBe(0);
      expect(ws.sbatchCalls()).toBe(5);
      const finished = second.of('stage-finished').map((e) => e.stageId);
      expect(finished.sort()).toEqual(['fast[0]', 'fast[1]', 'join', 'slow[0]', 'slow[1]']);
      expect(fs.readFileSync(path.join(ws.dir, 'artifacts', 'join', 'all.txt'), 'utf8')).toBe(
        'fast 0\nfast 1\nslow 0\nslow 1\n',
      );
    }, 120_000);

    test("Ctrl-C cancels the run's jobs with scancel and says which; pending shows Slurm's reason", async () => {
      const ws = tracked(
        workspace(
          commandPipeline(
            `  held:
    kind: command
    foreach: { i: { range: 2 } }
    cmd: echo \${i} > out.txt
    outs: [out.txt]
`,
            '    options: ["--begin=now+3600"]',
          ),
        ),
      );
      const run = new CliRun(ws, ['run', '--json', '--executor', 'slurm']);
      for (const id of ['held[0]', 'held[1]'])
        await run.next((e) => e.type === 'stage-placement' && e.stageId === id);
      const placements = run.of('stage-placement');
      expect(placements.map((p) => [p.state, p.reason])).toEqual([
        ['pending', 'BeginTime'],
        ['pending', 'BeginTime'],
      ]);
      run.kill('SIGINT');
      expect(await run.done).toBe(130);
      const ids = placements.map((p) => String(p.jobId));
      const said = run.of('info').map((e) => String(e.message));
      expect(said.find((m) => m.startsWith('scancel:'))).toMatch(
        new RegExp(`${ids[0]} \\(held\\[\\d\\]\\), ${ids[1]} \\(held\\[\\d\\]\\)`),
      );
      for (const id of ids) expect(jobState(id)).toBe('CANCELLED');
      expect(ws.sbatchCalls()).toBe(2);
    }, 60_000);
  },
);
