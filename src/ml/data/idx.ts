/**
 * IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed: magic 0x0000 + type byte + rank,
 * then one big-endian uint32 per dimension, then big-endian data.
 * Must never guess: a wrong magic, an unknown type or a size mismatch is an IdxFormatError.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { checkDataset, type ImageDataset } from './dataset.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  dtype: IdxDtype;
  shape: number[];
  /** Values in native types (uint8 stays Uint8Array; other types are decoded from big-endian). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, [IdxDtype, number]> = {
  8: ['uint8', 1],
  9: ['int8', 1],
  11: ['int16', 2],
  12: ['int32', 4],
  13: ['float32', 4],
  14: ['float64', 8],
};

export class IdxFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'IdxFormatError';
  }
}

/** Decodes IDX bytes; gzip is detected by its magic (1f 8b). */
export function decodeIdx(input: Uint8Array, file = '<buffer>'): IdxArray {
  let buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new IdxFormatError(file, 'not an IDX file (first two bytes must be 0)');
  }
  const type = TYPES[buf[2] as number];
  if (type === undefined) {
    throw new IdxFormatError(file, `unknown IDX data type 0x${(buf[2] as number).toString(16)}`);
  }
  const [dtype, size] = type;
  const rank = buf[3] as number;
  const dataOffset = 4 + 4 * rank;
  if (buf.length < dataOffset) throw new IdxFormatError(file, 'truncated IDX header');
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  const n = shape.reduce((a, b) => a * b, 1);
  if (buf.length - dataOffset !== n * size) {
    throw new IdxFormatError(
      file,
      `IDX data is ${buf.length - dataOffset} bytes; shape [${shape}] of ${dtype} needs ${n * size}`,
    );
  }
  const body = buf.subarray(dataOffset);
  switch (dtype) {
    case 'uint8':
      return { dtype, shape, data: Uint8Array.from(body) };
    case 'int8':
      return { dtype, shape, data: Int8Array.from(body, (b) => (b << 24) >> 24) };
    case 'int16':
      return {
        dtype,
        shape,
        data: Int16Array.from({ length: n }, (_, i) => body.readInt16BE(2 * i)),
      };
    case 'int32':
      return {
        dtype,
        shape,
        data: Int32Array.from({ length: n }, (_, i) => body.readInt32BE(4 * i)),
      };
    case 'float32':
      return {
        dtype,
        shape,
        data: Float32Array.from({ length: n }, (_, i) => body.readFloatBE(4 * i)),
      };
    case 'float64':
      return {
        dtype,
        shape,
        data: Float64Array.from({ length: n }, (_, i) => body.readDoubleBE(8 * i)),
      };
  }
}

export function readIdx(path: string): IdxArray {
  return decodeIdx(readFileSync(path), path);
}

/**
 * An image set from an IDX image file [n, h, w] (uint8) and an IDX label file [n] (uint8):
 * pixels scaled to [0, 1], shape [n, h, w, 1].
 */
export function loadIdxImages(
  imagesPath: string,
  labelsPath: string,
  numClasses = 10,
): ImageDataset {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new IdxFormatError(
      imagesPath,
      `expected uint8 images [n, h, w]; got ${images.dtype} [${images.shape}]`,
    );
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new IdxFormatError(
      labelsPath,
      `expected uint8 labels [n]; got ${labels.dtype} [${labels.shape}]`,
    );
  }
  const [n, h, w] = images.shape as [number, number, number];
  if (labels.shape[0] !== n) {
    throw new IdxFormatError(
      labelsPath,
      `${labels.shape[0]} labels for ${n} images in ${imagesPath}`,
    );
  }
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (images.data[i] as number) / 255;
  const ds: ImageDataset = {
    images: pixels,
    labels: Int32Array.from(labels.data),
    shape: [n, h, w, 1],
    numClasses,
  };
  checkDataset(ds, labelsPath);
  return ds;
}
