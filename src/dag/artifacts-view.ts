/**
 * `artifacts/<stage-id>/…`: the human-readable view of each stage's current output, rebuilt
 * from a stage record's tree. Each file is its own copy of the object (a reflink where the
 * filesystem has them, so it costs no space there), never a hard link: whatever is done to
 * a view file (an editor writing in place, root ignoring the read-only bit) cannot reach the
 * store. A marker per stage keeps each file's size, mtime and inode as written, so a change
 * to the view is seen by stat alone and undone by the next `run`. A view is built beside its
 * final place and renamed in, so readers (and dependent stages) never see half a view.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { StateIndex } from './state-index.js';
import {
  hashFileSync,
  idFileName,
  type Store,
  type TreeManifest,
  writeFileAtomicAsync,
} from './store.js';

export interface ArtifactChange {
  stageId: string;
  /** Path inside the stage's view. */
  path: string;
  change: 'modified' | 'deleted' | 'added';
}

/** size, mtimeMs, ino of a view file as the view wrote it. */
type FileStamp = [number, number, number];

/** mtimeMs, ino of a directory of a view: unchanged while no entry is added, removed or renamed. */
type DirStamp = [number, number];

export interface ViewMarker {
  tree: string;
  files: Record<string, FileStamp>;
  /**
   * Every directory of the view ('' the view itself), backdated when built: while their
   * stamps hold, `files` is the listing, and checking a view costs no readdir.
   */
  dirs?: Record<string, DirStamp>;
}

/** Where view markers may come from besides their files: the state index. */
export interface ViewIndex {
  viewMarker(stageId: string): ViewMarker | undefined;
  /** Called before a view is rebuilt. */
  invalidate(): void;
}

/** How far a built view's directories are backdated: a later change can never restore it. */
const BACKDATE_MS = 2000;

const stampOf = (st: fs.Stats): FileStamp => [st.size, st.mtimeMs, st.ino];
const sameStamp = (a: FileStamp, b: FileStamp): boolean =>
  a[0] === b[0] && a[1] === b[1] && a[2] === b[2];

let stagings = 0;
/** Unique among the staging dirs of this process; a dead process's are swept under the lock. */
const stagingSuffix = (): string => `${process.pid}-${stagings++}`;

export class ArtifactsView {
  private readonly markers: string;
  /** Markers read or written in this process, by stage id. */
  private readonly known = new Map<string, ViewMarker>();

  /**
   * `index`: the markers as the last run left them (the state index), read before the
   * files, and told before any view is rebuilt (its copies would then be out of date).
   */
  constructor(
    readonly root: string,
    private readonly store: Store,
    private readonly index: ViewIndex = {
      viewMarker: () => undefined,
      invalidate: () => StateIndex.remove(store),
    },
  ) {
    this.markers = path.join(store.cacheDir, 'views');
  }

  /** The marker of the view of `stageId` as last built or checked in this process. */
  markerOf(stageId: string): ViewMarker | undefined {
    return this.known.get(stageId);
  }

  /** Removes half-built views a killed run left behind (call only under the run lock). */
  sweep(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return;
    }
    for (const name of names)
      if (name.startsWith('.building-'))
        fs.rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  dir(stageId: string): string {
    return path.join(this.root, idFileName(stageId));
  }

  /**
   * What was done to the view of `stageId` since it was built for `treeDigest`: files whose
   * content changed (a stat mismatch confirmed by hashing), deleted or added. Undefined when
   * the view was never built for that tree (there is nothing a user could have changed).
   */
  changes(
    stageId: string,
    treeDigest: string,
    manifest?: TreeManifest,
  ): ArtifactChange[] | undefined {
    const marker = this.readMarker(stageId);
    if (marker?.tree !== treeDigest) return undefined;
    return this.diff(stageId, marker, () => manifest ?? this.store.readTree(treeDigest)).changes;
  }

  /**
   * Makes `artifacts/<id>` show `treeDigest`, restoring any file changed since; returns what
   * it had to undo. A no-op (one stat per file) when the view is as built; a build creates
   * its directory and files on the threadpool.
   */
  async show(
    stageId: string,
    treeDigest: string,
    manifest?: TreeManifest,
  ): Promise<ArtifactChange[]> {
    const marker = this.readMarker(stageId);
    const tree = (): TreeManifest => manifest ?? this.store.readTree(treeDigest);
    let changes: ArtifactChange[] = [];
    if (marker?.tree === treeDigest) {
      const found = this.diff(stageId, marker, tree);
      if (found.asBuilt) return [];
      changes = found.changes;
    }
    await this.build(stageId, treeDigest, tree());
    return changes;
  }

  private readMarker(stageId: string): ViewMarker | undefined {
    const marker =
      this.known.get(stageId) ?? this.index.viewMarker(stageId) ?? this.readMarkerFile(stageId);
    if (marker) this.known.set(stageId, marker);
    return marker;
  }

