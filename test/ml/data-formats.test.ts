import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCifar10, loadCifar10 } from '../../src/ml/data/cifar10.js';
import {
  checkDataset,
  DatasetError,
  loadDatasetNpy,
  saveDatasetNpy,
  subset,
} from '../../src/ml/data/dataset.js';
import { decodeIdx, IdxFormatError, loadIdxImages } from '../../src/ml/data/idx.js';
import { DEBIAN_FASHION_MNIST_DIR, loadDataset } from '../../src/ml/data/load.js';
import { decodeStl10 } from '../../src/ml/data/stl10.js';

const dir = mkdtempSync(join(tmpdir(), 'data-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file built from the spec: 0, 0, type, rank, big-endian dims, big-endian data. */
function idxBytes(type: number, dims: number[], body: Buffer): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = type;
  head[3] = dims.length;
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([head, body]);
}

/** A pixel value that differs by image, channel, row and column. */
const pix = (i: number, c: number, y: number, x: number): number =>
  (i * 101 + c * 37 + y * 7 + x * 3) % 256;

/** Records written from the spec: label byte, then R, G, B planes, each row-major. */
function cifarBatch(first: number, n: number): Buffer {
  const out = Buffer.alloc(n * 3073);
  for (let r = 0; r < n; r++) {
    const i = first + r;
    out[r * 3073] = i % 10;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) out[r * 3073 + 1 + c * 1024 + y * 32 + x] = pix(i, c, y, x);
      }
    }
  }
  return out;
}

