/**
 * The `fetch` stage kind, run directly with a hand-built StageContext in temp dirs: CIFAR-10
 * from a local .tar.gz (md5 checked) and from a directory, STL-10 from a directory, unsafe
 * archives refused, an unreachable download reported with where to put the file, and the
 * embedded Fashion-MNIST subset. Fixtures are tiny and written by the tests
 * (test/pipeline/fetch-fixtures.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/dag/pipeline-types.js';
import type { StageContext } from '../../src/dag/stage-kind.js';
import { loadNpy } from '../../src/ml/data/npy.js';
import { extractTarGz, UnsafeArchiveError } from '../../src/stages/archive.js';
import { fetchStage } from '../../src/stages/fetch.js';
import {
  CIFAR_SIDE,
  cifarBatch,
  cifarByte,
  cifarLabel,
  STL_SIDE,
  stlByte,
  stlImages,
  tarGz,
} from './fetch-fixtures.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

interface Sandbox {
  root: string;
  workspace: string;
  outDir: string;
  scratchDir: string;
}

function sandbox(): Sandbox {
  const root = mkdtempSync(join(tmpdir(), 'advrob-fetch-'));
  roots.push(root);
  const dirs = {
    workspace: join(root, 'ws'),
    outDir: join(root, 'out'),
    scratchDir: join(root, 'scratch'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d);
  return { root, ...dirs };
}

function run(box: Sandbox, params: JsonObject): Promise<void> {
  const ctx = {
    stageId: 'fetch',
    params,
    inputs: {},
    deps: [],
    outDir: box.outDir,
    scratchDir: box.scratchDir,
    workspace: box.workspace,
    seed: 1,
    progress: () => {},
    log: () => {},
    signal: new AbortController().signal,
  };
  return fetchStage.run(ctx as unknown as StageContext<never>);
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

const TRAIN_RECORDS = 2; // per data_batch file
const TEST_RECORDS = 3;

/** file index 1..5 are data_batch_1..5, 6 is test_batch. */
function cifarFiles(): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (let f = 1; f <= 5; f++) files[`data_batch_${f}.bin`] = cifarBatch(f, TRAIN_RECORDS);
  files['test_batch.bin'] = cifarBatch(6, TEST_RECORDS);
  return files;
}

function cifarArchive(): Buffer {
  return tarGz([
    { name: 'cifar-10-batches-bin/', type: '5' },
    ...Object.entries(cifarFiles()).map(([name, data]) => ({
      name: `cifar-10-batches-bin/${name}`,
      data,
    })),
  ]);
}

/** NHWC float32 value at image i, row y, column x, channel c. */
const at = (data: ArrayLike<number>, side: number, i: number, y: number, x: number, c: number) =>
  data[((i * side + y) * side + x) * 3 + c];

function expectCifarOutput(outDir: string): void {
  const trainImages = loadNpy(join(outDir, 'train_images.npy'));
  const trainLabels = loadNpy(join(outDir, 'train_labels.npy'));
  const testImages = loadNpy(join(outDir, 'test_images.npy'));
  const testLabels = loadNpy(join(outDir, 'test_labels.npy'));
  expect(trainImages.shape).toEqual([5 * TRAIN_RECORDS, CIFAR_SIDE, CIFAR_SIDE, 3]);
  expect(testImages.shape).toEqual([TEST_RECORDS, CIFAR_SIDE, CIFAR_SIDE, 3]);
  expect(trainImages.dtype).toBe('float32');
  expect(trainLabels.shape).toEqual([5 * TRAIN_RECORDS]);
  expect(testLabels.shape).toEqual([TEST_RECORDS]);
  // Train image 7 is record 1 of data_batch_4; its blue plane at row 5, column 20.
  expect(at(trainImages.data, CIFAR_SIDE, 7, 5, 20, 2)).toBe(
    Math.fround(cifarByte(4, 1, 2, 5, 20) / 255),
  );
  expect(at(trainImages.data, CIFAR_SIDE, 0, 31, 2, 0)).toBe(
    Math.fround(cifarByte(1, 0, 0, 31, 2) / 255),
  );
  expect(at(testImages.data, CIFAR_SIDE, 2, 3, 30, 1)).toBe(
    Math.fround(cifarByte(6, 2, 1, 3, 30) / 255),
  );
  const wantTrain = [1, 2, 3, 4, 5].flatMap((f) =>
    Array.from({ length: TRAIN_RECORDS }, (_, r) => cifarLabel(f, r)),
  );
  expect(Array.from(trainLabels.data)).toEqual(wantTrain);
  expect(Array.from(testLabels.data)).toEqual([0, 1, 2].map((r) => cifarLabel(6, r)));
}

