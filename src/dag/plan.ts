/**
 * Decides, stage by stage in topological order, whether a stage is up to date and why not:
 * input digests come from upstream output trees and workspace deps (through the stat cache),
 * package versions from the kind's installed imports, tool outputs from running each
 * declared tool once, the key from engine-core's key record, the reason from comparing with
 * the last finished execution of the same stage id. Reads the store; never writes it (`run`
 * does).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Diagnostic, UserError } from './diagnostics.js';
import type { StageReason, StatusEntry } from './events.js';
import { openCodeCache, saveCodeCache } from './fingerprint.js';
import { environmentChanges } from './key.js';
import { type KeyRecord, keyOf, reasonFor } from './keying.js';
import { PackageReader } from './packages.js';
import type { ConcreteStage, Pipeline } from './pipeline-types.js';
import type { StageKind, StageRegistry } from './stage-kind.js';
import type { StatCache } from './stat-cache.js';
import type { StateIndex } from './state-index.js';
import { type StageRecord, type Store, subtreeDigest, type TreeManifest } from './store.js';
import { ToolProbe } from './tools.js';

/** Where a stage stands once its upstream is known. */
export type StageState =
  | {
      status: 'fresh';
      key: string;
      record: KeyRecord;
      /** The tree to expose: the stage record's, or for assumed-fresh the previous one's. */
      outputTree: string;
      manifest: TreeManifest;
      reason: StageReason;
      /** Set when the stage is accepted under a new key from the previous execution. */
      assumedFrom?: StageRecord;
    }
  | {
      status: 'stale';
      key: string;
      record: KeyRecord;
      reason: StageReason;
      previous?: StageRecord;
      /** Why it cannot run even so (an input path its upstream did not produce). */
      problem?: string;
    }
  | { status: 'blocked'; reason: StageReason };

/** `f`, called at most once, when first needed. */
function once<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}

export interface PlanOptions {
  force: ReadonlySet<string>;
  assumeFresh: ReadonlySet<string>;
  /** What the last run left: an up-to-date stage it names costs stats, not reads. */
  index?: StateIndex;
}

export class Planner {
  private readonly manifests = new Map<string, TreeManifest>();
  /** One per plan (a run, a status): packages are read and tools run once each. Its
   * owner calls `saveCaches` (like the stat cache's `save`) when the plan is done. */
  readonly packages: PackageReader;
  private readonly tools: ToolProbe;
  readonly byId: Map<string, ConcreteStage>;

  constructor(
    readonly pipeline: Pipeline,
    readonly registry: StageRegistry,
    readonly store: Store,
    readonly statCache: StatCache,
    readonly workspace: string,
    readonly options: PlanOptions,
  ) {
    this.byId = new Map(pipeline.stages.map((s) => [s.id, s]));
    this.packages = new PackageReader(path.join(store.cacheDir, 'package-cache.json'));
    openCodeCache(path.join(store.cacheDir, 'code-cache.json'));
    this.tools = new ToolProbe(workspace);
  }

  /** Keeps what this plan read of installed packages and of the kinds' code for the next. */
  saveCaches(): void {
    this.packages.save();
    saveCodeCache();
  }

  kindOf(stage: ConcreteStage): StageKind {
    const kind = this.registry.get(stage.kind);
    if (!kind) throw new Error(`stage kind '${stage.kind}' is not registered`);
    return kind;
  }

  manifest(treeDigest: string): TreeManifest {
    let m = this.manifests.get(treeDigest);
    if (!m) {
      m = this.store.readTree(treeDigest);
      this.manifests.set(treeDigest, m);
    }
    return m;
  }

  /**
   * The output tree under `key` with its manifest, when the record and the tree are there:
   * from the state index when its stamps hold, else from the store (reading the manifest is
   * the check that the output tree exists, `Store.readRecord`'s, done once).
   */
  private finished(
    stageId: string,
    key: string,
  ): { tree: string; manifest: TreeManifest } | undefined {
    const indexed = this.options.index?.finished(stageId, key);
    if (indexed) {
      if (!this.manifests.has(indexed.tree)) this.manifests.set(indexed.tree, indexed.manifest);
      return indexed;
    }
    const record = this.store.readRecordFile(key);
    if (!record) return undefined;
    try {
      return { tree: record.outputTree, manifest: this.manifest(record.outputTree) };
    } catch {
      return undefined;
    }
  }

