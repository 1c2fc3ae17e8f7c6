/**
 * The content-addressed store under `cache/`: file objects by sha256, tree manifests (as
 * objects), one JSON record per finished stage execution, and a head pointer per stage id
 * (its last finished execution). Every write is tmp + fsync + rename, so a kill at any
 * moment leaves an object, manifest or record either absent or complete. It must never
 * leave a partially written file under objects/ or stages/, and never modify an object.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmptyDirPool } from './empty-dirs.js';
import { canonicalJson, type KeyRecord } from './key.js';
import type { Json } from './pipeline-types.js';

export interface TreeEntry {
  /** POSIX path relative to the output directory. */
  path: string;
  digest: string;
  size: number;
  /** 0o644 or 0o755: only the executable bit is kept, so digests do not depend on umask. */
  mode: number;
}

export interface TreeManifest {
  type: 'tree';
  entries: TreeEntry[];
}

/** `cache/stages/<key>.json`: a finished execution, readable and diffable like dvc.lock. */
export interface StageRecord {
  stageId: string;
  kind: string;
  key: string;
  /** What was hashed into the key (engine-core's key record), kept to explain later changes. */
  keyRecord: KeyRecord;
  /** Digest of the output tree manifest object. */
  outputTree: string;
  /** ran: executed here; assumed-fresh: a previous output accepted under a new code fingerprint. */
  origin: 'ran' | 'assumed-fresh';
  startedAt: string;
  finishedAt: string;
  durationMs: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const sha256 = (data: string | Buffer): string =>
  createHash('sha256').update(data).digest('hex');

export function hashFileSync(file: string): { digest: string; size: number } {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let size = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      size += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return { digest: hash.digest('hex'), size };
}

/** A directory's entry names; none where the directory does not exist (yet). */
export function dirNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The files `writeFileAtomic` finished in `dir`: a killed write's temp names left out. */
export function finishedFileNames(dir: string): string[] {
  return dirNames(dir).filter((n) => !isTempName(n));
}

function isTempName(name: string): boolean {
  return name.includes('.tmp-');
}

/**
 * Writes `data` to `file` so that readers see the old state or the whole new file.
 * `durable: false` skips the fsync, for files that can be rebuilt (heads, view markers,
 * the stat cache): a crash may lose them, never leave them half-written.
 */
export function writeFileAtomic(
  file: string,
  data: string | Buffer,
  opts: { mode?: number; durable?: boolean } = {},
): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'w', opts.mode ?? 0o644);
  try {
    try {
      if (typeof data === 'string') fs.writeSync(fd, data);
      else fs.writeSync(fd, data);
      if (opts.durable !== false) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    // No half-written temp file stays behind (a full disk is the usual cause), and the error
    // names the file it was for: a write error carries no path of its own.
    fs.rmSync(tmp, { force: true });
    throw namingFile(err, file);
  }
}

