/**
 * What a Slurm job runs: `node job-main.js <job.json>`. It runs the stage exactly as a local
 * run does (the local executor, i.e. the same stage runner in a child process, writing the
 * same log file), keeps the latest progress in a file for the runner to show, and as its
 * last act writes its result beside the other finished jobs' (temp name, then rename). It
 * never touches the store or the workspace lock: the runner adopts the output.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { LocalExecutor } from '../executor.js';
import type { StageProgress } from '../stage-kind.js';
import { writeFileAtomic } from '../store.js';
import type { JobResult, JobSpec } from './journal.js';

const PROGRESS_EVERY_MS = 1000;

function emptyDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

async function main(specPath: string): Promise<number> {
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as JobSpec;
  // Slurm may requeue a job (preemption, node failure): a second start begins clean.
  fs.rmSync(spec.resultPath, { force: true });
  emptyDir(spec.job.outDir);
  const controller = new AbortController();
  // Slurm's stop (time limit, scancel, preemption) ends the stage as a Ctrl-C would; the
  // runner reads why from Slurm's final state.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGUSR1'] as const)
    process.on(signal, () => controller.abort());
  let writtenAt = 0;
  let latest: StageProgress | undefined;
  const writeProgress = (): void => {
    if (latest === undefined) return;
    writeFileAtomic(spec.progressPath, JSON.stringify(latest), { durable: false });
    writtenAt = Date.now();
  };
  const facts: Record<string, string> = {};
  const startedAt = Date.now();
  const outcome = await new LocalExecutor().execute(
    spec.job,
    {
      progress: (p) => {
        latest = p;
        if (Date.now() - writtenAt >= PROGRESS_EVERY_MS) writeProgress();
      },
      log: () => {},
      annotate: (f) => Object.assign(facts, f),
    },
    controller.signal,
  );
  const result: JobResult = {
    ...(outcome.ok
      ? { ok: true, exitCode: 0, signal: null, logTail: [] }
      : {
          ok: false,
          cause: outcome.cause,
          message: outcome.message,
          exitCode: outcome.exitCode,
          signal: outcome.signal,
          logTail: outcome.logTail,
        }),
    facts,
    node: os.hostname(),
    startedAt,
    endedAt: Date.now(),
  };
  writeFileAtomic(spec.resultPath, `${JSON.stringify(result)}\n`);
  return outcome.ok ? 0 : 1;
}

const specPath = process.argv[2];
if (!specPath) {
  process.stderr.write('usage: job-main.js <job.json>\n');
  process.exitCode = 2;
} else {
  main(specPath).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`advrob-dag job: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
