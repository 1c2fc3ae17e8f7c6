/**
 * One stage as one sbatch submission: the options (resources from the kind's tokens and
 * runtime.slurm, the run's job name, the workspace as working directory) and the batch
 * script, which only starts job-main.js with the same node binary as the runner. Pure.
 */
import type { JobRequest } from './settings.js';

/** The name every job of a run carries, so one `squeue --name` sees them all. */
export const jobNameOf = (runId: string): string => `advrob-${runId}`;

/** Slurm expands `%` in --output paths; `%%` is a literal one. */
const literalPath = (file: string): string => file.replace(/%/g, '%%');

export function sbatchArgs(
  request: JobRequest,
  where: { jobName: string; stageId: string; workspace: string; slurmOut: string },
): string[] {
  return [
    `--job-name=${where.jobName}`,
    `--comment=${where.stageId}`,
    `--chdir=${where.workspace}`,
    `--output=${literalPath(where.slurmOut)}`,
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${request.cpus}`,
    ...(request.mem !== undefined ? [`--mem=${request.mem}`] : []),
    ...(request.gpus > 0 ? [`--gres=gpu:${request.gpus}`] : []),
    ...(request.partition !== undefined ? [`--partition=${request.partition}`] : []),
    ...(request.account !== undefined ? [`--account=${request.account}`] : []),
    ...(request.time !== undefined ? [`--time=${request.time}`] : []),
    ...request.options,
  ];
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function jobScript(what: { stageId: string; node: string; main: string; spec: string }) {
  return [
    '#!/bin/sh',
    `# advrob-dag stage ${what.stageId.replace(/\n/g, ' ')}`,
    `exec ${shellQuote(what.node)} ${shellQuote(what.main)} ${shellQuote(what.spec)}`,
    '',
  ].join('\n');
}
