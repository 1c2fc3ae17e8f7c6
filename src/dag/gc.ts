/**
 * `gc`: keeps the last finished execution of every stage id (its head record, its tree and
 * the objects in it) and deletes every other record, every object none of them reference,
 * and temp leftovers of crashed runs. Scratch dirs (a stage's resumable work, by key) go when
 * their key has finished; those of unfinished stages are kept unless asked, since deleting
 * them throws away epochs a rerun would resume from. Runs under the workspace lock. It never deletes an
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
  scratchRemoved: number;
  scratchKept: number;
  scratchBytesKept: number;
  bytesFreed: number;
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(file);
    else if (entry.isFile()) total += fs.statSync(file).size;
  }
  return total;
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

export function collectGarbage(
  store: Store,
  opts: { dryRun: boolean; scratch: boolean },
): GcReport {
  const keep = new Set(store.listHeads().values());
  const finished = new Set(store.listRecordKeys());
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
  let scratchRemoved = 0;
  let scratchKept = 0;
  let scratchBytesKept = 0;
  const scratchKeys = fs.existsSync(store.scratchRoot) ? fs.readdirSync(store.scratchRoot) : [];
  for (const key of scratchKeys) {
    const dir = path.join(store.scratchRoot, key);
    const bytes = bytesUnder(dir);
    if (opts.scratch || finished.has(key)) {
      scratchRemoved += 1;
      bytesFreed += bytes;
      if (!opts.dryRun) fs.rmSync(dir, { recursive: true, force: true });
    } else {
      scratchKept += 1;
      scratchBytesKept += bytes;
    }
  }
  return {
    recordsRemoved,
    objectsRemoved,
    objectsKept: objects.length - objectsRemoved,
    scratchRemoved,
    scratchKept,
    scratchBytesKept,
    bytesFreed,
  };
}
