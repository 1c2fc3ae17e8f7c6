/**
 * Safe extraction of a .tar.gz (ustar, with pax and GNU long names), streamed so a
 * multi-gigabyte archive never sits in memory. It must never write outside the destination:
 * absolute paths, `..` segments, links and device entries are rejected before anything of
 * theirs is written.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';

export class UnsafeArchiveError extends Error {
  constructor(archive: string, entry: string, why: string) {
    super(`${archive}: refusing entry '${entry}': ${why}`);
    this.name = 'UnsafeArchiveError';
  }
}

/** Reads exact byte counts from a stream of chunks. */
class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  constructor(private readonly source: AsyncIterator<Buffer>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.length < n) {
      const next = await this.source.next();
      if (next.done) return false;
      this.buffered.push(next.value);
      this.length += next.value.length;
    }
    return true;
  }

  /** Exactly n bytes, or null at a clean end of stream. */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.length === 0) return null;
      throw new Error(`truncated archive: wanted ${n} bytes, ${this.length} left`);
    }
    const all = Buffer.concat(this.buffered);
    this.buffered = all.length > n ? [all.subarray(n)] : [];
    this.length = all.length - n;
    return all.subarray(0, n);
  }

  /** n bytes as a sequence of pieces, without holding them all at once. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.length === 0 && !(await this.fill(1))) throw new Error('truncated archive');
      const head = this.buffered.shift() as Buffer;
      this.length -= head.length;
      if (head.length > left) {
        this.buffered.unshift(head.subarray(left));
        this.length += head.length - left;
        yield head.subarray(0, left);
        left = 0;
      } else {
        yield head;
        left -= head.length;
      }
    }
  }
}

const text = (b: Buffer, start: number, len: number): string => {
  const field = b.subarray(start, start + len);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? len : end).toString('utf8');
};

/** Octal number field, or GNU base-256 when the high bit of the first byte is set. */
function numeric(b: Buffer, start: number, len: number): number {
  if ((b[start] as number) & 0x80) {
    let value = 0;
    for (let i = start + 1; i < start + len; i++) value = value * 256 + (b[i] as number);
    return value;
  }
  const s = text(b, start, len).trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

/** pax extended header records: "LEN key=value\n" repeated. */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/** The entry's path inside dest, or an error saying why it may not be written. */
function safeTarget(archive: string, dest: string, name: string): string {
  if (name === '' || isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw new UnsafeArchiveError(archive, name, 'absolute path');
  }
  if (name.split(/[\\/]+/).includes('..'))
    throw new UnsafeArchiveError(archive, name, "'..' in path");
  const target = resolve(dest, name);
  const rel = relative(resolve(dest), target);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new UnsafeArchiveError(archive, name, 'escapes the destination');
  return target;
}

/**
 * Extracts regular files and directories of `archive` into `dest`; entries `keep` rejects
 * are read past without being written. Returns the written files' paths relative to dest.
 */
export async function extractTarGz(
  archive: string,
  dest: string,
  keep: (path: string) => boolean = () => true,
): Promise<string[]> {
  const stream = createReadStream(archive).pipe(createGunzip());
  const reader = new ByteReader(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  const written: string[] = [];
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  try {
    for (;;) {
      const header = await reader.read(512);
      if (header === null || header.every((b) => b === 0)) break;
      const size = numeric(header, 124, 12);
      const type = String.fromCharCode(header[156] as number);
      const prefix = text(header, 257, 6) === 'ustar' ? text(header, 345, 155) : '';
      const baseName = prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100);
      const name = (pax.path ?? longName ?? baseName).replace(/^\.\//, '');
      const padded = Math.ceil(size / 512) * 512;

      if (type === 'x' || type === 'g' || type === 'L') {
        const data = (await reader.read(padded)) ?? Buffer.alloc(0);
        if (type === 'x') pax = paxRecords(data.subarray(0, size));
        if (type === 'L') longName = text(data, 0, size);
        continue;
      }
      longName = undefined;
      pax = {};
      if (type === '1' || type === '2')
        throw new UnsafeArchiveError(archive, name, 'links are not extracted');
      if (type !== '0' && type !== '\0' && type !== '5' && type !== '7') {
        throw new UnsafeArchiveError(
          archive,
          name,
          `entry type '${type}' is not a file or directory`,
        );
      }
      const target = safeTarget(archive, dest, name);
      if (type === '5') {
        mkdirSync(target, { recursive: true });
      } else if (keep(name)) {
        mkdirSync(dirname(target), { recursive: true });
        const out = createWriteStream(target);
        for await (const piece of reader.pieces(size)) {
          if (!out.write(piece)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'close');
        written.push(relative(dest, target));
      } else {
        for await (const _ of reader.pieces(size));
      }
      for await (const _ of reader.pieces(padded - size));
    }
  } finally {
    stream.destroy();
  }
  return written;
}