  /** Ids a stage reads from, in declared order, without repeats. */
  upstreamOf(stage: ConcreteStage): string[] {
    return [...new Set(stage.inputs.flatMap((i) => i.refs.map((r) => r.stageId)))];
  }

  /**
   * Digests of a stage's inputs, given its upstream trees. A path the upstream did not
   * produce gets a placeholder digest and a line in `problems` (the stage then fails).
   */
  inputDigests(
    stage: ConcreteStage,
    treeOf: (stageId: string) => string,
    problems: string[],
  ): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const input of stage.inputs) {
      const digests = input.refs.map((ref) => {
        const d = subtreeDigest(this.manifest(treeOf(ref.stageId)), ref.path);
        if (d !== undefined) return d;
        problems.push(
          `input '${input.name}': '${ref.path}' is not in the output of ${ref.stageId}`,
        );
        return `missing:${ref.stageId}:${ref.path}`;
      });
      out[input.name] = digests;
    }
    return out;
  }

  depDigests(stage: ConcreteStage): Record<string, string> {
    const out: Record<string, string> = {};
    const missing: Diagnostic[] = [];
    for (const dep of stage.deps) {
      const d = this.statCache.pathDigest(path.resolve(this.workspace, dep));
      if (d === undefined)
        missing.push({
          severity: 'error',
          message: `stage '${stage.id}': dep '${dep}' does not exist in the workspace`,
          location: stage.location,
        });
      else out[dep] = d;
    }
    if (missing.length > 0) throw new UserError(missing);
    return out;
  }

  /** What each of the stage's tools printed; a tool that fails is the user's to fix. */
  toolOutputs(stage: ConcreteStage): Record<string, string> {
    const out: Record<string, string> = {};
    const failed: Diagnostic[] = [];
    for (const command of stage.tools) {
      const result = this.tools.probe(command);
      if (result.ok) out[command] = result.output;
      else
        failed.push({
          severity: 'error',
          message: `stage '${stage.id}': tool '${command}' ${result.message}`,
          location: stage.location,
          hint: 'a tool command must exit 0; it runs with /bin/sh in the workspace',
        });
    }
    if (failed.length > 0) throw new UserError(failed);
    return out;
  }

  /**
   * The state of `stage` given the trees of its upstream stages (all fresh). `force`d stages
   * are stale; an `assumeFresh` stage whose only changes are its code, packages or tools
   * takes the old output, and its reason says what was accepted.
   */
  decide(stage: ConcreteStage, treeOf: (stageId: string) => string): StageState {
    const problems: string[] = [];
    const kind = this.kindOf(stage);
    const { key, record } = keyOf({
      kind,
      params: stage.params,
      inputs: this.inputDigests(stage, treeOf, problems),
      deps: this.depDigests(stage),
      packages: this.packages.versionsOf(kind.module, kind.runtimePackages),
      tools: this.toolOutputs(stage),
    });
    // The last execution matters only for a stage that will run: an up-to-date one (most
    // of a 10,000-stage status) costs its record and manifest, not its head as well.
    const previous = once(() => {
      const previousKey = this.store.readHead(stage.id);
      return previousKey ? this.store.readRecord(previousKey) : undefined;
    });
    const stale = (reason: StageReason): StageState => {
      const last = previous();
      return {
        status: 'stale',
        key,
        record,
        reason,
        ...(last ? { previous: last } : {}),
        ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
      };
    };
    if (this.options.force.has(stage.id)) return stale({ type: 'forced' });
    const existing = problems.length === 0 ? this.finished(stage.id, key) : undefined;
    if (existing) {
      return {
        status: 'fresh',
        key,
        record,
        outputTree: existing.tree,
        manifest: existing.manifest,
        reason: { type: 'up-to-date' },
      };
    }
    if (fs.existsSync(this.store.recordPath(key))) return stale({ type: 'output-missing' });
    const last = previous();
    if (!last) return stale({ type: 'never-run' });
    const reason = reasonFor(stage, last.keyRecord, record);
    // The reason is an environment change only when params, inputs and deps are unchanged.
    const accepted = environmentChanges(last.keyRecord, record);
    if (
      accepted[0]?.type === reason.type &&
      this.options.assumeFresh.has(stage.id) &&
      problems.length === 0
    ) {
      return {
        status: 'fresh',
        key,
        record,
        outputTree: last.outputTree,
        manifest: this.manifest(last.outputTree),
        reason: { type: 'assumed-fresh', accepted },
        assumedFrom: last,
      };
    }
    return stale(reason);
  }

  /**
   * `status` / `run --dry-run`: every selected stage with whether it will run and why.
   * Stages downstream of a stale one are reported as `upstream-will-run` (their key is not
   * known until the upstream has run; early cutoff may still spare them).
   */
  plan(selected: ReadonlySet<string>): { entries: StatusEntry[]; states: Map<string, StageState> } {
    const states = new Map<string, StageState>();
    const entries: StatusEntry[] = [];
    for (const stage of this.pipeline.stages) {
      if (!selected.has(stage.id)) continue;
      const ups = this.upstreamOf(stage);
      const waiting = ups.filter((id) => states.get(id)?.status !== 'fresh');
      let state: StageState;
      if (waiting.length > 0 && !this.options.force.has(stage.id)) {
        state = { status: 'blocked', reason: { type: 'upstream-will-run', stageIds: waiting } };
      } else if (waiting.length > 0) {
        state = { status: 'blocked', reason: { type: 'forced' } };
      } else {
        state = this.decide(stage, (id) => {
          const s = states.get(id);
          if (s?.status !== 'fresh') throw new Error(`upstream ${id} has no output`);
          return s.outputTree;
        });
      }
      states.set(stage.id, state);
      entries.push({
        id: stage.id,
        name: stage.name,
        kind: stage.kind,
        willRun: state.status !== 'fresh',
        reason: state.reason,
      });
    }
    return { entries, states };
  }
}