describe('fetch: CIFAR-10', () => {
  it('reads a local .tar.gz whose md5 matches', async () => {
    const box = sandbox();
    const archive = cifarArchive();
    writeFileSync(join(box.workspace, 'cifar.tar.gz'), archive);
    await run(box, {
      dataset: 'cifar10',
      source: 'cifar10',
      path: 'cifar.tar.gz',
      md5: md5(archive),
    });
    expectCifarOutput(box.outDir);
  });

  it('reads an already extracted directory', async () => {
    const box = sandbox();
    const dir = join(box.workspace, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of Object.entries(cifarFiles())) writeFileSync(join(dir, name), data);
    await run(box, { dataset: 'cifar10', source: 'cifar10', path: 'cifar' });
    expectCifarOutput(box.outDir);
  });

  it('names the files a directory lacks', async () => {
    const box = sandbox();
    const dir = join(box.workspace, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of Object.entries(cifarFiles()))
      if (name !== 'data_batch_3.bin' && name !== 'test_batch.bin')
        writeFileSync(join(dir, name), data);
    await expect(
      run(box, { dataset: 'cifar10', source: 'cifar10', path: 'cifar' }),
    ).rejects.toThrow(`cifar10: ${dir} lacks data_batch_3.bin, test_batch.bin`);
    expect(readdirSync(box.outDir)).toEqual([]);
  });

  it('refuses an archive whose md5 differs, naming both digests, and writes nothing', async () => {
    const box = sandbox();
    const archive = cifarArchive();
    writeFileSync(join(box.workspace, 'cifar.tar.gz'), archive);
    const wrong = '0123456789abcdef0123456789abcdef';
    await expect(
      run(box, { dataset: 'cifar10', source: 'cifar10', path: 'cifar.tar.gz', md5: wrong }),
    ).rejects.toThrow(`md5 is ${md5(archive)}; expected ${wrong}`);
    expect(readdirSync(box.outDir)).toEqual([]);
  });

  it('says where to put the archive when the download is unreachable', async () => {
    const box = sandbox();
    const target = join(box.workspace, 'downloads', 'cifar-10-binary.tar.gz');
    await expect(
      run(box, { dataset: 'cifar10', source: 'cifar10', url: 'http://127.0.0.1:9/cifar.tar.gz' }),
    ).rejects.toThrow(`download it on a connected machine and put it at ${target}`);
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
    expect(readdirSync(box.outDir)).toEqual([]);
  });
});

