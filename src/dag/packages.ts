/**
 * The installed packages a stage kind's code depends on: every package its local modules
 * import by a bare specifier, then every package those depend on (dependencies, optional and
 * peer dependencies that are installed), found as Node finds them (the nearest
 * `node_modules`, from the package's real path). Each is keyed by the version its
 * package.json says and, where the lockfile of its install agrees on that version, the
 * lockfile's integrity hash. Resolution is redone every time (one listing per
 * `node_modules` folder, one stat per package); what a package.json and the lockfile say
 * is kept in `cache/package-cache.json`, trusted while their size, mtime and inode are
 * unchanged, so a no-op run parses neither.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importedPackages } from './fingerprint.js';
import { writeFileAtomic } from './store.js';

/** One installed package: where it is and what it depends on. */
interface Installed {
  name: string;
  /** `4.22.0`, or `4.22.0 sha512-...` when the lockfile vouches for the same version. */
  id: string;
  /** The real directory, where Node resolves its own dependencies from. */
  dir: string;
  dependencies: string[];
}

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  integrity?: string;
}

/** A package as read, with the stats it was read under. */
interface CacheEntry {
  /** size:mtimeMs:ino of its package.json. */
  stamp: string;
  /** Which lockfile (and its stamp) the id's integrity came from. */
  lockStamp: string;
  name: string;
  id: string;
  dependencies: string[];
}

/** Where a package is, and whether a symlink is on the way (pnpm, `npm link`). */
interface Found {
  dir: string;
  linked: boolean;
}

const stampOf = (st: fs.Stats): string => `${st.size}:${st.mtimeMs}:${st.ino}`;

/** npm's hidden lockfile describes what is really installed, package-lock.json what was meant. */
const LOCKFILES = ['node_modules/.package-lock.json', 'package-lock.json'];

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** Package name -> sorted ids of its installed copies (usually one). */
export type PackageVersions = Record<string, string[]>;

export class PackageReader {
  private readonly found = new Map<string, Found | null>();
  /** Folder -> its entries, each with whether it is a symlink; null when it is absent. */
  private readonly listings = new Map<string, Map<string, boolean> | null>();
  private readonly chains = new Map<string, string[]>();
  private readonly installed = new Map<string, Installed | null>();
  private readonly lockfiles = new Map<string, { file: string; stamp: string } | null>();
  private readonly lockEntries = new Map<string, Record<string, LockEntry>>();
  private readonly closures = new Map<string, PackageVersions>();
  private entries: Record<string, CacheEntry> = {};
  private dirty = false;
  /** package.json files actually parsed in this process (for tests and the bench). */
  parsed = 0;

  /** `cacheFile`: where what was read persists between processes; none keeps it in memory. */
  constructor(private readonly cacheFile?: string) {
    if (!cacheFile) return;
    try {
      this.entries = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as Record<string, CacheEntry>;
    } catch {
      this.entries = {};
    }
  }

  /** Keeps what was read for the next process; only where the cache directory exists. */
  save(): void {
    if (!this.dirty || !this.cacheFile || !fs.existsSync(path.dirname(this.cacheFile))) return;
    writeFileAtomic(this.cacheFile, JSON.stringify(this.entries), { durable: false });
    this.dirty = false;
  }

