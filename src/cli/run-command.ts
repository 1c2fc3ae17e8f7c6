/**
 * `advrob-dag run`: loads the pipeline (exit 2 on bad input, nothing written), takes the
 * workspace lock (exit 3 when held), runs with the chosen UI, and turns Ctrl-C/SIGTERM into
 * an orderly stop: `run-interrupting`, abort the stage processes, store nothing half-done,
 * exit 130. A second Ctrl-C exits at once.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { diskFullMessage, isDiskFull } from '../dag/disk-full.js';
import { LocalExecutor } from '../dag/executor.js';
import { acquireLock, formatLockHolder } from '../dag/lock.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { Provenance } from '../dag/provenance.js';
import { runPipeline } from '../dag/run.js';
import { expectedBackend } from '../ml/backend-choice.js';
import { createSink, EXIT, ExitError, uiMode } from './output.js';
import { printStatus } from './status-command.js';
import {
  type GlobalOptions,
  openPipeline,
  type PipelineOptions,
  registry,
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
}

/**
 * The ML backend reaches the stage processes as ADVROB_BACKEND (they inherit the
 * environment), so each stage records it in provenance but it never enters a cache key.
 * `--backend` wins over an ADVROB_BACKEND already set, which wins over pipeline.yaml's
 * `runtime.backend`. A name that cannot be a backend is a usage error before anything runs.
 */
function chooseBackend(flag: string | undefined, pipeline: Pipeline): string {
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
    return expectedBackend(process.env.ADVROB_BACKEND);
  } catch (err) {
    throw new ExitError(`${from}: ${(err as Error).message}`, EXIT.usage);
  }
}

/** Opening the database writes (WAL, schema): on a full disk that is the first thing to fail. */
function openProvenance(file: string): Provenance {
  try {
    return new Provenance(file);
  } catch (err) {
    if (!isDiskFull(err, file)) throw err;
    throw new ExitError(diskFullMessage(file, 'opening', (err as Error).message), EXIT.failed);
  }
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
    return printStatus(pipeline, root, targets, {
      json: flags.json === true,
      force: flags.force,
      assumeFresh: flags.assumeFresh,
    });
  }
  const backend = chooseBackend(flags.backend, pipeline);
  const argv = process.argv.slice(2);
  const lock = acquireLock(paths.cache, ['advrob-dag', ...argv]);
  if (!lock.ok) throw new ExitError(formatLockHolder(lock.holder), EXIT.locked);
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let provenance: Provenance | undefined;
  try {
    provenance = openProvenance(paths.provenance);
    const result = await runPipeline({
      workspace: root,
      pipeline,
      registry,
      targets,
      force: flags.force,
      assumeFresh: flags.assumeFresh,
      jobs: flags.jobs,
      sink,
      executor: new LocalExecutor(),
      provenance,
      signal: controller.signal,
      runId: newRunId(),
      argv,
      toolVersion: toolVersion(),
      meta: { host: os.hostname(), backend },
      notes: lock.recovered
        ? [
            `took over the lock of a run that died (pid ${lock.recovered.pid}, started ${lock.recovered.startedAt})`,
          ]
        : [],
    });
    return result.status === 'success'
      ? EXIT.ok
      : result.status === 'failed'
        ? EXIT.failed
        : EXIT.interrupted;
  } finally {
    provenance?.close();
    lock.release();
    await sink.close?.();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
