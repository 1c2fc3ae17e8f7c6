/**
 * The registry of stage kinds the CLI offers. Each kind module is imported here and listed
 * once in `kinds`. The CLI imports every module listed here on every command (it needs the
 * params schemas), so a kind module must stay light at top level: load heavy libraries
 * (tfjs, vega) inside `run` with `await import()`, or every cached `run`/`status` pays for
 * them. A stage process imports only its own kind's module.
 */
import type { StageKind, StageRegistry } from '../dag/stage-kind.js';
import { aggregate } from './aggregate.js';
import { attack } from './attack.js';
import { command } from './command.js';
import { evaluate } from './evaluate.js';
import { fetchStage } from './fetch.js';
import { metrics } from './metrics.js';
import { plot } from './plot.js';
import { report } from './report.js';
import { select } from './select.js';
import { split } from './split.js';
import { train } from './train.js';

// biome-ignore lint/suspicious/noExplicitAny: kinds differ in their params type
export const kinds: StageKind<any>[] = [
  command,
  fetchStage,
  split,
  train,
  select,
  attack,
  evaluate,
  metrics,
  aggregate,
  plot,
  report,
];

export const registry: StageRegistry = new Map(kinds.map((k) => [k.kind, k as StageKind]));
