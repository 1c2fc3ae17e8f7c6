/**
 * The engine's one door to cache keys: builds a stage's key record (engine-core's KeyRecord)
 * from its kind, params and input/dep digests, hashes it with `computeKey`, and explains
 * changes with `explainChange`. Pure apart from reading a kind's code fingerprint, which
 * is memoized per module.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StageReason } from './events.js';
import { computeKey, explainChange, KEY_SCHEMA_VERSION, type KeyRecord } from './key.js';
import type { ConcreteStage, JsonObject } from './pipeline-types.js';
import type { StageKind } from './stage-kind.js';
import { sha256 } from './store.js';

export type { KeyRecord };

const fingerprints = new Map<string, string>();

export function codeFingerprint(moduleUrl: string): string {
  let fp = fingerprints.get(moduleUrl);
  if (!fp) {
    fp = sha256(fs.readFileSync(fileURLToPath(moduleUrl)));
    fingerprints.set(moduleUrl, fp);
  }
  return fp;
}

export function keyOf(parts: {
  kind: StageKind;
  params: JsonObject;
  inputs: Record<string, string[]>;
  deps: Record<string, string>;
}): { key: string; record: KeyRecord } {
  const record: KeyRecord = {
    schemaVersion: KEY_SCHEMA_VERSION,
    kind: parts.kind.kind,
    codeFingerprint: codeFingerprint(parts.kind.module),
    params: parts.params,
    inputs: parts.inputs,
    deps: parts.deps,
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
