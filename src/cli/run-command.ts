/**
 * `advrob-dag run`: loads the pipeline (exit 2 on bad input, nothing written), takes the
 * workspace lock (exit 3 when held), runs with the chosen UI, and turns Ctrl-C/SIGTERM (or a
 * reader closing its stdout) into an orderly stop: `run-interrupting`, abort the stage
 * processes, store nothing half-done, exit 130. A second Ctrl-C exits at once.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diskFullMessage, isDiskFull } from '../dag/disk-full.js';
import { LocalExecutor } from '../dag/executor.js';
import { acquireLock, formatLockHolder } from '../dag/lock.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { Provenance } from '../dag/provenance.js';
import { runPipeline } from '../dag/run.js';
import { EXECUTORS, type ExecutorName } from '../dag/slurm/settings.js';
import type { StageRegistry } from '../dag/stage-kind.js';
import { expectedBackend, parseBackendChoice } from '../ml/backend-choice.js';
import { createSink, EXIT, ExitError, uiMode } from './output.js';
import { keepPendingPipeline } from './pipeline-cache.js';
import {
  type GlobalOptions,
  kindsOf,
  openPipeline,
  type PipelineOptions,
  resolveWorkspace,
  toolVersion,
} from './workspace.js';

export interface RunFlags extends PipelineOptions {
  dryRun?: boolean;
  force: string[];
  assumeFresh: string[];
  jobs: number;
  json?: boolean;
  ui?: boolean;
  backend?: string;
  executor?: string;
  /** Whether `--jobs` was given (a cluster's default is larger than this machine's CPUs). */
  jobsGiven?: boolean;
}

/**
 * The ML backend reaches the stage processes as ADVROB_BACKEND (they inherit the
 * environment), so each stage records it in provenance but it never enters a cache key.
 * `--backend` wins over an ADVROB_BACKEND already set, which wins over pipeline.yaml's
 * `runtime.backend`. A name that cannot be a backend is a usage error before anything runs.
 */
function chooseBackend(
  flag: string | undefined,
  pipeline: Pipeline,
  registry: StageRegistry,
): string {
  const fromPipeline = pipeline.runtime.backend;
  let from = 'ADVROB_BACKEND';
  if (flag !== undefined) {
    process.env.ADVROB_BACKEND = flag;
    from = '--backend';
  } else if (process.env.ADVROB_BACKEND === undefined && fromPipeline !== undefined) {
    process.env.ADVROB_BACKEND = fromPipeline;
    from = `${pipeline.file}: runtime.backend`;
  }
  try {
    // Guessing the automatic choice resolves package after package: only for a pipeline
    // with a stage that runs on a backend, not for (say) a no-op run of shell commands.
    const usesBackend = [...registry.values()].some((k) => (k.runtimePackages?.length ?? 0) > 0);
    if (!usesBackend && parseBackendChoice(process.env.ADVROB_BACKEND) === undefined) return 'none';
    return expectedBackend(process.env.ADVROB_BACKEND);
  } catch (err) {
    throw new ExitError(`${from}: ${(err as Error).message}`, EXIT.usage);
  }
}

/**
 * Opening the database writes (WAL, schema): on a full disk that is the first thing to
 * fail. A damaged database is history lost, not a reason to refuse to run: it is moved aside
 * (for whoever wants to rescue it) and a new one started, and the run says so.
 */
