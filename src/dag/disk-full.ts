/**
 * Recognising a full disk (or an exhausted quota) and saying so in the user's terms: which
 * path could not be written and how much room its filesystem has left, instead of an
 * `ENOSPC` stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const FULL_CODES = new Set(['ENOSPC', 'EDQUOT']);

export function isDiskFull(err: unknown): boolean {
  return FULL_CODES.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
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

export function diskFullMessage(file: string, what = 'writing'): string {
  const free = bytesFree(file);
  const room = free === undefined ? '' : ` (${free} bytes free there)`;
  return `disk full ${what} ${file}${room}: free some space and run again`;
}
