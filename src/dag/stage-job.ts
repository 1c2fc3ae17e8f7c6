/**
 * The job an executor runs for one concrete stage: inputs resolved into the artifacts view,
 * deps into the workspace, the seed derived from the cache key. `run` and
 * `verify --recompute` both build jobs here, so a recomputation executes exactly what a run
 * would have (same inputs, same seed).
 */
import * as path from 'node:path';
import type { ArtifactsView } from './artifacts-view.js';
import type { StageJob } from './executor.js';
import type { ConcreteStage } from './pipeline-types.js';
import type { ResourceNeeds } from './stage-kind.js';

export function stageJob(
  stage: ConcreteStage,
  where: {
    module: string;
    key: string;
    workspace: string;
    view: ArtifactsView;
    outDir: string;
    scratchDir: string;
    logPath: string;
    resources?: ResourceNeeds;
  },
): StageJob {
  const inputs: Record<string, string | string[]> = {};
  for (const input of stage.inputs) {
    const list = input.refs.map((r) => path.join(where.view.dir(r.stageId), r.path));
    inputs[input.name] = input.many ? list : (list[0] ?? '');
  }
  return {
    module: where.module,
    kind: stage.kind,
    stageId: stage.id,
    params: stage.params,
    inputs,
    deps: stage.deps.map((d) => path.resolve(where.workspace, d)),
    outDir: where.outDir,
    scratchDir: where.scratchDir,
    workspace: where.workspace,
    seed: Number.parseInt(where.key.slice(0, 8), 16),
    logPath: where.logPath,
    key: where.key,
    ...(where.resources ? { resources: where.resources } : {}),
  };
}
