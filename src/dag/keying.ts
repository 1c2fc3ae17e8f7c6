/**
 * The engine's one door to cache keys: builds a stage's key record (engine-core's KeyRecord)
 * from its kind, params, input/dep digests, package versions and tool outputs, hashes it
 * with `computeKey`, and explains changes with `explainChange`. Pure apart from engine-core's
 * code fingerprint (reads the kind's module files once per process).
 */
import type { StageReason } from './events.js';
import { codeFingerprint } from './fingerprint.js';
import { computeKey, explainChange, KEY_SCHEMA_VERSION, type KeyRecord } from './key.js';
import type { ConcreteStage, JsonObject } from './pipeline-types.js';
import type { StageKind } from './stage-kind.js';

export type { KeyRecord };

export function keyOf(parts: {
  kind: StageKind;
  params: JsonObject;
  inputs: Record<string, string[]>;
  deps: Record<string, string>;
  packages: Record<string, string[]>;
  tools: Record<string, string>;
}): { key: string; record: KeyRecord } {
  const record: KeyRecord = {
    schemaVersion: KEY_SCHEMA_VERSION,
    kind: parts.kind.kind,
    codeFingerprint: codeFingerprint(parts.kind.module),
    params: parts.params,
    inputs: parts.inputs,
    deps: parts.deps,
    packages: parts.packages,
    tools: parts.tools,
  };
  return { key: computeKey(record), record };
}

/** explainChange, with each changed input named by the stage (and path) it comes from. */
export function reasonFor(stage: ConcreteStage, prev: KeyRecord, next: KeyRecord): StageReason {
  const reason = explainChange(prev, next);
  if (reason.type !== 'input-changed') return reason;
  return {
    type: 'input-changed',
    inputs: reason.inputs.map((i) => {
      const input = stage.inputs.find((x) => x.name === i.name);
      const ref = input && !input.many ? input.refs[0] : undefined;
      return ref
        ? { name: i.name, stageId: ref.stageId, ...(ref.path ? { path: ref.path } : {}) }
        : i;
    }),
  };
}