  private readMarkerFile(stageId: string): ViewMarker | undefined {
    try {
      const marker = JSON.parse(
        fs.readFileSync(path.join(this.markers, idFileName(stageId)), 'utf8'),
      ) as ViewMarker;
      return typeof marker.tree === 'string' && typeof marker.files === 'object'
        ? marker
        : undefined;
    } catch {
      // none yet, or a marker from before views were copies: rebuild
      return undefined;
    }
  }

  /** `asBuilt`: every stat matches the marker, nothing added; `changes`: real differences. */
  private diff(
    stageId: string,
    marker: ViewMarker,
    tree: () => TreeManifest,
  ): { asBuilt: boolean; changes: ArtifactChange[] } {
    const dir = this.dir(stageId);
    const present =
      marker.dirs && dirsUnchanged(dir, marker.dirs)
        ? Object.keys(marker.files).sort()
        : listEntries(dir);
    const changes: ArtifactChange[] = [];
    let asBuilt = true;
    const expected = new Map<string, string>();
    for (const p of present) {
      const stamp = marker.files[p];
      if (stamp === undefined) {
        changes.push({ stageId, path: p, change: 'added' });
        continue;
      }
      const st = fs.lstatSync(path.join(dir, p), { throwIfNoEntry: false });
      if (st?.isFile() && sameStamp(stampOf(st), stamp)) continue;
      asBuilt = false;
      if (!st) {
        changes.push({ stageId, path: p, change: 'deleted' });
        continue;
      }
      if (expected.size === 0) for (const e of tree().entries) expected.set(e.path, e.digest);
      if (!st.isFile() || hashFileSync(path.join(dir, p)).digest !== expected.get(p))
        changes.push({ stageId, path: p, change: 'modified' });
    }
    const have = new Set(present);
    for (const p of Object.keys(marker.files))
      if (!have.has(p)) changes.push({ stageId, path: p, change: 'deleted' });
    return { asBuilt: asBuilt && changes.length === 0, changes };
  }

  private async build(stageId: string, treeDigest: string, tree: TreeManifest): Promise<void> {
    this.index.invalidate();
    const final = this.dir(stageId);
    fs.mkdirSync(this.root, { recursive: true });
    const staging = path.join(this.root, `.building-${idFileName(stageId)}-${stagingSuffix()}`);
    await this.store.makeEmptyDir(staging);
    // One mode whatever the dir was before (a pooled one may come from mkdtemp, 0700).
    fs.chmodSync(staging, 0o755);
    const files: Record<string, FileStamp> = {};
    for (const entry of tree.entries) {
      const target = path.join(staging, entry.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const object = this.store.objectPath(entry.digest);
      await fsp.copyFile(object, target, fs.constants.COPYFILE_FICLONE);
      fs.chmodSync(target, entry.mode === 0o755 ? 0o555 : 0o444);
      files[entry.path] = stampOf(fs.statSync(target));
    }
    const old = `${staging}.old`;
    let moved = false;
    try {
      fs.renameSync(final, old);
      moved = true;
    } catch {
      // nothing there yet
    }
    fs.renameSync(staging, final);
    if (moved) fs.rmSync(old, { recursive: true, force: true });
    const marker: ViewMarker = {
      tree: treeDigest,
      files,
      dirs: backdateDirs(final, Object.keys(files)),
    };
    this.known.set(stageId, marker);
    await writeFileAtomicAsync(
      path.join(this.markers, idFileName(stageId)),
      JSON.stringify(marker),
      {
        durable: false,
      },
    );
  }
}

/**
 * Sets the mtime of every directory of a just built view (those `files` lie in, and the view
 * itself) `BACKDATE_MS` into the past and returns their stamps: any later change to a
 * directory sets its mtime to now, so none can leave a stamp as it was, however soon it comes.
 */
function backdateDirs(view: string, files: Iterable<string>): Record<string, DirStamp> {
  const names = new Set(['']);
  for (const file of files)
    for (let i = file.indexOf('/'); i !== -1; i = file.indexOf('/', i + 1))
      names.add(file.slice(0, i));
  const past = new Date(Date.now() - BACKDATE_MS);
  const dirs: Record<string, DirStamp> = {};
  for (const rel of names) {
    const abs = path.join(view, rel);
    fs.utimesSync(abs, past, past);
    const st = fs.statSync(abs);
    dirs[rel] = [st.mtimeMs, st.ino];
  }
  return dirs;
}

function dirsUnchanged(view: string, dirs: Record<string, DirStamp>): boolean {
  for (const [rel, stamp] of Object.entries(dirs)) {
    const st = fs.statSync(path.join(view, rel), { throwIfNoEntry: false });
    if (!st?.isDirectory() || st.mtimeMs !== stamp[0] || st.ino !== stamp[1]) return false;
  }
  return true;
}

/** Everything under `dir` that is not a directory (files, links a user put there), sorted. */
function listEntries(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}
