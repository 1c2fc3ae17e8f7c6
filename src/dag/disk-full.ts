/**
 * Recognising a full disk (or an exhausted quota) and saying so in the user's terms: which
 * path could not be written and how much room its filesystem has left, instead of an
 * `ENOSPC` stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Less room than this left after a failure means the disk, not the stage, is to blame. */
export const NEARLY_FULL_BYTES = 256 * 1024;

/**
 * SQLite reports a full disk as SQLITE_FULL when it notices, but as a plain I/O error when
 * growing its WAL or shared-memory file fails; given `where`, such an error on a filesystem
 * that is (nearly) full counts as full too.
 */
export function isDiskFull(err: unknown, where?: string): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (FULL_CODES.has(code)) return true;
  if (where === undefined || !code.startsWith('SQLITE_IOERR')) return false;
  return (bytesFree(where) ?? Number.POSITIVE_INFINITY) < NEARLY_FULL_BYTES;
}

/** Bytes available to us on the filesystem holding `file` (or its nearest existing parent). */
export function bytesFree(file: string): number | undefined {
  for (let dir = file; ; dir = path.dirname(dir)) {
    try {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    } catch {
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** `detail`: what the failing step itself said, kept for whoever digs further. */
export function diskFullMessage(file: string, what = 'writing', detail?: string): string {
  const free = bytesFree(file);
  const room = free === undefined ? '' : ` (${free} bytes free there)`;
  const said = detail === undefined ? '' : ` [${detail}]`;
  return `disk full ${what} ${file}${room}${said}; free some space and run again`;
}
