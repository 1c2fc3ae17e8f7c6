/**
 * `cache/state-index.json`: what the last run left, per stage id: the key it settled under,
 * its output tree and manifest, the stat stamps of the files that say so (the stage record,
 * the tree object, the head) and the view marker. `status` and a no-op `run` check the
 * stamps (one stat per file) instead of reading and parsing a record and a manifest per
 * stage: at 10,000 stages that is 10,000 stats against 20,000 reads.
 *
 * It is a cache, never the truth: an entry counts only while every file it names stats as
 * it did when the run wrote it, so gc, verify --repair, a hand-deleted or rewritten record,
 * object or head each make that entry (not the others) fall back to reading the store. The
 * index is deleted before any view is rebuilt, so the view markers copied here are never
 * older than a view on disk (a run killed after that leaves none), and a run writes a new
 * one at its end when it settled anything the index did not hold: a no-op run writes
 * nothing. Written without fsync: after a power loss an older index may come back, and its
 * stamps still decide.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ViewIndex, ViewMarker } from './artifacts-view.js';
import { idFileName, type Store, type TreeManifest, writeFileAtomic } from './store.js';

/** size, mtimeMs, ino: a file is taken as unchanged while all three are. */
export type Stamp = [number, number, number];

interface Entry {
  key: string;
  tree: string;
  entries: TreeManifest['entries'];
  /** cache/stages/<key>.json */
  record: Stamp;
  /** the tree manifest's object */
  treeObject: Stamp;
  /** cache/heads/<id>, when it held `key` */
  head: Stamp | null;
  view: ViewMarker | null;
}

/** Bump when an entry changes shape or meaning. */
const FORMAT = 1;

export function statStamp(file: string): Stamp | undefined {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st ? [st.size, st.mtimeMs, st.ino] : undefined;
}

const sameStamp = (a: Stamp | null | undefined, b: Stamp | undefined): boolean =>
  a != null && b !== undefined && a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

/** What a stage settled as in a run, for the next index. */
export interface SettledStage {
  key: string;
  tree: string;
  manifest: TreeManifest;
}

export class StateIndex implements ViewIndex {
  /** Whether the file was deleted (a view was about to change). */
  private removed = false;
  /** Entries whose record and tree stamps were checked and held in this process. */
  private readonly held = new Set<string>();
  /** Stage ids whose head was checked and held `key` in this process. */
  private readonly heldHeads = new Set<string>();

  private constructor(
    private readonly store: Store,
    private readonly stages: Map<string, Entry>,
  ) {}

  static file(store: Store): string {
    return path.join(store.cacheDir, 'state-index.json');
  }

  /** The index as the last run left it; empty when there is none or it cannot be read. */
  static read(store: Store): StateIndex {
    const stages = new Map<string, Entry>();
    try {
      const doc = JSON.parse(fs.readFileSync(StateIndex.file(store), 'utf8')) as {
        format?: number;
        stages?: Record<string, Entry>;
      };
      if (doc.format === FORMAT && doc.stages)
        for (const [id, entry] of Object.entries(doc.stages)) stages.set(id, entry);
    } catch {
      // none yet (or unreadable): every stage reads the store
    }
    return new StateIndex(store, stages);
  }

  static remove(store: Store): void {
    fs.rmSync(StateIndex.file(store), { force: true });
  }

  /** A view is about to be rebuilt: no index on disk until the run writes its own. */
  invalidate(): void {
    if (this.removed) return;
    StateIndex.remove(this.store);
    this.removed = true;
  }

  /**
   * The output of `stageId` under `key` when the index has it and its record and tree
   * object are still the files it saw; undefined sends the caller to the store.
   */
  finished(stageId: string, key: string): { tree: string; manifest: TreeManifest } | undefined {
    const entry = this.stages.get(stageId);
    if (entry?.key !== key) return undefined;
    if (!this.held.has(stageId)) {
      if (
        !sameStamp(entry.record, statStamp(this.store.recordPath(key))) ||
        !sameStamp(entry.treeObject, statStamp(this.store.objectPath(entry.tree)))
      ) {
        this.stages.delete(stageId);
        return undefined;
      }
      this.held.add(stageId);
    }
    return { tree: entry.tree, manifest: { type: 'tree', entries: entry.entries } };
  }

  /** Whether the head of `stageId` is, by its stamp, still the file that held `key`. */
  headIs(stageId: string, key: string): boolean {
    const entry = this.stages.get(stageId);
    const held =
      entry?.key === key &&
      sameStamp(entry.head, statStamp(path.join(this.store.headsDir, idFileName(stageId))));
    if (held) this.heldHeads.add(stageId);
    return held;
  }

  /** The view marker of `stageId` as the last run left it. */
  viewMarker(stageId: string): ViewMarker | undefined {
    return this.stages.get(stageId)?.view ?? undefined;
  }

  /** Whether the index on disk already says all of `settled` (nothing to write). */
  holds(settled: ReadonlyMap<string, SettledStage>): boolean {
    if (this.removed) return false;
    for (const [id, s] of settled) {
      const entry = this.stages.get(id);
      if (
        entry?.key !== s.key ||
        entry.tree !== s.tree ||
        !this.held.has(id) ||
        !this.heldHeads.has(id)
      )
        return false;
    }
    return true;
  }

  /**
   * Writes the index for the stages a run settled (`settled`), keeping the entries of
   * `others` (pipeline stages the run did not select, unchanged by it). Stamps already
   * checked in this process are kept; the rest are taken now.
   */
  save(
    settled: ReadonlyMap<string, SettledStage>,
    others: Iterable<string>,
    viewMarker: (stageId: string) => ViewMarker | undefined,
  ): void {
    const out: Record<string, Entry> = {};
    for (const id of others) {
      const entry = this.stages.get(id);
      if (entry) out[id] = entry;
    }
    for (const [id, s] of settled) {
      const entry = this.entryFor(id, s, viewMarker(id));
      if (entry) out[id] = entry;
    }
    writeFileAtomic(StateIndex.file(this.store), JSON.stringify({ format: FORMAT, stages: out }), {
      durable: false,
    });
  }

  private entryFor(
    stageId: string,
    s: SettledStage,
    view: ViewMarker | undefined,
  ): Entry | undefined {
    const old = this.stages.get(stageId);
    const held = old?.key === s.key && old.tree === s.tree && this.held.has(stageId);
    const record = held ? old.record : statStamp(this.store.recordPath(s.key));
    const treeObject = held ? old.treeObject : statStamp(this.store.objectPath(s.tree));
    if (!record || !treeObject) return undefined;
    return {
      key: s.key,
      tree: s.tree,
      entries: s.manifest.entries,
      record,
      treeObject,
      head: held && this.heldHeads.has(stageId) ? old.head : this.headStamp(stageId, s.key),
      view: view ?? null,
    };
  }

  private headStamp(stageId: string, key: string): Stamp | null {
    if (this.store.readHead(stageId) !== key) return null;
    return statStamp(path.join(this.store.headsDir, idFileName(stageId))) ?? null;
  }
}
