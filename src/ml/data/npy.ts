/**
 * NumPy `.npy` files (format versions 1.0 and 2.0; 3.0 is read too), C order, little-endian
 * float32 / float64 / int32 / uint8. Headers are written exactly as numpy.save writes them
 * (same padding, same growth space), so a file saved here is byte-identical to numpy's.
 * Must never write Fortran-order or big-endian data, and never guess a dtype it does not know.
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';

export type NpyDtype = 'float32' | 'float64' | 'int32' | 'uint8';

export type NpyData<D extends NpyDtype = NpyDtype> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

export interface NpyArray<D extends NpyDtype = NpyDtype> {
  dtype: D;
  shape: number[];
  data: NpyData<D>;
}

const DESCR: Record<NpyDtype, string> = {
  float32: '<f4',
  float64: '<f8',
  int32: '<i4',
  uint8: '|u1',
};

const FROM_DESCR: Record<string, NpyDtype> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<i4': 'int32',
  '|u1': 'uint8',
  '<u1': 'uint8',
};

const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, int32: 4, uint8: 1 };
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;
/** numpy leaves room for the first axis to grow to 21 digits without rewriting the file. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** fs.readSync/writeSync refuse lengths of 2 GiB and more. */
const CHUNK = 1 << 30;

if (endianness() !== 'LE') throw new Error('npy.ts assumes a little-endian host');

export class NpyFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'NpyFormatError';
  }
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function typedArrayFor(dtype: NpyDtype, n: number): NpyData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'uint8':
      return new Uint8Array(n);
  }
}

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

/** The header (magic, version, length, dict, padding) numpy.save would write for this array. */
export function npyHeader(dtype: NpyDtype, shape: readonly number[]): Buffer {
  const shapeRepr =
    shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  for (const [version, lenBytes] of [
    [1, 2],
    [2, 4],
  ] as const) {
    const prefix = MAGIC.length + 2 + lenBytes;
    const padded = `${dict + ' '.repeat(ALIGN - ((prefix + dict.length + 1) % ALIGN))}\n`;
    if (version === 1 && padded.length > 0xffff) continue;
    const head = Buffer.alloc(prefix);
    MAGIC.copy(head, 0);
    head[6] = version;
    head[7] = 0;
    if (lenBytes === 2) head.writeUInt16LE(padded.length, 8);
    else head.writeUInt32LE(padded.length, 8);
    return Buffer.concat([head, Buffer.from(padded, 'latin1')]);
  }
  throw new Error('unreachable: npy header too large');
}

interface ParsedHeader {
  dtype: NpyDtype;
  shape: number[];
  dataOffset: number;
}

/** Parses the header at the start of `head` (which must hold at least the whole header). */
function parseHeader(head: Buffer, file: string): ParsedHeader | { needBytes: number } {
  if (head.length < 10) return { needBytes: 10 };
  if (!head.subarray(0, 6).equals(MAGIC)) {
    throw new NpyFormatError(file, 'not a .npy file (magic \\x93NUMPY missing)');
  }
  const major = head[6];
  let len: number;
  let start: number;
  if (major === 1) {
    len = head.readUInt16LE(8);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) return { needBytes: 12 };
    len = head.readUInt32LE(8);
    start = 12;
  } else {
    throw new NpyFormatError(file, `unsupported .npy format version ${major}.${head[7]}`);
  }
  if (head.length < start + len) return { needBytes: start + len };
  const text = head.toString(major === 3 ? 'utf8' : 'latin1', start, start + len);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new NpyFormatError(file, `malformed .npy header: ${text.trim()}`);
  }
  const dtype = FROM_DESCR[descr];
  if (dtype === undefined) {
    throw new NpyFormatError(
      file,
      `unsupported dtype '${descr}'; expected one of ${Object.keys(FROM_DESCR).join(', ')}`,
    );
  }
  if (fortran === 'True') {
    throw new NpyFormatError(file, 'Fortran-order arrays are not supported; save in C order');
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) throw new NpyFormatError(file, `bad shape (${shapeText})`);
      return v;
    });
  return { dtype, shape, dataOffset: start + len };
}

/** Decodes a whole .npy file held in memory. The data is copied (aligned). */
export function decodeNpy(bytes: Uint8Array, file = '<buffer>'): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = parseHeader(buf, file);
  if ('needBytes' in h) throw new NpyFormatError(file, 'truncated .npy header');
  const n = elementCount(h.shape);
  const byteLength = n * BYTES[h.dtype];
  if (buf.length - h.dataOffset !== byteLength) {
    throw new NpyFormatError(
      file,
      `data is ${buf.length - h.dataOffset} bytes; shape (${h.shape}) of ${h.dtype} needs ${byteLength}`,
    );
  }
  const data = typedArrayFor(h.dtype, n);
  new Uint8Array(data.buffer).set(buf.subarray(h.dataOffset, h.dataOffset + byteLength));
  return { dtype: h.dtype, shape: h.shape, data };
}

/** Encodes an array as a complete .npy file. */
export function encodeNpy(shape: readonly number[], data: NpyData): Buffer {
  checkShape(shape, data);
  const header = npyHeader(dtypeOf(data), shape);
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function checkShape(shape: readonly number[], data: NpyData): void {
  if (elementCount(shape) !== data.length) {
    throw new Error(
      `shape (${shape}) has ${elementCount(shape)} elements; data has ${data.length}`,
    );
  }
}

/** Writes a .npy file without copying the data. */
export function saveNpy(path: string, shape: readonly number[], data: NpyData): void {
  checkShape(shape, data);
  const header = npyHeader(dtypeOf(data), shape);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let off = 0; off < bytes.length; ) {
      off += writeSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off));
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a .npy file straight into an aligned typed array (no second full-size copy). */
export function loadNpy(path: string): NpyArray {
  const fd = openSync(path, 'r');
  try {
    let head = Buffer.alloc(256);
    let got = readSync(fd, head, 0, head.length, 0);
    let h = parseHeader(head.subarray(0, got), path);
    while ('needBytes' in h) {
      if (got < head.length) throw new NpyFormatError(path, 'truncated .npy header');
      head = Buffer.alloc(h.needBytes);
      got = readSync(fd, head, 0, head.length, 0);
      h = parseHeader(head.subarray(0, got), path);
    }
    const n = elementCount(h.shape);
    const data = typedArrayFor(h.dtype, n);
    const bytes = new Uint8Array(data.buffer);
    let off = 0;
    while (off < bytes.length) {
      const r = readSync(fd, bytes, off, Math.min(CHUNK, bytes.length - off), h.dataOffset + off);
      if (r === 0) break;
      off += r;
    }
    const extra = readSync(fd, Buffer.alloc(1), 0, 1, h.dataOffset + off);
    if (off !== bytes.length || extra !== 0) {
      throw new NpyFormatError(
        path,
        `data size does not match shape (${h.shape}) of ${h.dtype} (${bytes.length} bytes)`,
      );
    }
    return { dtype: h.dtype, shape: h.shape, data };
  } finally {
    closeSync(fd);
  }
}