const tempName = (file: string): string =>
  `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;

function namingFile(err: unknown, file: string): unknown {
  if (err instanceof Error) (err as NodeJS.ErrnoException).path ??= file;
  return err;
}

/**
 * The calls that may block in the kernel for long (creating an inode, fsync) as threadpool
 * calls, so the engine's thread goes on meanwhile; cheaper calls stay synchronous.
 */
const fsync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
const createFile = (file: string, mode: number): Promise<number> =>
  new Promise((resolve, reject) =>
    fs.open(file, 'wx', mode, (err, fd) => (err ? reject(err) : resolve(fd))),
  );

/**
 * New store files, complete but not yet visible: each is written (or, for an output file,
 * already there) and kept open until `publish` has fsynced all of them at once (one stage's
 * syncs overlap each other and other stages' work), then renamed in, in the order they were
 * added. Whatever was not renamed in is removed.
 */
class StagedFiles {
  private readonly files: { fd: number; from: string; to: string; ours: boolean }[] = [];

  /** `from` (an output file) is to become `to`. */
  add(from: string, to: string): void {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    this.files.push({ fd: fs.openSync(from, 'r'), from, to, ours: false });
  }

  /** `data` is to become `file`. */
  async write(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const from = tempName(file);
    const fd = await createFile(from, mode);
    this.files.push({ fd, from, to: file, ours: true });
    try {
      if (typeof data === 'string') fs.writeSync(fd, data);
      else fs.writeSync(fd, data);
    } catch (err) {
      throw namingFile(err, file);
    }
  }

  /** Makes every content durable (unless told not to), then renames them in, in order. */
  async publish(durable = true): Promise<void> {
    try {
      if (durable)
        await Promise.all(
          this.files.map((f) => fsync(f.fd).catch((err) => Promise.reject(namingFile(err, f.to)))),
        );
    } catch (err) {
      this.discard();
      throw err;
    }
    this.close();
    for (const [i, f] of this.files.entries()) {
      try {
        fs.renameSync(f.from, f.to);
      } catch (err) {
        this.discard(i);
        throw namingFile(err, f.to);
      }
    }
  }

  /** Closes what is open and removes the temp files from `from` on (a failed commit). */
  discard(from = 0): void {
    this.close();
    for (const f of this.files.slice(from)) if (f.ours) fs.rmSync(f.from, { force: true });
  }

  private close(): void {
    for (const f of this.files) {
      if (f.fd < 0) continue;
      try {
        fs.closeSync(f.fd);
      } catch {
        // a close error after a successful fsync loses nothing
      }
      f.fd = -1;
    }
  }
}

/** `writeFileAtomic` with its inode created and its fsync done on the threadpool. */
export async function writeFileAtomicAsync(
  file: string,
  data: string | Buffer,
  opts: { mode?: number; durable?: boolean } = {},
): Promise<void> {
  const staged = new StagedFiles();
  try {
    await staged.write(file, data, opts.mode);
  } catch (err) {
    staged.discard();
    throw err;
  }
  await staged.publish(opts.durable !== false);
}

/**
 * A stage id as a file name that still reads like the id (`train[normal,3].log`): only
 * `%`, path separators, control characters and a leading dot are %-escaped, so
 * `decodeURIComponent` gives the id back.
 */
export const idFileName = (stageId: string): string =>
  stageId.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
    /[%/\\\x00-\x1f]|^\./g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );

export class Store {
  readonly objectsDir: string;
  readonly stagesDir: string;
  readonly headsDir: string;
  readonly tmpDir: string;
  readonly scratchRoot: string;
  readonly logsDir: string;

  private readonly removals = new Set<Promise<void>>();
  private readonly emptyDirs: EmptyDirPool;
  private scratchRootMade = false;

  constructor(readonly cacheDir: string) {
    this.objectsDir = path.join(cacheDir, 'objects');
    this.stagesDir = path.join(cacheDir, 'stages');
    this.headsDir = path.join(cacheDir, 'heads');
    this.tmpDir = path.join(cacheDir, 'tmp');
    this.scratchRoot = path.join(cacheDir, 'scratch');
    this.logsDir = path.join(cacheDir, 'logs');
    this.emptyDirs = new EmptyDirPool(this.tmpDir);
  }

  /**
   * Removes the temp files of record and head writes a killed run left (a kill between a
   * temp file's open and its rename). Call only under the run lock; objects' leftovers are gc's.
   */
  sweepTempFiles(): void {
    for (const dir of [this.stagesDir, this.headsDir])
      for (const name of dirNames(dir))
        if (isTempName(name)) fs.rmSync(path.join(dir, name), { force: true });
  }

  objectPath(digest: string): string {
    return path.join(this.objectsDir, digest.slice(0, 2), digest.slice(2));
  }

  hasObject(digest: string): boolean {
    return fs.existsSync(this.objectPath(digest));
  }

  readObject(digest: string): Buffer {
    return fs.readFileSync(this.objectPath(digest));
  }

  /**
   * Stores a finished stage: the files under `dir` (on the store's filesystem, as output dirs
   * under cache/tmp are) become objects, their tree manifest an object, and the record
   * `record(treeDigest)` gives is written. All new contents are fsynced together, off the
   * engine's thread; then renames publish the objects, the manifest and the record, in that
   * order, so a record is never visible before its objects, nor any of them before it is
   * durable. A kill at any moment leaves only temp files (the output dir, `*.tmp-*`).
   */
  async commit(
    dir: string,
    record: (treeDigest: string) => StageRecord,
  ): Promise<{ treeDigest: string; manifest: TreeManifest }> {
    const entries = listFiles(dir).map((rel) => treeEntry(dir, rel));
    const manifest = makeManifest(entries);
    const bytes = treeJson(manifest);
    const treeDigest = sha256(bytes);
    const written = record(treeDigest);
    const staged = new StagedFiles();
    try {
      for (const e of entries) {
        const target = this.objectPath(e.digest);
        if (fs.existsSync(target)) continue;
        const file = path.join(dir, e.path);
        fs.chmodSync(file, 0o444);
        staged.add(file, target);
      }
      const tree = this.objectPath(treeDigest);
      if (!fs.existsSync(tree)) await staged.write(tree, bytes, 0o444);
      await staged.write(this.recordPath(written.key), recordText(written));
    } catch (err) {
      staged.discard();
      throw err;
    }
    await staged.publish();
    return { treeDigest, manifest };
  }

  readTree(treeDigest: string): TreeManifest {
    return JSON.parse(this.readObject(treeDigest).toString('utf8')) as TreeManifest;
  }

  recordPath(key: string): string {
    return path.join(this.stagesDir, `${key}.json`);
  }

  /** A record counts only when its output tree is present, so `objects/` loss means rerun. */
  readRecord(key: string): StageRecord | undefined {
    const record = this.readRecordFile(key);
    return record && this.hasObject(record.outputTree) ? record : undefined;
  }

  /** The record as written, whether or not its objects are still there; undefined if damaged. */
  readRecordFile(key: string): StageRecord | undefined {
    const read = this.inspectRecord(key);
    return 'record' in read ? read.record : undefined;
  }

  /** The record, or what is wrong with its file (absent, not JSON, not a record of `key`). */
  inspectRecord(key: string): { record: StageRecord } | { problem: string } {
    let text: string;
    try {
      text = fs.readFileSync(this.recordPath(key), 'utf8');
    } catch (err) {
      return { problem: `cannot be read (${(err as NodeJS.ErrnoException).code})` };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { problem: 'is not valid JSON' };
    }
    const problem = recordShapeProblem(value, key);
    return problem === undefined ? { record: value as StageRecord } : { problem };
  }

  writeRecord(record: StageRecord): void {
    writeFileAtomic(this.recordPath(record.key), recordText(record));
  }

  listRecordKeys(): string[] {
    try {
      return fs
        .readdirSync(this.stagesDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => f.slice(0, -5))
        .filter((k) => SHA256_HEX.test(k));
    } catch {
      return [];
    }
  }

  deleteRecord(key: string): void {
    fs.rmSync(this.recordPath(key), { force: true });
  }

  /** Key of the last finished execution of `stageId`, if any. */
  readHead(stageId: string): string | undefined {
    try {
      const key = fs.readFileSync(path.join(this.headsDir, idFileName(stageId)), 'utf8').trim();
      return SHA256_HEX.test(key) ? key : undefined;
    } catch {
      return undefined;
    }
  }

  async writeHead(stageId: string, key: string): Promise<void> {
    await writeFileAtomicAsync(path.join(this.headsDir, idFileName(stageId)), `${key}\n`, {
      durable: false,
    });
  }

  deleteHead(stageId: string): void {
    fs.rmSync(path.join(this.headsDir, idFileName(stageId)), { force: true });
  }

  /** Head files whose content is not a key (damage: heads are written whole). */
  damagedHeads(): string[] {
    return finishedFileNames(this.headsDir)
      .map((n) => decodeURIComponent(n))
      .filter((id) => this.readHead(id) === undefined)
      .sort();
  }

  /** stage id -> head key, for every stage id ever finished in this workspace. */
  listHeads(): Map<string, string> {
    const heads = new Map<string, string>();
    for (const name of finishedFileNames(this.headsDir)) {
      const id = decodeURIComponent(name);
      const key = this.readHead(id);
      if (key) heads.set(id, key);
    }
    return heads;
  }

  /**
   * A fresh, empty directory under cache/tmp, on the store's filesystem: a pooled one when
   * there is one (its name then tells nothing), else a new one named after `label`.
   */
  async makeTempDir(label: string): Promise<string> {
    const pooled = this.emptyDirs.take();
    if (pooled !== undefined) return pooled;
    fs.mkdirSync(this.tmpDir, { recursive: true });
    return fs.promises.mkdtemp(path.join(this.tmpDir, `${idFileName(label).slice(0, 60)}-`));
  }

  /** A temp dir nothing reads any more: pooled when empty (as committed output dirs are). */
  releaseTempDir(dir: string): void {
    this.release(dir);
  }

  /** Same key -> same dir: resumable work survives a crash of the stage or the runner. */
  async scratchDir(key: string): Promise<string> {
    const dir = path.join(this.scratchRoot, key);
    if (!this.scratchRootMade) {
      await fs.promises.mkdir(this.scratchRoot, { recursive: true });
      this.scratchRootMade = true;
    }
    if (!(await this.emptyDirs.moveTo(dir))) await fs.promises.mkdir(dir, { recursive: true });
    return dir;
  }

  /** The scratch of a key whose stage succeeded: nothing will resume from it. */
  removeScratch(key: string): void {
    this.release(path.join(this.scratchRoot, key));
  }

  /**
   * Makes the empty directory `target` (its parent exists), by renaming a pooled one when
   * it can: for dirs outside cache/tmp, e.g. a view's staging dir.
   */
  async makeEmptyDir(target: string): Promise<void> {
    if (!(await this.emptyDirs.moveTo(target))) await fs.promises.mkdir(target);
  }

  /**
   * Pools `dir` when it is empty, else removes it; on the threadpool either way: on ext4 an
   * rmdir waits for the journal commit that other stages' fsyncs started, which on the
   * engine's thread held up every stage (a cold run of 233 small stages spent ~0.9 s there).
   * What a kill leaves is swept by the next run (tmp) or gc (scratch).
   */
  private release(dir: string): void {
    this.inBackground(
      this.emptyDirs.keep(dir).then((kept) => {
        if (!kept) return fs.promises.rm(dir, { recursive: true, force: true });
      }),
    );
  }

  private inBackground(work: Promise<unknown>): void {
    const removal: Promise<void> = work
      .then(() => {})
      .catch(() => {})
      .finally(() => this.removals.delete(removal));
    this.removals.add(removal);
  }

  /** Waits for the background work (pooling, removals) started so far. */
  async settled(): Promise<void> {
    await Promise.all([...this.removals]);
  }

  /**
   * Waits for the background removals started so far, then removes the pooled empty dirs
   * (the run is over: nothing will take them).
   */
  async removalsDone(): Promise<void> {
    await this.settled();
    await Promise.all(this.emptyDirs.drain().map((dir) => fs.promises.rmdir(dir).catch(() => {})));
  }
}

/** A record's file: canonical key order, indented, so records diff well. */
const recordText = (record: StageRecord): string =>
  `${JSON.stringify(JSON.parse(canonicalJson(record as unknown as Json)), null, 2)}\n`;

function treeEntry(dir: string, rel: string): TreeEntry {
  const abs = path.join(dir, rel);
  const { digest, size } = hashFileSync(abs);
  const executable = (fs.statSync(abs).mode & 0o111) !== 0;
  return { path: rel, digest, size, mode: executable ? 0o755 : 0o644 };
}

/** Why `value` is not a stage record stored under `key`, or undefined when it is one. */
function recordShapeProblem(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'is not a JSON object';
  const r = value as Record<string, unknown>;
  if (r.key !== key) return `names key ${JSON.stringify(r.key)}, not its file name's`;
  for (const field of ['stageId', 'kind', 'origin'] as const)
    if (typeof r[field] !== 'string') return `has no ${field}`;
  if (typeof r.outputTree !== 'string' || !SHA256_HEX.test(r.outputTree))
    return 'has no valid outputTree digest';
  if (typeof r.keyRecord !== 'object' || r.keyRecord === null) return 'has no keyRecord';
  return undefined;
}

