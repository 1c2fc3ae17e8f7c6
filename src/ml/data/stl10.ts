/**
 * STL-10, binary version (stl10_binary): `*_X.bin` holds uint8 images of 3x96x96, each
 * channel plane stored column-major (pixel (row y, column x) at x*96 + y, as in Matlab);
 * `*_y.bin` holds one uint8 label per image, 1..10. Decoded to NHWC float32 in [0, 1] with
 * labels 0..9.
 * Must never reorder images or accept a label outside 1..10.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, type ImageDataset } from './dataset.js';

export const STL10_SIDE = 96;
const PLANE = STL10_SIDE * STL10_SIDE;
const IMAGE = 3 * PLANE;

export const STL10_CLASSES = [
  'airplane',
  'bird',
  'car',
  'cat',
  'deer',
  'dog',
  'horse',
  'monkey',
  'ship',
  'truck',
] as const;

/** Decodes an STL-10 image file and its label file held in memory. */
export function decodeStl10(x: Uint8Array, y: Uint8Array, where = '<buffer>'): ImageDataset {
  if (x.length % IMAGE !== 0) {
    throw new DatasetError(
      where,
      `STL-10 image file of ${x.length} bytes is not a multiple of ${IMAGE}`,
    );
  }
  const n = x.length / IMAGE;
  if (y.length !== n) throw new DatasetError(where, `${y.length} STL-10 labels for ${n} images`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = y[i] as number;
    if (label < 1 || label > 10) {
      throw new DatasetError(where, `STL-10 label ${label} at index ${i}; expected 1..10`);
    }
    labels[i] = label - 1;
  }
  const images = new Float32Array(n * IMAGE);
  for (let i = 0; i < n; i++) {
    const src = i * IMAGE;
    for (let c = 0; c < 3; c++) {
      const plane = src + c * PLANE;
      for (let col = 0; col < STL10_SIDE; col++) {
        for (let row = 0; row < STL10_SIDE; row++) {
          images[src + (row * STL10_SIDE + col) * 3 + c] =
            (x[plane + col * STL10_SIDE + row] as number) / 255;
        }
      }
    }
  }
  return { images, labels, shape: [n, STL10_SIDE, STL10_SIDE, 3], numClasses: 10 };
}

/** Reads `train_X.bin`/`train_y.bin` or `test_X.bin`/`test_y.bin` from `dir`. */
export function loadStl10(dir: string, split: 'train' | 'test'): ImageDataset {
  return decodeStl10(
    readFileSync(join(dir, `${split}_X.bin`)),
    readFileSync(join(dir, `${split}_y.bin`)),
    `${dir} (${split})`,
  );
}
