/**
 * Digests of workspace files (a stage's `deps`) keyed by what `stat` says, so `status` and
 * `run` never re-hash a file whose size, mtime and inode are unchanged. Persisted at
 * `cache/stat-cache.json`. It never hashes a file twice in one process and never trusts an
 * entry whose stat differs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  hashFileSync,
  listFiles,
  makeManifest,
  sha256,
  treeJson,
  writeFileAtomic,
} from './store.js';

interface Entry {
  size: number;
  mtimeMs: number;
  ino: number;
  digest: string;
}

export class StatCache {
  private entries: Record<string, Entry>;
  private dirty = false;
  /** How many files were actually read this process (for tests and the bench). */
  hashed = 0;

  constructor(private readonly file: string) {
    try {
      this.entries = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Entry>;
    } catch {
      this.entries = {};
    }
  }

  /** Digest of one regular file, from the cache when its stat is unchanged. */
  fileDigest(abs: string, st: fs.Stats = fs.statSync(abs)): { digest: string; size: number } {
    const hit = this.entries[abs];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs && hit.ino === st.ino) {
      return { digest: hit.digest, size: hit.size };
    }
    const { digest, size } = hashFileSync(abs);
    this.hashed += 1;
    this.entries[abs] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, digest };
    this.dirty = true;
    return { digest, size };
  }

  /**
   * Digest of a workspace path: a file's content digest, or for a directory the digest of
   * its tree manifest (the same form as stage outputs). Undefined when the path is missing.
   */
  pathDigest(abs: string): string | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      return undefined;
    }
    if (st.isFile()) return this.fileDigest(abs, st).digest;
    if (!st.isDirectory()) return undefined;
    const entries = listFiles(abs).map((rel) => {
      const file = path.join(abs, rel);
      const fst = fs.statSync(file);
      const { digest, size } = this.fileDigest(file, fst);
      return { path: rel, digest, size, mode: (fst.mode & 0o111) !== 0 ? 0o755 : 0o644 };
    });
    return sha256(treeJson(makeManifest(entries)));
  }

  save(): void {
    if (!this.dirty) return;
    writeFileAtomic(this.file, JSON.stringify(this.entries), { durable: false });
    this.dirty = false;
  }
}
