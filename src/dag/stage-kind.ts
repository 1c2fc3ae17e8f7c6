/**
 * What a stage kind is: a value (not a class) the engine reads from a registry. The engine
 * knows nothing about what a kind does; ML kinds live in src/stages and register themselves.
 */
import type { Json, JsonObject } from './pipeline-types.js';

/** Progress of a long stage; the UI draws `unit done/total` with the inner bar inside it. */
export interface StageProgress {
  unit: string;
  done: number;
  total: number;
  /** e.g. the batch bar inside the epoch bar. */
  inner?: { unit: string; done: number; total: number };
  /** Latest metrics worth showing, e.g. { val_acc: 0.81 } or { asr: 0.93 }. */
  metrics?: Record<string, number>;
  message?: string;
}

export interface StageContext<P extends JsonObject = JsonObject> {
  stageId: string;
  params: P;
  /** Absolute, read-only paths of the declared inputs (a list for `many` inputs). */
  inputs: Record<string, string | string[]>;
  /** Absolute paths of the declared `deps` (workspace files), in declared order. */
  deps: string[];
  /** Empty directory; everything written here becomes the stage's output tree. */
  outDir: string;
  /** Survives a crash of this stage (same key -> same dir), for resumable work. */
  scratchDir: string;
  /** Workspace root (where pipeline.yaml is). */
  workspace: string;
  /** Seed derived from the cache key, so reruns are reproducible. */
  seed: number;
  progress(p: StageProgress): void;
  log(line: string): void;
  /**
   * Facts about how the stage ran that must not enter the key, e.g. { backend: 'wasm' }:
   * kept with the execution in provenance (shown by `why`). Optional so that hand-built
   * contexts in tests need not provide it.
   */
  annotate?(facts: Record<string, string>): void;
  /**
   * Raw output of a child process the stage started, as it arrives. Given when the stage
   * runs inside the engine (`inProcess`); otherwise the stage writes to its own stdout and
   * stderr, which its runner captures.
   */
  output?(stream: 'stdout' | 'stderr', chunk: string): void;
  signal: AbortSignal;
}

export interface ResourceNeeds {
  cpu?: number;
  gpu?: number;
  memoryMb?: number;
}

export interface StageKind<P extends JsonObject = JsonObject> {
  kind: string;
  description: string;
  /** JSON Schema (draft-07) of `params`; ajv validates each concrete stage against it. */
  paramsSchema: { [key: string]: Json };
  /** Named inputs the kind reads; `many` ones accept a pattern like `train[*]`. */
  inputs: Record<string, { description: string; many?: boolean; optional?: boolean }>;
  /** Paths the kind writes in its output tree, for docs and `dag`. */
  outputs: string[];
  resources?: ResourceNeeds;
  /**
   * `run` only starts a child process and waits for it (a shell command), using no process
   * state (cwd, globals) and writing its child's output through `ctx.output`: the local
   * executor may call it in the engine's own process instead of starting a Node runner, so
   * such a stage costs one process spawn, not a Node start. Other executors ignore it.
   */
  inProcess?: boolean;
  /**
   * `import.meta.url` of the module that defines the kind. Its code fingerprint (this module
   * and its local imports as built, comments and formatting removed) enters the cache key.
   */
  module: string;
  /**
   * Packages the kind chooses among at run time (the ML backend): kept out of the key with
   * whatever only they bring in, so a cache moves between machines; the kind records the
   * one it used in provenance. Every other package its code imports is keyed by version.
   */
  runtimePackages?: readonly string[];
  run(ctx: StageContext<P>): Promise<void>;
}

export function defineStage<P extends JsonObject>(kind: StageKind<P>): StageKind<P> {
  return kind;
}

/** The set of kinds a pipeline may use. The CLI builds it from src/stages; tests build their own. */
export type StageRegistry = ReadonlyMap<string, StageKind>;