/**
 * Stage ids named by targets (a stage id or a foreach group name) plus everything they read
 * from, transitively. No targets: the whole pipeline. Unknown names are user errors.
 */
export function selectStages(pipeline: Pipeline, targets: readonly string[]): Set<string> {
  if (targets.length === 0) return new Set(pipeline.stages.map((s) => s.id));
  const byId = new Map(pipeline.stages.map((s) => [s.id, s]));
  const selected = new Set<string>();
  const unknown: Diagnostic[] = [];
  const visit = (id: string): void => {
    if (selected.has(id)) return;
    selected.add(id);
    for (const input of byId.get(id)?.inputs ?? [])
      for (const ref of input.refs) visit(ref.stageId);
  };
  for (const target of targets) {
    const ids = pipeline.groups[target] ?? (byId.has(target) ? [target] : undefined);
    if (!ids) {
      unknown.push({
        severity: 'error',
        message: `no stage or stage group named '${target}'; known: ${Object.keys(pipeline.groups).join(', ')}`,
      });
      continue;
    }
    for (const id of ids) visit(id);
  }
  if (unknown.length > 0) throw new UserError(unknown);
  return selected;
}

/** `--force train` / `--assume-fresh train`: group names expand to their stage ids. */
export function expandNames(
  pipeline: Pipeline,
  names: readonly string[],
  flag: string,
): Set<string> {
  const out = new Set<string>();
  for (const name of names) {
    const ids = pipeline.groups[name] ?? (pipeline.stages.some((s) => s.id === name) ? [name] : []);
    if (ids.length === 0)
      throw new UserError([
        { severity: 'error', message: `${flag} '${name}': no stage or stage group by that name` },
      ]);
    for (const id of ids) out.add(id);
  }
  return out;
}
