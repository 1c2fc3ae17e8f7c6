/**
 * One entry point that reads any supported dataset from where it lies on disk.
 * Must never download anything: fetching and checksum verification happen before this.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCifar10 } from './cifar10.js';
import { DatasetError, type ImageDataset, loadDatasetNpy } from './dataset.js';
import { loadIdxImages } from './idx.js';
import { loadStl10 } from './stl10.js';

/** Where Debian's `dataset-fashion-mnist` package installs the IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export type DatasetSource =
  /** MNIST-style IDX files: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
  | { format: 'idx'; dir: string }
  /** cifar-10-batches-bin: data_batch_1..5.bin, test_batch.bin. */
  | { format: 'cifar10'; dir: string }
  /** stl10_binary: {train,test}_X.bin and {train,test}_y.bin. */
  | { format: 'stl10'; dir: string }
  /** {train,test}_images.npy (float32 NHWC) and {train,test}_labels.npy (int32 or uint8). */
  | { format: 'npy'; dir: string; numClasses?: number };

export type Split = 'train' | 'test';

function idxFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new DatasetError(dir, `neither ${stem}.gz nor ${stem} exists`);
}

export function loadDataset(source: DatasetSource, split: Split): ImageDataset {
  switch (source.format) {
    case 'idx': {
      const prefix = split === 'train' ? 'train' : 't10k';
      return loadIdxImages(
        idxFile(source.dir, `${prefix}-images-idx3-ubyte`),
        idxFile(source.dir, `${prefix}-labels-idx1-ubyte`),
      );
    }
    case 'cifar10':
      return loadCifar10(source.dir, split);
    case 'stl10':
      return loadStl10(source.dir, split);
    case 'npy':
      return loadDatasetNpy(
        join(source.dir, `${split}_images.npy`),
        join(source.dir, `${split}_labels.npy`),
        source.numClasses,
      );
  }
}
