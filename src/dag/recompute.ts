/**
 * `verify --recompute`: re-executes up-to-date stages into throw-away directories and
 * compares the output tree digest with the stored one, to catch non-deterministic stages.
 * It never writes objects, records or heads; only temp dirs and logs it removes or keeps.
 */
import * as path from 'node:path';
import { ArtifactsView } from './artifacts-view.js';
import type { Executor } from './executor.js';
import type { Pipeline } from './pipeline-types.js';
import { Planner, selectStages } from './plan.js';
import { workspacePaths } from './run.js';
import { defaultCapacity, Scheduler } from './scheduler.js';
import { stageJob } from './stage-job.js';
import type { StageRegistry } from './stage-kind.js';
import { StatCache } from './stat-cache.js';
import { hashTree, idFileName, Store } from './store.js';

export interface RecomputeResult {
  stageId: string;
  outcome: 'same' | 'different' | 'failed' | 'not-up-to-date';
  stored?: string;
  recomputed?: string;
  message?: string;
}

export async function recomputeStages(opts: {
  workspace: string;
  pipeline: Pipeline;
  registry: StageRegistry;
  targets: string[];
  executor: Executor;
  jobs: number;
  signal: AbortSignal;
}): Promise<RecomputeResult[]> {
  const paths = workspacePaths(opts.workspace);
  const store = new Store(paths.cache);
  const view = new ArtifactsView(paths.artifacts, store);
  const planner = new Planner(
    opts.pipeline,
    opts.registry,
    store,
    new StatCache(paths.statCache),
    opts.workspace,
    { force: new Set(), assumeFresh: new Set() },
  );
  const { states } = planner.plan(selectStages(opts.pipeline, opts.targets));
  const scheduler = new Scheduler(opts.jobs, defaultCapacity(opts.jobs));
  const logDir = path.join(store.logsDir, `verify-${Date.now()}`);
  const jobs = opts.pipeline.stages
    .filter((s) => states.has(s.id))
    .map(async (stage): Promise<RecomputeResult> => {
      const state = states.get(stage.id);
      if (state?.status !== 'fresh') return { stageId: stage.id, outcome: 'not-up-to-date' };
      await view.show(stage.id, state.outputTree, state.manifest);
      for (const id of planner.upstreamOf(stage)) {
        const up = states.get(id);
        if (up?.status === 'fresh') await view.show(id, up.outputTree, up.manifest);
      }
      const result = await scheduler.run(planner.kindOf(stage).resources, opts.signal, async () => {
        const outDir = await store.makeTempDir(`verify-${stage.id}`);
        const scratchDir = await store.makeTempDir(`verify-scratch-${stage.id}`);
        try {
          const outcome = await opts.executor.execute(
            stageJob(stage, {
              module: planner.kindOf(stage).module,
              key: state.key,
              workspace: opts.workspace,
              view,
              outDir,
              scratchDir,
              logPath: path.join(logDir, `${idFileName(stage.id)}.log`),
            }),
            { progress: () => {}, log: () => {}, annotate: () => {} },
            opts.signal,
          );
          if (!outcome.ok)
            return { stageId: stage.id, outcome: 'failed' as const, message: outcome.message };
          const recomputed = hashTree(outDir);
          return {
            stageId: stage.id,
            outcome: recomputed === state.outputTree ? ('same' as const) : ('different' as const),
            stored: state.outputTree,
            recomputed,
          };
        } finally {
          store.releaseTempDir(outDir);
          store.releaseTempDir(scratchDir);
        }
      });
      return result ?? { stageId: stage.id, outcome: 'failed', message: 'interrupted' };
    });
  const results = await Promise.all(jobs);
  await store.removalsDone();
  return results;
}
