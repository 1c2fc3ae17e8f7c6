/**
 * The installed packages a stage kind's code depends on: every package its local modules
 * import by a bare specifier, then every package those depend on (dependencies, optional and
 * peer dependencies that are installed), found as Node finds them (the nearest
 * `node_modules`, from the package's real path). Each is keyed by the version its
 * package.json says and, where the lockfile of its install agrees on that version, the
 * lockfile's integrity hash. Reads package.json files and lockfiles once per process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importedPackages } from './fingerprint.js';

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

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

/** Package name -> sorted ids of its installed copies (usually one). */
export type PackageVersions = Record<string, string[]>;

export class PackageReader {
  private readonly found = new Map<string, string | null>();
  private readonly installed = new Map<string, Installed | null>();
  private readonly lockfiles = new Map<string, Record<string, LockEntry>>();
  private readonly closures = new Map<string, PackageVersions>();

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
    let dir = this.found.get(lookup);
    if (dir === undefined) {
      dir = nearestPackageDir(fromDir, name);
      this.found.set(lookup, dir);
    }
    return dir === null ? undefined : this.read(dir);
  }

  private read(dir: string): Installed | undefined {
    let pkg = this.installed.get(dir);
    if (pkg === undefined) {
      pkg = this.load(dir);
      this.installed.set(dir, pkg);
    }
    return pkg ?? undefined;
  }

  private load(linkDir: string): Installed | null {
    let json: PackageJson;
    let dir: string;
    try {
      dir = fs.realpathSync.native(linkDir);
      json = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
    } catch {
      return null;
    }
    const name = json.name ?? path.basename(dir);
    const version = json.version ?? 'unversioned';
    const lock = this.lockEntry(dir);
    const id =
      lock?.integrity && lock.version === version ? `${version} ${lock.integrity}` : version;
    const dependencies = [
      ...new Set([
        ...Object.keys(json.dependencies ?? {}),
        ...Object.keys(json.optionalDependencies ?? {}),
        ...Object.keys(json.peerDependencies ?? {}),
      ]),
    ];
    return { name, id, dir, dependencies };
  }

  /**
   * What npm's lockfile for the install holding `dir` says about it. The install root is
   * the directory above the first `node_modules`; npm's hidden lockfile there describes
   * what is really installed, package-lock.json what was meant to be.
   */
  private lockEntry(dir: string): LockEntry | undefined {
    const at = dir.indexOf(NODE_MODULES);
    if (at < 0) return undefined;
    const root = dir.slice(0, at);
    let entries = this.lockfiles.get(root);
    if (!entries) {
      entries = readLockfile(root);
      this.lockfiles.set(root, entries);
    }
    return entries[
      dir
        .slice(at + 1)
        .split(path.sep)
        .join('/')
    ];
  }
}

function nearestPackageDir(fromDir: string, name: string): string | null {
  for (let dir = fromDir; ; ) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

function readLockfile(root: string): Record<string, LockEntry> {
  for (const file of ['node_modules/.package-lock.json', 'package-lock.json']) {
    try {
      const lock = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as {
        packages?: Record<string, LockEntry>;
      };
      if (lock.packages) return lock.packages;
    } catch {
      // absent or unreadable: try the next one; without any, versions alone are keyed
    }
  }
  return {};
}
