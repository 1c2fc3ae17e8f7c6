/**
 * One writer per workspace: `cache/run.lock` holds the pid, host and start time of the run
 * that writes the store. A lock whose pid is dead on this host is stale and taken over.
 * Read-only commands never take it. It must never delete a live process's lock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  argv: string[];
}

export type LockResult =
  | {
      ok: true;
      release: () => void;
      /** The dead run whose lock was taken over, if any (worth telling the user). */
      recovered?: LockHolder;
    }
  | { ok: false; holder: LockHolder };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

export function acquireLock(cacheDir: string, argv: string[]): LockResult {
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, 'run.lock');
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    argv,
  };
  let recovered: LockHolder | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // Written whole into a private file, then hard-linked into place: link fails if the
      // lock exists, and no reader ever sees a half-written lock.
      const tmp = `${file}.${process.pid}`;
      try {
        fs.writeFileSync(tmp, JSON.stringify(me));
        fs.linkSync(tmp, file);
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      return {
        ok: true,
        ...(recovered ? { recovered } : {}),
        release: () => {
          const holder = readHolder(file);
          if (holder?.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (holder && (holder.host !== me.host || alive(holder.pid))) return { ok: false, holder };
    // A dead holder, or a lock file that cannot be read (it is always linked in whole, so
    // that means damage): take it over by renaming it away, so that of two recoverers only
    // one removes it.
    if (holder) recovered = holder;
    try {
      fs.renameSync(file, `${file}.stale-${process.pid}`);
      fs.rmSync(`${file}.stale-${process.pid}`, { force: true });
    } catch {
      // someone else recovered it first; retry
    }
  }
  const holder = readHolder(file);
  if (holder) return { ok: false, holder };
  throw new Error(`could not take the workspace lock ${file}`);
}

export function formatLockHolder(holder: LockHolder): string {
  return `workspace is locked by another run: pid ${holder.pid} on ${holder.host}, started ${holder.startedAt} (${holder.argv.join(' ')})`;
}