describe('IDX', () => {
  const images = Buffer.from(Array.from({ length: 3 * 2 * 2 }, (_, k) => (k * 20) % 256));
  const labels = Buffer.from([4, 0, 9]);

  it('reads raw and gzip files into [n, h, w, 1] in [0, 1]', () => {
    const imgIdx = idxBytes(0x08, [3, 2, 2], images);
    const lblIdx = idxBytes(0x08, [3], labels);
    writeFileSync(join(dir, 'img'), imgIdx);
    writeFileSync(join(dir, 'lbl.gz'), gzipSync(lblIdx));
    const ds = loadIdxImages(join(dir, 'img'), join(dir, 'lbl.gz'));
    expect(ds.shape).toEqual([3, 2, 2, 1]);
    expect([...ds.labels]).toEqual([4, 0, 9]);
    expect(ds.images[5]).toBeCloseTo(100 / 255, 7);
    expect(ds.images[11]).toBeCloseTo(220 / 255, 7);
  });

  it('decodes big-endian int32 and float32 payloads', () => {
    const ints = Buffer.alloc(8);
    ints.writeInt32BE(-5, 0);
    ints.writeInt32BE(70000, 4);
    expect([...decodeIdx(idxBytes(0x0c, [2], ints)).data]).toEqual([-5, 70000]);
    const floats = Buffer.alloc(8);
    floats.writeFloatBE(1.5, 0);
    floats.writeFloatBE(-0.25, 4);
    const f = decodeIdx(idxBytes(0x0d, [1, 2], floats));
    expect(f.shape).toEqual([1, 2]);
    expect([...f.data]).toEqual([1.5, -0.25]);
  });

  it('rejects a bad magic, an unknown type and a size mismatch', () => {
    expect(() => decodeIdx(Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), 'x')).toThrow(IdxFormatError);
    expect(() => decodeIdx(idxBytes(0x07, [1], Buffer.from([1])))).toThrow(/unknown IDX data type/);
    expect(() => decodeIdx(idxBytes(0x08, [3], Buffer.from([1, 2])))).toThrow(/needs 3/);
  });

  it.skipIf(!existsSync(join(DEBIAN_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')))(
    "reads Debian's Fashion-MNIST test set",
    () => {
      const ds = loadDataset({ format: 'idx', dir: DEBIAN_FASHION_MNIST_DIR }, 'test');
      expect(ds.shape).toEqual([10000, 28, 28, 1]);
      // Fashion-MNIST's test set has 1000 images per class; its first image is an ankle boot.
      const counts = new Array(10).fill(0);
      for (const y of ds.labels) counts[y]++;
      expect(counts).toEqual(new Array(10).fill(1000));
      expect(ds.labels[0]).toBe(9);
      expect(Math.max(...ds.images.subarray(0, 784))).toBe(1);
      checkDataset(ds, 'fashion-mnist');
    },
  );
});

describe('CIFAR-10 binary', () => {
  it('decodes planes into NHWC and concatenates batches in order', () => {
    const ds = decodeCifar10([cifarBatch(0, 2), cifarBatch(2, 1)]);
    expect(ds.shape).toEqual([3, 32, 32, 3]);
    expect([...ds.labels]).toEqual([0, 1, 2]);
    for (const [i, y, x, c] of [
      [0, 0, 0, 0],
      [1, 5, 31, 2],
      [2, 31, 7, 1],
      [2, 0, 1, 0],
    ] as const) {
      expect(ds.images[((i * 32 + y) * 32 + x) * 3 + c]).toBeCloseTo(pix(i, c, y, x) / 255, 7);
    }
  });

  it('loads data_batch_1..5 and test_batch from a directory', () => {
    const cdir = join(dir, 'cifar-10-batches-bin');
    rmSync(cdir, { recursive: true, force: true });
    mkdirSync(cdir);
    for (let b = 1; b <= 5; b++)
      writeFileSync(join(cdir, `data_batch_${b}.bin`), cifarBatch(b * 10, 2));
    writeFileSync(join(cdir, 'test_batch.bin'), cifarBatch(0, 1));
    const train = loadCifar10(cdir, 'train');
    expect(train.shape[0]).toBe(10);
    expect(train.labels[9]).toBe(51 % 10);
    expect(train.images[((9 * 32 + 3) * 32 + 4) * 3 + 2]).toBeCloseTo(pix(51, 2, 3, 4) / 255, 7);
    expect(loadDataset({ format: 'cifar10', dir: cdir }, 'test').shape).toEqual([1, 32, 32, 3]);
  });

  it('rejects a truncated batch and a label above 9', () => {
    expect(() => decodeCifar10([cifarBatch(0, 1).subarray(0, 3000)])).toThrow(DatasetError);
    const bad = cifarBatch(0, 1);
    bad[0] = 10;
    expect(() => decodeCifar10([bad])).toThrow(/label 10/);
  });
});

describe('STL-10 binary', () => {
  /** Images written from the spec: per channel, column-major (column index outer, row inner). */
  function stlImages(n: number): Buffer {
    const out = Buffer.alloc(n * 3 * 96 * 96);
    let k = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) {
        for (let x = 0; x < 96; x++) {
          for (let y = 0; y < 96; y++) out[k++] = pix(i, c, y, x);
        }
      }
    }
    return out;
  }

  it('transposes column-major planes into NHWC and maps labels 1..10 to 0..9', () => {
    const ds = decodeStl10(stlImages(2), Buffer.from([1, 10]));
    expect(ds.shape).toEqual([2, 96, 96, 3]);
    expect([...ds.labels]).toEqual([0, 9]);
    for (const [i, y, x, c] of [
      [0, 0, 1, 0],
      [0, 1, 0, 0],
      [1, 95, 3, 2],
      [1, 40, 77, 1],
    ] as const) {
      expect(ds.images[((i * 96 + y) * 96 + x) * 3 + c]).toBeCloseTo(pix(i, c, y, x) / 255, 7);
    }
  });

  it('rejects label 0 and a label count that does not match', () => {
    expect(() => decodeStl10(stlImages(1), Buffer.from([0]))).toThrow(
      /label 0 .* expected 1\.\.10/,
    );
    expect(() => decodeStl10(stlImages(1), Buffer.from([1, 2]))).toThrow(/2 STL-10 labels for 1/);
  });
});

describe('dataset helpers', () => {
  const ds = decodeCifar10([cifarBatch(0, 3)]);

  it('saves to .npy and loads back the same set', () => {
    saveDatasetNpy(join(dir, 'train_images.npy'), join(dir, 'train_labels.npy'), ds);
    const back = loadDataset({ format: 'npy', dir }, 'train');
    expect(back.shape).toEqual(ds.shape);
    expect(back.images).toEqual(ds.images);
    expect(back.labels).toEqual(ds.labels);
    expect(() =>
      loadDatasetNpy(join(dir, 'train_images.npy'), join(dir, 'train_labels.npy'), 2),
    ).toThrow(/label 2 at index 2 is outside \[0, 2\)/);
  });

  it('takes subsets in the order given', () => {
    const a = decodeCifar10([Buffer.concat([Buffer.alloc(3073, 1), Buffer.alloc(3073, 2)])]);
    const s = subset(a, [1, 0, 1]);
    expect([...s.labels]).toEqual([2, 1, 2]);
    expect(s.images[0]).toBeCloseTo(2 / 255, 7);
    expect(s.images[3072]).toBeCloseTo(1 / 255, 7);
    expect(() => subset(a, [2])).toThrow(RangeError);
  });
});