describe('fetch: unsafe archives', () => {
  const payload = Buffer.from('not yours');

  it('refuses a member with .. and writes nothing outside the destination', async () => {
    const box = sandbox();
    const file = join(box.root, 'evil.tar.gz');
    writeFileSync(file, tarGz([{ name: '../evil.bin', data: payload }]));
    const dest = join(box.root, 'dest');
    await expect(extractTarGz(file, dest)).rejects.toThrow(
      `refusing entry '../evil.bin': '..' in path`,
    );
    expect(existsSync(join(box.root, 'evil.bin'))).toBe(false);
  });

  it('refuses an absolute member path', async () => {
    const box = sandbox();
    const outside = join(box.root, 'abs-evil.bin');
    const file = join(box.root, 'evil.tar.gz');
    writeFileSync(file, tarGz([{ name: outside, data: payload }]));
    await expect(extractTarGz(file, join(box.root, 'dest'))).rejects.toThrow(
      `refusing entry '${outside}': absolute path`,
    );
    expect(existsSync(outside)).toBe(false);
  });

  it('refuses a symlink member, so nothing can be written through it', async () => {
    const box = sandbox();
    const outside = join(box.root, 'outside');
    mkdirSync(outside);
    const file = join(box.root, 'evil.tar.gz');
    writeFileSync(
      file,
      tarGz([
        { name: 'cifar-10-batches-bin/link', type: '2', linkname: outside },
        { name: 'cifar-10-batches-bin/link/evil.bin', data: payload },
      ]),
    );
    const dest = join(box.root, 'dest');
    const refused = extractTarGz(file, dest);
    await expect(refused).rejects.toBeInstanceOf(UnsafeArchiveError);
    await expect(refused).rejects.toThrow(
      `refusing entry 'cifar-10-batches-bin/link': links are not extracted`,
    );
    expect(existsSync(join(dest, 'cifar-10-batches-bin', 'link'))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('the stage refuses a CIFAR-10 archive with an escaping member and writes no output', async () => {
    const box = sandbox();
    // The member's base name is one the stage keeps, so only the path check can stop it.
    const archive = tarGz([{ name: '../data_batch_1.bin', data: cifarBatch(1, 1) }]);
    writeFileSync(join(box.workspace, 'cifar.tar.gz'), archive);
    await expect(
      run(box, { dataset: 'cifar10', source: 'cifar10', path: 'cifar.tar.gz', md5: md5(archive) }),
    ).rejects.toThrow(`refusing entry '../data_batch_1.bin'`);
    expect(existsSync(join(box.scratchDir, 'data_batch_1.bin'))).toBe(false);
    expect(readdirSync(box.outDir)).toEqual([]);
  });
});

describe('fetch: STL-10', () => {
  it('reads a directory, turning column-major planes into NHWC and labels 1..10 into 0..9', async () => {
    const box = sandbox();
    const dir = join(box.workspace, 'stl');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train_X.bin'), stlImages(2));
    writeFileSync(join(dir, 'train_y.bin'), Buffer.from([1, 10]));
    writeFileSync(join(dir, 'test_X.bin'), stlImages(1, 2));
    writeFileSync(join(dir, 'test_y.bin'), Buffer.from([5]));
    await run(box, { dataset: 'stl10', source: 'stl10', path: 'stl' });

    const train = loadNpy(join(box.outDir, 'train_images.npy'));
    const test = loadNpy(join(box.outDir, 'test_images.npy'));
    expect(train.shape).toEqual([2, STL_SIDE, STL_SIDE, 3]);
    expect(test.shape).toEqual([1, STL_SIDE, STL_SIDE, 3]);
    // Row 10, column 70 differ from row 70, column 10, so a transposed read fails.
    expect(at(train.data, STL_SIDE, 1, 10, 70, 2)).toBe(Math.fround(stlByte(1, 2, 10, 70) / 255));
    expect(at(train.data, STL_SIDE, 0, 95, 0, 0)).toBe(Math.fround(stlByte(0, 0, 95, 0) / 255));
    expect(at(test.data, STL_SIDE, 0, 3, 40, 1)).toBe(Math.fround(stlByte(2, 1, 3, 40) / 255));
    expect(Array.from(loadNpy(join(box.outDir, 'train_labels.npy')).data)).toEqual([0, 9]);
    expect(Array.from(loadNpy(join(box.outDir, 'test_labels.npy')).data)).toEqual([4]);
  });
});

describe('fetch: embedded Fashion-MNIST subset', () => {
  it('verifies its digests and writes 2,000 train / 500 test 28x28x1 images', async () => {
    const box = sandbox();
    await run(box, { dataset: 'fashion-mnist', source: 'embedded' });
    for (const f of ['train_images', 'train_labels', 'test_images', 'test_labels'])
      expect(existsSync(join(box.outDir, `${f}.npy`))).toBe(true);
    expect(loadNpy(join(box.outDir, 'train_images.npy')).shape).toEqual([2000, 28, 28, 1]);
    expect(loadNpy(join(box.outDir, 'test_images.npy')).shape).toEqual([500, 28, 28, 1]);
    expect(loadNpy(join(box.outDir, 'train_labels.npy')).shape).toEqual([2000]);
    expect(loadNpy(join(box.outDir, 'test_labels.npy')).shape).toEqual([500]);
  });
});