/** The bytes of a manifest: what its digest is taken over. */
export const treeJson = (manifest: TreeManifest): string =>
  canonicalJson(manifest as unknown as Json);

/** Digest a directory would get as an output tree, without storing anything. */
export function hashTree(dir: string): string {
  const entries = listFiles(dir).map((rel) => treeEntry(dir, rel));
  return sha256(treeJson(makeManifest(entries)));
}

export function makeManifest(entries: TreeEntry[]): TreeManifest {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { type: 'tree', entries: sorted };
}

/** Digest of the part of a tree under `prefix` (a file: its object; a dir: its sub-manifest). */
export function subtreeDigest(manifest: TreeManifest, prefix: string): string | undefined {
  if (prefix === '' || prefix === '.') return sha256(treeJson(manifest));
  const clean = prefix.replace(/\/+$/, '');
  const file = manifest.entries.find((e) => e.path === clean);
  if (file) return file.digest;
  const under = manifest.entries
    .filter((e) => e.path.startsWith(`${clean}/`))
    .map((e) => ({ ...e, path: e.path.slice(clean.length + 1) }));
  if (under.length === 0) return undefined;
  return sha256(treeJson(makeManifest(under)));
}

/** Regular files under `dir`, as sorted POSIX relative paths. Symlinks are refused. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out.push(child);
      else throw new Error(`output '${child}' is not a regular file (symlinks are not stored)`);
    }
  };
  walk('');
  return out.sort();
}