function openProvenance(file: string, runId: string): { provenance: Provenance; note?: string } {
  try {
    return { provenance: new Provenance(file) };
  } catch (err) {
    if (isDiskFull(err, file))
      throw new ExitError(diskFullMessage(file, 'opening', (err as Error).message), EXIT.failed);
    const code = (err as { code?: string }).code ?? '';
    if (!DAMAGED_DB.has(code)) throw err;
    const aside = `${file}.damaged-${runId}`;
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${aside}${suffix}`, { force: true });
    for (const suffix of ['', '-wal', '-shm'])
      if (fs.existsSync(`${file}${suffix}`)) fs.renameSync(`${file}${suffix}`, `${aside}${suffix}`);
    return {
      provenance: new Provenance(file),
      note: `provenance.db was damaged (${(err as Error).message}): moved to ${path.basename(aside)}, history starts anew; the cache is unaffected`,
    };
  }
}

/** SQLite's codes for a file that is not (or no longer) a database. */
const DAMAGED_DB = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/** Jobs in flight on a cluster when `--jobs` is not given: the queue, not this machine, limits. */
const SLURM_DEFAULT_JOBS = 100;

/** `--executor` > pipeline.yaml `runtime.executor` > local. */
function chooseExecutor(flag: string | undefined, pipeline: Pipeline): ExecutorName {
  const name = flag ?? pipeline.runtime.executor ?? 'local';
  if (!(EXECUTORS as readonly string[]).includes(name))
    throw new ExitError(
      `--executor: unknown executor '${name}'; expected one of ${EXECUTORS.join(', ')}`,
      EXIT.usage,
    );
  return name as ExecutorName;
}

const newRunId = (): string =>
  `${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;

export async function runCommand(
  targets: string[],
  flags: RunFlags,
  global: GlobalOptions,
): Promise<number> {
  const pipeline = await openPipeline(global, flags);
  const { root, paths } = resolveWorkspace(global);
  if (flags.dryRun) {
    // Imported here, like the Slurm executor below: a plain (often no-op) run loads neither.
    const { printStatus } = await import('./status-command.js');
    return printStatus(pipeline, root, targets, {
      json: flags.json === true,
      force: flags.force,
      assumeFresh: flags.assumeFresh,
    });
  }
  const registry = await kindsOf(pipeline);
  const backend = chooseBackend(flags.backend, pipeline, registry);
  const executorName = chooseExecutor(flags.executor, pipeline);
  const jobs = executorName === 'slurm' && !flags.jobsGiven ? SLURM_DEFAULT_JOBS : flags.jobs;
  const argv = process.argv.slice(2);
  const lock = acquireLock(paths.cache, ['advrob-dag', ...argv]);
  if (!lock.ok) throw new ExitError(formatLockHolder(lock.holder), EXIT.locked);
  keepPendingPipeline();
  const sink = await createSink(uiMode(flags));

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      lock.release();
      process.exit(EXIT.interrupted);
    }
    sink.emit({ type: 'run-interrupting', time: Date.now(), signal });
    controller.abort();
  };
  const onClosedOutput = (): void => onSignal('SIGPIPE');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onClosedOutput);
  const runId = newRunId();
  const slurm =
    executorName === 'slurm'
      ? new (await import('../dag/slurm/executor.js')).SlurmExecutor({
          cacheDir: paths.cache,
          runId,
          settings: pipeline.runtime.slurm,
          say: (message) => sink.emit({ type: 'info', time: Date.now(), message }),
        })
      : undefined;
  let provenance: Provenance | undefined;
  try {
    const opened = openProvenance(paths.provenance, runId);
    provenance = opened.provenance;
    await slurm?.open().catch((err: unknown) => {
      throw new ExitError(`--executor slurm: ${(err as Error).message}`, EXIT.failed);
    });
    const result = await runPipeline({
      workspace: root,
      pipeline,
      registry,
      targets,
      force: flags.force,
      assumeFresh: flags.assumeFresh,
      jobs,
      sink,
      executor: slurm ?? new LocalExecutor(),
      provenance,
      signal: controller.signal,
      runId,
      argv,
      toolVersion: toolVersion(),
      meta: { host: os.hostname(), backend, executor: executorName },
      notes: [
        ...(lock.recovered
          ? [
              `took over the lock of a run that died (pid ${lock.recovered.pid}, started ${lock.recovered.startedAt})`,
            ]
          : []),
        ...(opened.note ? [opened.note] : []),
      ],
    });
    return result.status === 'success'
      ? EXIT.ok
      : result.status === 'failed'
        ? EXIT.failed
        : EXIT.interrupted;
  } finally {
    slurm?.close();
    provenance?.close();
    lock.release();
    await sink.close?.();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.stdout.removeListener('error', onClosedOutput);
  }
}
