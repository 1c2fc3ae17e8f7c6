/**
 * `verify`: re-hashes every object in the store and checks that every stage record's tree
 * and files are present. Reports; never repairs or deletes (a corrupt object is named with
 * the stages that use it, so the user can `run --force` them).
 */
import { listObjects } from './gc.js';
import { hashFileSync, type Store } from './store.js';

export interface VerifyReport {
  objectsChecked: number;
  /** Objects whose content no longer hashes to their name. */
  corrupt: { digest: string; actual: string; usedBy: string[] }[];
  /** Objects a record needs that are absent. */
  missing: { digest: string; usedBy: string[] }[];
  recordsChecked: number;
}

export function verifyStore(store: Store): VerifyReport {
  const usedBy = new Map<string, string[]>();
  const use = (digest: string, stageId: string): void => {
    const list = usedBy.get(digest) ?? [];
    if (!list.includes(stageId)) list.push(stageId);
    usedBy.set(digest, list);
  };
  const missing: VerifyReport['missing'] = [];
  const keys = store.listRecordKeys();
  for (const key of keys) {
    const record = store.readRecordFile(key);
    if (!record) continue;
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
  return { objectsChecked: objects.length, corrupt, missing, recordsChecked: keys.length };
}
