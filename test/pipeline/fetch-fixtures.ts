/**
 * Fixtures for the fetch stage tests, built by the tests themselves: a ustar encoder written
 * from the POSIX header layout (independent of src/stages/archive.ts), and tiny CIFAR-10 /
 * STL-10 binary files whose byte values are a known function of their position, so a test
 * can predict any decoded pixel.
 */
import { gzipSync } from 'node:zlib';

export interface TarMember {
  name: string;
  data?: Uint8Array;
  /** '0' file (default), '5' directory, '2' symlink. */
  type?: '0' | '2' | '5';
  linkname?: string;
}

function putText(header: Buffer, at: number, len: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > len) throw new Error(`'${value}' does not fit in ${len} bytes`);
  bytes.copy(header, at);
}

/** Octal digits padded to len - 1, then NUL, as ustar numeric fields are written. */
const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, '0')}\0`;

function ustarHeader(m: TarMember): Buffer {
  const h = Buffer.alloc(512);
  const size = m.type === undefined || m.type === '0' ? (m.data?.length ?? 0) : 0;
  putText(h, 0, 100, m.name);
  putText(h, 100, 8, octal(m.type === '5' ? 0o755 : 0o644, 8));
  putText(h, 108, 8, octal(0, 8));
  putText(h, 116, 8, octal(0, 8));
  putText(h, 124, 12, octal(size, 12));
  putText(h, 136, 12, octal(1_700_000_000, 12));
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  putText(h, 156, 1, m.type ?? '0');
  putText(h, 157, 100, m.linkname ?? '');
  putText(h, 257, 6, 'ustar\0');
  putText(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  putText(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A complete .tar (headers, data padded to 512, two zero blocks), gzipped. */
export function tarGz(members: readonly TarMember[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(ustarHeader(m));
    if ((m.type === undefined || m.type === '0') && m.data) {
      parts.push(Buffer.from(m.data));
      const pad = (512 - (m.data.length % 512)) % 512;
      parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(parts));
}

export const CIFAR_SIDE = 32;
const CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE;

/** Byte of CIFAR-10 file `file`, record `rec`, channel c (0 R, 1 G, 2 B), row y, column x. */
export const cifarByte = (file: number, rec: number, c: number, y: number, x: number): number =>
  (file * 37 + rec * 11 + c * 5 + y * 7 + x * 3) % 256;

export const cifarLabel = (file: number, rec: number): number => (file * 3 + rec) % 10;

/** One CIFAR-10 batch file of `records` records: label byte, then R, G, B planes row-major. */
export function cifarBatch(file: number, records: number): Buffer {
  const b = Buffer.alloc(records * (1 + 3 * CIFAR_PLANE));
  let at = 0;
  for (let r = 0; r < records; r++) {
    b[at++] = cifarLabel(file, r);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < CIFAR_SIDE; y++)
        for (let x = 0; x < CIFAR_SIDE; x++) b[at++] = cifarByte(file, r, c, y, x);
  }
  return b;
}

export const STL_SIDE = 96;

/** Byte of STL-10 image i, channel c, row y, column x. */
export const stlByte = (i: number, c: number, y: number, x: number): number =>
  (i * 13 + c * 7 + y * 3 + x * 5) % 256;

/** An STL-10 `*_X.bin` of `n` images: per channel, a 96x96 plane stored column-major. */
export function stlImages(n: number, first = 0): Buffer {
  const b = Buffer.alloc(n * 3 * STL_SIDE * STL_SIDE);
  let at = 0;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++)
      for (let x = 0; x < STL_SIDE; x++)
        for (let y = 0; y < STL_SIDE; y++) b[at++] = stlByte(first + i, c, y, x);
  return b;
}
