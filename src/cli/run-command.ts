/**
 * `advrob-dag run`: loads the pipeline (exit 2 on bad input, nothing written), takes the
 * workspace lock (exit 3 when held), runs with the chosen UI, and turns Ctrl-C/SIGTERM into
 * an orderly stop: `run-interrupting`, abort the stage processes, store nothing half-done,
 * exit 130. A second Ctrl-C exits at once.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { LocalExecutor } from '../dag/executor.js';
import { acquireLock, formatLockHolder } from '../dag/lock.js';
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
 * `--backend` reaches the stage processes as ADVROB_BACKEND (they inherit the environment),
 * so it is recorded in provenance by each stage but never enters a cache key. A name that
 * cannot be a backend is a usage error before anything runs.
 */
function chooseBackend(flag: string | undefined): string {
  if (flag !== undefined) process.env.ADVROB_BACKEND = flag;
  try {
    return expectedBackend(process.env.ADVROB_BACKEND);
  } catch (err) {
    const from = flag !== undefined ? '--backend' : 'ADVROB_BACKEND';
    throw new ExitError(`${from}: ${(err as Error).message}`, EXIT.usage);
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
  const backend = chooseBackend(flags.backend);
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
  const provenance = new Provenance(paths.provenance);
  try {
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
    provenance.close();
    lock.release();
    await sink.close?.();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}
