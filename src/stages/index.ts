/**
 * The registry of stage kinds the CLI offers: each kind's name and how to import its module.
 * A command imports only the kinds its pipeline uses (a no-op run of shell commands loads
 * `command` alone); loading pipeline.yaml anew, which validates against every kind's params
 * schema, imports them all. A kind module must stay light at top level all the same: load
 * heavy libraries (tfjs, vega) inside `run` with `await import()`. A stage process imports
 * only its own kind's module.
 */
import type { StageKind, StageRegistry } from '../dag/stage-kind.js';

type Loader = () => Promise<StageKind>;

// Each loader names its module literally, so the import stays visible to tools and to tsc.
const loaders: Record<string, Loader> = {
  command: async () => (await import('./command.js')).command as StageKind,
  fetch: async () => (await import('./fetch.js')).fetchStage as StageKind,
  split: async () => (await import('./split.js')).split as StageKind,
  train: async () => (await import('./train.js')).train as StageKind,
  select: async () => (await import('./select.js')).select as StageKind,
  attack: async () => (await import('./attack.js')).attack as StageKind,
  evaluate: async () => (await import('./evaluate.js')).evaluate as StageKind,
  metrics: async () => (await import('./metrics.js')).metrics as StageKind,
  aggregate: async () => (await import('./aggregate.js')).aggregate as StageKind,
  plot: async () => (await import('./plot.js')).plot as StageKind,
  report: async () => (await import('./report.js')).report as StageKind,
};

/** Every kind, or (`names`) those of them a pipeline uses; unknown names are left out. */
export async function loadRegistry(names?: Iterable<string>): Promise<StageRegistry> {
  const wanted = names === undefined ? Object.keys(loaders) : [...new Set(names)];
  const kinds = await Promise.all(wanted.flatMap((name) => loaders[name]?.() ?? []));
  return new Map(kinds.map((k) => [k.kind, k]));
}
