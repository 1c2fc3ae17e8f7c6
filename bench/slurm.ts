/**
 * The Slurm executor's cost per stage next to the local executor's, as `npm run bench`'s
 * own part: whole CLI processes, cold runs, same --jobs, same machine, same session.
 *   - one stage alone: submission, scheduling, the job's start and the runner noticing its
 *     result, against a local child process;
 *   - the 233-stage peer pipeline (F=7): wall time, and wall time per stage.
 * Skipped, with the reason, when no Slurm cluster answers (scripts/slurm-up.sh starts one).
 */
import { spawnSync } from 'node:child_process';
import { cliPath, FreshWorkspaces, load, type Timed, timeCommand } from './measure.js';
import { peerPipeline, peerStages } from './peer.js';

const FOLDS = 7;

function clusterCpus(): number | undefined {
  const r = spawnSync('sinfo', ['--noheader', '--format=%t %c'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const up = r.stdout.split('\n').find((l) => /^(idle|mix|alloc)/.test(l));
  return up ? Number.parseInt(up.split(' ')[1] ?? '', 10) || 1 : undefined;
}

/**
 * New workspaces, one per cold run, whose pipeline polls Slurm every second (the figure is
 * the executor's, not the interval's).
 */
function workspaces(name: string, stages: string): FreshWorkspaces {
  const text = stages.replace(/^stages:/m, 'runtime:\n  slurm: { poll_interval: 1 }\nstages:');
  return new FreshWorkspaces(name, { 'pipeline.yaml': text });
}

const cold = (fresh: FreshWorkspaces, args: string[], repeats: number): Timed =>
  timeCommand(fresh.next, process.execPath, [cliPath, 'run', '--no-ui', ...args], { repeats });

const ONE_STAGE = `version: 1
name: one
stages:
  one:
    kind: command
    cmd: echo one > out.txt
    outs: [out.txt]
`;

export function slurmOverhead(repeats: number): void {
  console.log('Slurm executor vs local, cold runs, whole processes (median):');
  const cpus = clusterCpus();
  if (cpus === undefined) {
    console.log(
      '  skipped: no Slurm cluster answers sinfo (start one with scripts/slurm-up.sh as root)',
    );
    return;
  }
  const jobs = ['--jobs', String(cpus)];
  const one = workspaces('slurm-one', ONE_STAGE);
  const peer = workspaces('slurm-peer', peerPipeline(FOLDS));
  try {
    const rows: [string, Timed, Timed, number][] = [
      [
        'one stage',
        cold(one, jobs, repeats),
        cold(one, [...jobs, '--executor', 'slurm'], repeats),
        1,
      ],
      [
        `peer pipeline, ${peerStages(FOLDS)} stages`,
        cold(peer, jobs, Math.min(repeats, 3)),
        cold(peer, [...jobs, '--executor', 'slurm'], Math.min(repeats, 3)),
        peerStages(FOLDS),
      ],
    ];
    for (const [name, local, slurm, stages] of rows) {
      const per = (t: Timed): string => `${(t.ms / stages).toFixed(0)} ms/stage`;
      console.log(
        `  ${name.padEnd(30)} local ${(local.ms / 1000).toFixed(2)} s (${per(local)})  slurm ${(slurm.ms / 1000).toFixed(2)} s (${per(slurm)})  overhead ${((slurm.ms - local.ms) / stages).toFixed(0)} ms/stage  (--jobs ${cpus}, load ${load()})`,
      );
    }
  } finally {
    one.remove();
    peer.remove();
  }
}
