/**
 * `verify`: re-hashes every object in the store, checks that every stage record parses as
 * the record of its key and that its tree and files are present, and that every head holds a
 * key. It only reads; `repairStore` is the separate step that removes what
 * it found, so the next `run` re-executes exactly the stages whose outputs were damaged.
 */
import * as fs from 'node:fs';
import { listObjects } from './gc.js';
import { hashFileSync, type Store } from './store.js';

export interface VerifyReport {
  objectsChecked: number;
  /** Objects whose content no longer hashes to their name. */
  corrupt: { digest: string; actual: string; usedBy: string[] }[];
  /** Objects a record needs that are absent. */
  missing: { digest: string; usedBy: string[] }[];
  recordsChecked: number;
  /** Record files that do not parse as the record of their key (`cache/stages/<key>.json`). */
  damagedRecords: { key: string; file: string; problem: string }[];
  /** Stage ids whose head file does not hold a key. */
  damagedHeads: string[];
}

export interface RepairReport {
  objectsRemoved: number;
  /** Damaged record and head files removed: their stages run again (keys unknown to us). */
  recordsRemoved: number;
  headsRemoved: number;
  /** Stage ids whose records were dropped: the next `run` executes them again. */
  stagesToRerun: string[];
}

/**
 * Deletes corrupt objects, then every record whose tree or files are not all intact, and the
 * heads naming those records. Keys are untouched, so a rerun that reproduces the same bytes
 * leaves every downstream stage cached (early cutoff), and a record is never left pointing at
 * content that is not what it says.
 */
export function repairStore(store: Store, report: VerifyReport): RepairReport {
  const bad = new Set([
    ...report.corrupt.map((c) => c.digest),
    ...report.missing.map((m) => m.digest),
  ]);
  for (const c of report.corrupt) fs.rmSync(store.objectPath(c.digest), { force: true });
  for (const d of report.damagedRecords) store.deleteRecord(d.key);
  for (const id of report.damagedHeads) store.deleteHead(id);
  const dropped = new Set<string>();
  const heads = store.listHeads();
  for (const key of store.listRecordKeys()) {
    const record = store.readRecordFile(key);
    if (!record) continue;
    let digests = [record.outputTree];
    try {
      if (!bad.has(record.outputTree))
        digests = digests.concat(store.readTree(record.outputTree).entries.map((e) => e.digest));
    } catch {
      bad.add(record.outputTree);
    }
    if (!digests.some((d) => bad.has(d))) continue;
    store.deleteRecord(key);
    if (heads.get(record.stageId) === key) store.deleteHead(record.stageId);
    dropped.add(record.stageId);
  }
  return {
    objectsRemoved: report.corrupt.length,
    recordsRemoved: report.damagedRecords.length,
    headsRemoved: report.damagedHeads.length,
    stagesToRerun: [...dropped].sort(),
  };
}

export function verifyStore(store: Store): VerifyReport {
  const usedBy = new Map<string, string[]>();
  const use = (digest: string, stageId: string): void => {
    const list = usedBy.get(digest) ?? [];
    if (!list.includes(stageId)) list.push(stageId);
    usedBy.set(digest, list);
  };
  const missing: VerifyReport['missing'] = [];
  const damagedRecords: VerifyReport['damagedRecords'] = [];
  const keys = store.listRecordKeys();
  for (const key of keys) {
    const read = store.inspectRecord(key);
    if ('problem' in read) {
      damagedRecords.push({ key, file: store.recordPath(key), problem: read.problem });
      continue;
    }
    const record = read.record;
    use(record.outputTree, record.stageId);
    let entries: { digest: string }[] = [];
    try {
      entries = store.readTree(record.outputTree).entries;
    } catch {
      // unreadable tree: reported as corrupt below
    }
    for (const entry of entries) use(entry.digest, record.stageId);
  }
  const { objects } = listObjects(store);
  const present = new Set<string>();
  const corrupt: VerifyReport['corrupt'] = [];
  for (const [digest, file] of objects) {
    present.add(digest);
    const actual = hashFileSync(file).digest;
    if (actual !== digest) corrupt.push({ digest, actual, usedBy: usedBy.get(digest) ?? [] });
  }
  for (const [digest, users] of usedBy)
    if (!present.has(digest)) missing.push({ digest, usedBy: users });
  return {
    objectsChecked: objects.length,
    corrupt,
    missing,
    recordsChecked: keys.length,
    damagedRecords,
    damagedHeads: store.damagedHeads(),
  };
}
