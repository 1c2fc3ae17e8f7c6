/**
 * `gc`: keeps the last finished execution of every stage id (its head record, its tree and
 * the objects in it) and deletes every other record, every object none of them reference,
 * and temp leftovers of crashed runs. Runs under the workspace lock. It never deletes an
 * object a kept record reaches, and it deletes records before the objects they name, so a
 * kill midway leaves no record pointing at a missing object.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Store } from './store.js';

export interface GcReport {
  recordsRemoved: number;
  objectsRemoved: number;
  objectsKept: number;
  bytesFreed: number;
}

/** Every object file under objects/, as [digest, absolute path]; temp leftovers apart. */
export function listObjects(store: Store): { objects: [string, string][]; leftovers: string[] } {
  const objects: [string, string][] = [];
  const leftovers: string[] = [];
  let shards: string[] = [];
  try {
    shards = fs.readdirSync(store.objectsDir);
  } catch {
    return { objects, leftovers };
  }
  for (const shard of shards) {
    const dir = path.join(store.objectsDir, shard);
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (name.includes('.tmp-')) leftovers.push(file);
      else objects.push([shard + name, file]);
    }
  }
  return { objects, leftovers };
}

export function collectGarbage(store: Store, opts: { dryRun: boolean }): GcReport {
  const keep = new Set(store.listHeads().values());
  const referenced = new Set<string>();
  for (const key of keep) {
    const record = store.readRecord(key);
    if (!record) continue;
    referenced.add(record.outputTree);
    for (const entry of store.readTree(record.outputTree).entries) referenced.add(entry.digest);
  }
  let recordsRemoved = 0;
  for (const key of store.listRecordKeys()) {
    if (keep.has(key)) continue;
    recordsRemoved += 1;
    if (!opts.dryRun) store.deleteRecord(key);
  }
  const { objects, leftovers } = listObjects(store);
  let objectsRemoved = 0;
  let bytesFreed = 0;
  for (const [digest, file] of objects) {
    if (referenced.has(digest)) continue;
    objectsRemoved += 1;
    bytesFreed += fs.statSync(file).size;
    if (!opts.dryRun) fs.rmSync(file);
  }
  for (const file of leftovers) {
    bytesFreed += fs.statSync(file).size;
    if (!opts.dryRun) fs.rmSync(file);
  }
  if (!opts.dryRun) fs.rmSync(store.tmpDir, { recursive: true, force: true });
  return {
    recordsRemoved,
    objectsRemoved,
    objectsKept: objects.length - objectsRemoved,
    bytesFreed,
  };
}
