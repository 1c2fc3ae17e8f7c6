/**
 * The typed values the pure core (load -> params -> expand -> graph) hands to the effectful
 * engine (store, scheduler, executor). Produced once from pipeline.yaml, then trusted.
 */
import type { SourceLocation } from './diagnostics.js';
import type { RetryPolicy } from './retry.js';
import type { RuntimeSettings } from './slurm/settings.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** An upstream artifact a stage reads: the whole output tree of a stage, or a path in it. */
export interface StageInputRef {
  /** Concrete stage id, e.g. `train[normal,3]`. */
  stageId: string;
  /** Path inside that stage's output tree; '' for the whole tree. */
  path: string;
}

/**
 * A stage input as declared. `many` inputs come from a pattern such as `train[normal,*]`
 * and are handed to the stage as a list, in expansion order (the foreach values' order).
 */
export interface StageInput {
  name: string;
  many: boolean;
  refs: StageInputRef[];
}

/** One concrete stage after profile, --set, interpolation and foreach expansion. */
export interface ConcreteStage {
  /** Stable readable id: `name` or `name[v1,v2,...]` with foreach values in declared order. */
  id: string;
  /** The stage's name in pipeline.yaml: the group that `run train` / `status train` address. */
  name: string;
  kind: string;
  /** foreach binding for this expansion, in declared key order ({} when not expanded). */
  matrix: Record<string, Json>;
  /** Interpolated params, validated against the kind's params schema. Only these enter the key. */
  params: JsonObject;
  inputs: StageInput[];
  /** Workspace files or directories (relative paths) hashed by content, e.g. a command's script. */
  deps: string[];
  /** A command stage's `tools:`: commands whose output enters its key ([] for other kinds). */
  tools: string[];
  /** Where the stage was declared, for diagnostics and `status` output. */
  location: SourceLocation;
}

export interface Pipeline {
  /** Path of pipeline.yaml relative to the workspace. */
  file: string;
  name: string;
  profile: string | null;
  /** The fully resolved parameter tree (defaults, then profile, then --set). */
  params: JsonObject;
  /** How stages run (interpolated); never part of a key. */
  runtime: RuntimeSettings;
  /** Stage name -> when its failed stages run again; never part of a key. */
  retry: Record<string, RetryPolicy>;
  /**
   * Stage id -> its scheduling priority where not 0: among ready stages, higher starts first.
   * The highest of its own `priority:` and of every stage downstream of it, so that a
   * prioritised stage is not held back by its inputs. Never part of a key.
   */
  priority: Record<string, number>;
  /** Topological order: every stage appears after all stages it reads from. */
  stages: ConcreteStage[];
  /** name -> ids of its expansions (a non-foreach stage maps to [its id]). */
  groups: Record<string, string[]>;
}

export interface LoadOptions {
  profile?: string;
  /** Raw `--set a.b=value` strings; values are parsed as YAML scalars/flow collections. */
  sets?: string[];
}
