/**
 * `advrob-dag status` (and `run --dry-run`): every selected stage, up to date or will run,
 * with a one-line reason. Read-only apart from the stat cache (so the next status does not
 * re-hash unchanged deps); never takes the workspace lock.
 */
import * as fs from 'node:fs';
import { ArtifactsView } from '../dag/artifacts-view.js';
import { formatReason } from '../dag/events.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { expandNames, Planner, selectStages } from '../dag/plan.js';
import { workspacePaths } from '../dag/run.js';
import { StatCache } from '../dag/stat-cache.js';
import { StateIndex } from '../dag/state-index.js';
import { Store } from '../dag/store.js';
import { renderArtifactChanges, renderStatus } from '../ui/status.js';
import { EXIT, stdoutColor, stdoutWidth } from './output.js';
import { kindsOf } from './workspace.js';

export async function printStatus(
  pipeline: Pipeline,
  root: string,
  targets: string[],
  opts: { json: boolean; force?: string[]; assumeFresh?: string[]; detail?: boolean },
): Promise<number> {
  const paths = workspacePaths(root);
  const store = new Store(paths.cache);
  const statCache = new StatCache(paths.statCache);
  const index = StateIndex.read(store);
  const planner = new Planner(pipeline, await kindsOf(pipeline), store, statCache, root, {
    force: expandNames(pipeline, opts.force ?? [], '--force'),
    assumeFresh: expandNames(pipeline, opts.assumeFresh ?? [], '--assume-fresh'),
    index,
  });
  const { entries, states } = planner.plan(selectStages(pipeline, targets));
  if (fs.existsSync(paths.cache)) statCache.save();
  planner.saveCaches();
  const view = new ArtifactsView(paths.artifacts, store, index);
  const artifacts = entries.flatMap((e) => {
    const state = states.get(e.id);
    return state?.status === 'fresh'
      ? (view.changes(e.id, state.outputTree, state.manifest) ?? [])
      : [];
  });
  if (opts.json) {
    const rows = entries.map((e) => {
      const state = states.get(e.id);
      return {
        ...e,
        reasonText: formatReason(e.reason),
        key: state && state.status !== 'blocked' ? state.key : null,
        outputTree: state?.status === 'fresh' ? state.outputTree : null,
      };
    });
    process.stdout.write(
      `${JSON.stringify({ pipeline: pipeline.name, stages: rows, artifacts }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(
      renderStatus(entries, {
        color: stdoutColor(),
        width: stdoutWidth(),
        detail: opts.detail ?? false,
      }) + renderArtifactChanges(artifacts, stdoutColor()),
    );
  }
  return EXIT.ok;
}
