/**
 * The pure parts of the Slurm executor: which sbatch options a stage gets, and how squeue
 * and sacct output become job states and failures. The executor itself is tested against
 * a real Slurm in test/slurm.
 */
import { describe, expect, test } from 'vitest';
import { localTime } from '../../src/dag/slurm/commands.js';
import { jobNameOf, jobScript, sbatchArgs } from '../../src/dag/slurm/sbatch.js';
import { jobRequest } from '../../src/dag/slurm/settings.js';
import {
  finalFailure,
  kibibytes,
  parseSacct,
  parseSqueue,
  phaseOf,
  stoppedBySlurm,
} from '../../src/dag/slurm/states.js';

describe('sbatch options of a stage', () => {
  const settings = {
    partition: 'cpu',
    account: 'lab',
    time: '1:00:00',
    options: ['--qos=normal'],
    kinds: { train: { partition: 'gpu', time: '1-00:00:00', options: ['--constraint=v100'] } },
  };

  test("a kind's own settings win over the common ones, which win over its tokens", () => {
    expect(jobRequest(settings, 'train', { cpu: 4, gpu: 1, memoryMb: 3000 })).toEqual({
      partition: 'gpu',
      account: 'lab',
      time: '1-00:00:00',
      cpus: 4,
      mem: '3000M',
      gpus: 1,
      options: ['--qos=normal', '--constraint=v100'],
    });
    expect(jobRequest(settings, 'attack', { cpu: 1 })).toEqual({
      partition: 'cpu',
      account: 'lab',
      time: '1:00:00',
      cpus: 1,
      gpus: 0,
      options: ['--qos=normal'],
    });
    expect(jobRequest({ cpus: 2, gpus: 0, mem: '4G' }, 'train', { cpu: 8, gpu: 1 })).toEqual({
      cpus: 2,
      mem: '4G',
      gpus: 0,
      options: [],
    });
  });

  test("no settings: the kind's tokens, and nothing the cluster would have to default", () => {
    expect(jobRequest(undefined, 'command', undefined)).toEqual({ cpus: 1, gpus: 0, options: [] });
  });

  test("the options carry the run's job name, the workspace and a literal output path", () => {
    const args = sbatchArgs(jobRequest(settings, 'train', { cpu: 2, gpu: 1 }), {
      jobName: jobNameOf('20260101T000000Z-abc123'),
      stageId: 'train[normal,0]',
      workspace: '/shared/ws',
      slurmOut: '/shared/ws/cache/slurm/jobs/t%1/slurm.out',
    });
    expect(args).toEqual([
      '--job-name=advrob-20260101T000000Z-abc123',
      '--comment=train[normal,0]',
      '--chdir=/shared/ws',
      '--output=/shared/ws/cache/slurm/jobs/t%%1/slurm.out',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=2',
      '--gres=gpu:1',
      '--partition=gpu',
      '--account=lab',
      '--time=1-00:00:00',
      '--qos=normal',
      '--constraint=v100',
    ]);
  });

  test("the batch script only execs job-main with the runner's node, quoted for sh", () => {
    expect(
      jobScript({ stageId: 'a', node: '/opt/node', main: "/x/it's/job-main.js", spec: '/s.json' }),
    ).toBe(
      "#!/bin/sh\n# advrob-dag stage a\nexec '/opt/node' '/x/it'\\''s/job-main.js' '/s.json'\n",
    );
  });
});

describe('Slurm states', () => {
  test('squeue rows: pending with its reason, running on its node, final', () => {
    const rows = parseSqueue(
      '12|PENDING|Priority|\n13|RUNNING|None|n01\n14|TIMEOUT|TimeLimit|n02\n',
    );
    expect(rows).toEqual([
      { jobId: '12', state: 'PENDING', reason: 'Priority', node: '' },
      { jobId: '13', state: 'RUNNING', reason: '', node: 'n01' },
      { jobId: '14', state: 'TIMEOUT', reason: 'TimeLimit', node: 'n02' },
    ]);
    expect(rows.map((r) => phaseOf(r.state))).toEqual(['pending', 'running', 'final']);
    expect(phaseOf('COMPLETING')).toBe('running');
    expect(phaseOf('REQUEUED')).toBe('pending');
  });

  test('a job that ended without a result fails with the cause a retry policy needs', () => {
    const cases: [string, string][] = [
      ['OUT_OF_MEMORY', 'out-of-memory'],
      ['TIMEOUT', 'timeout'],
      ['NODE_FAIL', 'node-failure'],
      ['PREEMPTED', 'preempted'],
      ['CANCELLED by 1234', 'cancelled'],
      ['FAILED', 'exit'],
    ];
    for (const [state, cause] of cases)
      expect(finalFailure({ jobId: '7', state, reason: '', node: 'n3' })).toEqual({
        cause,
        message: `Slurm job 7 ended ${state} on n3`,
      });
  });

  test("a stage's own failure is told from Slurm stopping its job", () => {
    const row = (state: string) => ({ jobId: '7', state, reason: '', node: 'n3' });
    const stopped = ['TIMEOUT', 'CANCELLED by 0', 'PREEMPTED', 'NODE_FAIL', 'OUT_OF_MEMORY'];
    const notStopped = ['FAILED', 'COMPLETED', 'COMPLETING', 'RUNNING', 'PENDING'];
    expect(stopped.filter((s) => !stoppedBySlurm(row(s)))).toEqual([]);
    expect(notStopped.filter((s) => stoppedBySlurm(row(s)))).toEqual([]);
  });

  test("sacct: the allocation's state, elapsed seconds and the largest MaxRSS of its steps", () => {
    const text = [
      '40|CANCELLED by 1234|n01|95|',
      '40.batch|CANCELLED|n01|95|2048K',
      '40.extern|COMPLETED|n01|95|1.5M',
      '41|PENDING|None assigned|0|',
    ].join('\n');
    expect(parseSacct(text)).toEqual([
      {
        jobId: '40',
        state: 'CANCELLED by 1234',
        reason: '',
        node: 'n01',
        elapsedSeconds: 95,
        maxRssKb: 2048,
      },
      { jobId: '41', state: 'PENDING', reason: '', node: '', elapsedSeconds: 0 },
    ]);
    expect(kibibytes('2G')).toBe(2 * 1024 * 1024);
    // sacct reads --starttime in the local time zone.
    expect(localTime(new Date(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02T03:04:05');
    expect(kibibytes('')).toBeUndefined();
  });
});
