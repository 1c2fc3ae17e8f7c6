/**
 * CIFAR-10, binary version (cifar-10-batches-bin): records of 1 label byte + 3072 pixel
 * bytes (R plane, G plane, B plane, each 32x32 row-major), 10,000 records per batch file.
 * Decoded to NHWC float32 in [0, 1].
 * Must never reorder records: index i in the result is record i of the files, in file order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetError, type ImageDataset } from './dataset.js';

export const CIFAR10_SIDE = 32;
const PLANE = CIFAR10_SIDE * CIFAR10_SIDE;
const RECORD = 1 + 3 * PLANE;

export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILES = ['test_batch.bin'];
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

/** Decodes one or more CIFAR-10 batch files held in memory, concatenated in order. */
export function decodeCifar10(batches: readonly Uint8Array[], where = '<buffer>'): ImageDataset {
  let n = 0;
  for (const b of batches) {
    if (b.length % RECORD !== 0) {
      throw new DatasetError(
        where,
        `CIFAR-10 batch of ${b.length} bytes is not a multiple of ${RECORD}`,
      );
    }
    n += b.length / RECORD;
  }
  const images = new Float32Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  let i = 0;
  for (const b of batches) {
    for (let r = 0; r < b.length; r += RECORD, i++) {
      const label = b[r] as number;
      if (label > 9) throw new DatasetError(where, `CIFAR-10 label ${label} in record ${i}`);
      labels[i] = label;
      const out = i * 3 * PLANE;
      for (let p = 0; p < PLANE; p++) {
        images[out + 3 * p] = (b[r + 1 + p] as number) / 255;
        images[out + 3 * p + 1] = (b[r + 1 + PLANE + p] as number) / 255;
        images[out + 3 * p + 2] = (b[r + 1 + 2 * PLANE + p] as number) / 255;
      }
    }
  }
  return { images, labels, shape: [n, CIFAR10_SIDE, CIFAR10_SIDE, 3], numClasses: 10 };
}

/** Reads the train (data_batch_1..5.bin) or test (test_batch.bin) split from `dir`. */
export function loadCifar10(dir: string, split: 'train' | 'test'): ImageDataset {
  const files = split === 'train' ? CIFAR10_TRAIN_FILES : CIFAR10_TEST_FILES;
  return decodeCifar10(
    files.map((f) => readFileSync(join(dir, f))),
    `${dir} (${split})`,
  );
}
