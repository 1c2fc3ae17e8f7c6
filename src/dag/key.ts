/**
 * The cache key of a stage: sha256 of the canonical JSON of a typed record. Everything
 * that can change a stage's output and that the engine can see is a field below, with why;
 * everything else (the ML backend, absolute paths, timestamps, the stage id) is deliberately
 * absent so the cache survives moves between machines. What no field covers (the OS, the
 * CPU, environment variables, Node itself) is listed in docs/caching.md. Pure; never reads
 * files (digests and versions are computed elsewhere and handed in).
 */
import { hash } from 'node:crypto';
import type { StageReason } from './events.js';
import type { Json, JsonObject } from './pipeline-types.js';

/** Bump when the meaning of a record changes, so old cache entries are not trusted. */
export const KEY_SCHEMA_VERSION = 2;

export interface KeyRecord {
  /** The key format itself: a new format must never collide with an old entry. */
  schemaVersion: number;
  /** Two kinds given equal params and inputs still do different things. */
  kind: string;
  /** sha256 of the kind's module and its local imports, comments and formatting removed:
   * editing what a kind does must rerun it, reformatting it must not. */
  codeFingerprint: string;
  /** The stage's own (declared, validated) params only, not the whole tree: changing
   * `attacks.pgd.eps` must not rerun training. */
  params: JsonObject;
  /** Input name -> digests of the upstream artifacts, in ref order (a `many` input is a
   * list). Digests, not stage ids or paths: renaming an upstream stage that produces the
   * same bytes changes nothing, and identical upstream output stops invalidation. */
  inputs: Record<string, string[]>;
  /** Workspace-relative dep path -> content digest: a command's script is part of what it does. */
  deps: Record<string, string>;
  /** Package name -> installed version(s), each with the lockfile's integrity hash where
   * there is one, of every package the kind's code imports, transitively: a new library
   * (`npm update`) can change the numbers as much as an edit can. The ML backend's
   * packages are left out (provenance records them). */
  packages: Record<string, string[]>;
  /** A command stage's declared `tools:` command -> what it printed (see toolOutput). */
  tools: Record<string, string>;
}

/**
 * JSON with object keys sorted at every depth, so key order in the YAML cannot matter.
 * Written as loops (a planner computes it for every stage of a 10,000-stage pipeline).
 */
export function canonicalJson(value: Json): string {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`canonicalJson: ${value} has no JSON form`);
    }
    return JSON.stringify(value);
  }
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item = value[i];
      // as JSON.stringify and Array#join would: a hole or undefined becomes nothing
      if (item !== undefined) out += canonicalJson(item);
    }
    return `${out}]`;
  }
  out = '{';
  for (const k of Object.keys(value).sort()) {
    const item = value[k];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/**
 * sha256 hex of the record's canonical JSON. One-shot `hash` (Node >= 20.12): a hash object
 * per key cost ~10 us, a tenth of planning a 10,000-stage status.
 */
export function computeKey(record: KeyRecord): string {
  return hash('sha256', canonicalJson(record as unknown as Json), 'hex');
}

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

type ParamChange = { path: string; from: Json | undefined; to: Json | undefined };

/** Leaf-level differences as dotted paths; lists are compared as whole values. */
export function diffParams(
  from: Json | undefined,
  to: Json | undefined,
  prefix = '',
): ParamChange[] {
  if (isObject(from) && isObject(to)) {
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    return keys.flatMap((k) => diffParams(from[k], to[k], prefix ? `${prefix}.${k}` : k));
  }
  if (from !== undefined && to !== undefined && canonicalJson(from) === canonicalJson(to))
    return [];
  if (from === undefined && to === undefined) return [];
  return [{ path: prefix, from, to }];
}

const sameList = (a: string[] | undefined, b: string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

function changedNames<T>(
  from: Record<string, T>,
  to: Record<string, T>,
  same: (a: T | undefined, b: T | undefined) => boolean,
): string[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  return names.filter((n) => !same(from[n], to[n]));
}

/** The version part of a package id (`4.22.0 sha512-...` -> `4.22.0`), for messages. */
const versionOf = (id: string): string => id.split(' ')[0] as string;

function packageChanges(
  from: Record<string, string[]>,
  to: Record<string, string[]>,
): { name: string; from: string[]; to: string[] }[] {
  return changedNames(from, to, sameList).map((name) => ({
    name,
    from: (from[name] ?? []).map(versionOf),
    to: (to[name] ?? []).map(versionOf),
  }));
}

/** Changes of the code a stage runs rather than of what it is given: what --assume-fresh may accept. */
export type EnvironmentChange = Extract<
  StageReason,
  { type: 'tools-changed' | 'packages-changed' | 'code-changed' }
>;

/** Every way the tools, packages and code of `next` differ from `previous`, in that order. */
export function environmentChanges(previous: KeyRecord, next: KeyRecord): EnvironmentChange[] {
  const codeChanged: EnvironmentChange = { type: 'code-changed', kind: next.kind };
  // A record of another key format (an older advrob-dag) lacks fields to compare with.
  if (previous.schemaVersion !== next.schemaVersion) return [codeChanged];
  const changes: EnvironmentChange[] = [];
  const tools = changedNames(previous.tools, next.tools, (a, b) => a === b);
  if (tools.length)
    changes.push({
      type: 'tools-changed',
      tools: tools.map((command) => ({
        command,
        from: previous.tools[command],
        to: next.tools[command],
      })),
    });
  const packages = packageChanges(previous.packages, next.packages);
  if (packages.length) changes.push({ type: 'packages-changed', packages });
  if (previous.codeFingerprint !== next.codeFingerprint || previous.kind !== next.kind)
    changes.push(codeChanged);
  return changes;
}

/**
 * Why `next` differs from the last recorded `previous`, without hashes. When several
 * things changed, the first of params, inputs, deps, tools, packages, code is reported: the
 * one a user most likely did on purpose.
 */
export function explainChange(previous: KeyRecord | undefined, next: KeyRecord): StageReason {
  if (!previous) return { type: 'never-run' };
  const params = diffParams(previous.params, next.params);
  if (params.length) return { type: 'params-changed', changes: params };
  const inputs = changedNames(previous.inputs, next.inputs, sameList);
  if (inputs.length) return { type: 'input-changed', inputs: inputs.map((name) => ({ name })) };
  const deps = changedNames(previous.deps, next.deps, (a, b) => a !== undefined && a === b);
  if (deps.length) return { type: 'deps-changed', paths: deps };
  return environmentChanges(previous, next)[0] ?? { type: 'up-to-date' };
}