  /**
   * The packages a kind module's code imports, transitively, as installed. `unkeyed` names
   * packages left out along with everything only they bring in (the ML backend).
   */
  versionsOf(moduleUrl: string, unkeyed: readonly string[] = []): PackageVersions {
    const cacheKey = `${moduleUrl}\0${unkeyed.join('\0')}`;
    const cached = this.closures.get(cacheKey);
    if (cached) return cached;
    const skip = new Set(unkeyed);
    const seen = new Set<string>();
    const versions = new Map<string, Set<string>>();
    const queue: Installed[] = [];
    const visit = (fromDir: string, name: string): void => {
      if (skip.has(name)) return;
      const pkg = this.find(fromDir, name);
      if (!pkg || seen.has(pkg.dir)) return;
      seen.add(pkg.dir);
      versions.set(pkg.name, (versions.get(pkg.name) ?? new Set()).add(pkg.id));
      queue.push(pkg);
    };
    for (const { file, name } of importedPackages(moduleUrl)) visit(path.dirname(file), name);
    for (let pkg = queue.shift(); pkg; pkg = queue.shift()) {
      for (const dep of pkg.dependencies) visit(pkg.dir, dep);
    }
    const result: PackageVersions = {};
    for (const [name, ids] of [...versions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      result[name] = [...ids].sort();
    this.closures.set(cacheKey, result);
    return result;
  }

  /** The package `name` as `require` would find it from `fromDir`; undefined if absent. */
  private find(fromDir: string, name: string): Installed | undefined {
    const lookup = `${fromDir}\0${name}`;
    let at = this.found.get(lookup);
    if (at === undefined) {
      at = this.nearestPackageDir(fromDir, name);
      this.found.set(lookup, at);
    }
    return at === null ? undefined : this.read(at);
  }

  /** Node's walk up the `node_modules` folders, on listings read once per folder. */
  private nearestPackageDir(fromDir: string, name: string): Found | null {
    const [first, second] = name.split('/') as [string, string | undefined];
    for (const modules of this.modulesAbove(fromDir)) {
      const top = this.listing(modules)?.get(first);
      if (top === undefined) continue;
      if (second === undefined) return { dir: path.join(modules, first), linked: top };
      const scoped = this.listing(path.join(modules, first))?.get(second);
      // Like Node: a folder by that name ends the search, even one without package.json.
      if (scoped !== undefined) return { dir: path.join(modules, name), linked: top || scoped };
    }
    return null;
  }

  /** The existing `node_modules` folders Node would search from `dir`, nearest first. */
  private modulesAbove(dir: string): string[] {
    let chain = this.chains.get(dir);
    if (!chain) {
      const parent = path.dirname(dir);
      const rest = parent === dir ? [] : this.modulesAbove(parent);
      const modules = path.join(dir, 'node_modules');
      chain =
        path.basename(dir) !== 'node_modules' && this.listing(modules) ? [modules, ...rest] : rest;
      this.chains.set(dir, chain);
    }
    return chain;
  }

  private listing(dir: string): Map<string, boolean> | null {
    let names = this.listings.get(dir);
    if (names === undefined) {
      try {
        const entries = fs.readdirSync(dir, { withFileTypes: true });
        names = new Map(entries.map((e) => [e.name, e.isSymbolicLink()]));
      } catch {
        names = null;
      }
      this.listings.set(dir, names);
    }
    return names;
  }

  private read(at: Found): Installed | undefined {
    let pkg = this.installed.get(at.dir);
    if (pkg === undefined) {
      pkg = this.load(at);
      this.installed.set(at.dir, pkg);
    }
    return pkg ?? undefined;
  }

  private load(at: Found): Installed | null {
    let dir: string;
    let stamp: string;
    try {
      // Node resolves a package's own imports from its real path; the search started from
      // real paths, so only a symlink on the way needs resolving.
      dir = at.linked ? fs.realpathSync.native(at.dir) : at.dir;
      stamp = stampOf(fs.statSync(path.join(dir, 'package.json')));
    } catch {
      return null;
    }
    const root = installRoot(dir);
    const lock = root === undefined ? null : this.lockfile(root);
    const lockStamp = lock ? `${lock.file}:${lock.stamp}` : 'none';
    const hit = this.entries[dir];
    if (hit && hit.stamp === stamp && hit.lockStamp === lockStamp) return { ...hit, dir };
    let json: PackageJson;
    try {
      json = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    } catch {
      return null;
    }
    this.parsed += 1;
    const name = json.name ?? path.basename(dir);
    const version = json.version ?? 'unversioned';
    const locked = lock && root !== undefined ? this.lockEntry(lock.file, root, dir) : undefined;
    const id =
      locked?.integrity && locked.version === version ? `${version} ${locked.integrity}` : version;
    const dependencies = [
      ...new Set([
        ...Object.keys(json.dependencies ?? {}),
        ...Object.keys(json.optionalDependencies ?? {}),
        ...Object.keys(json.peerDependencies ?? {}),
      ]),
    ];
    this.entries[dir] = { stamp, lockStamp, name, id, dependencies };
    this.dirty = true;
    return { name, id, dir, dependencies };
  }

  /** The lockfile of an install root and its stamp, looked up once per process. */
  private lockfile(root: string): { file: string; stamp: string } | null {
    let lock = this.lockfiles.get(root);
    if (lock === undefined) {
      lock = null;
      for (const rel of LOCKFILES) {
        const file = path.join(root, rel);
        try {
          lock = { file, stamp: stampOf(fs.statSync(file)) };
          break;
        } catch {
          // absent: try the next one; without any, versions alone are keyed
        }
      }
      this.lockfiles.set(root, lock);
    }
    return lock;
  }

  /** What the lockfile says about the package at `dir` (parsed only when a package is new). */
  private lockEntry(file: string, root: string, dir: string): LockEntry | undefined {
    let entries = this.lockEntries.get(file);
    if (!entries) {
      entries = readLockfile(file);
      this.lockEntries.set(file, entries);
    }
    return entries[path.relative(root, dir).split(path.sep).join('/')];
  }
}

/** The directory above the first `node_modules` of a package's path: where npm installed it. */
function installRoot(dir: string): string | undefined {
  const at = dir.indexOf(NODE_MODULES);
  return at < 0 ? undefined : dir.slice(0, at);
}

function readLockfile(file: string): Record<string, LockEntry> {
  try {
    const lock = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      packages?: Record<string, LockEntry>;
    };
    return lock.packages ?? {};
  } catch {
    return {};
  }
}
