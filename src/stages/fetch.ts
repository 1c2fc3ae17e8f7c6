/**
 * Stage kind `fetch`: brings a dataset into the pipeline as NumPy files
 * ({train,test}_{images,labels}.npy, float32 NHWC in [0, 1] and int32 labels) plus
 * dataset.json. Sources: the embedded Fashion-MNIST subset (verified against its recorded
 * digests), Debian's Fashion-MNIST, any IDX or .npy directory, and CIFAR-10 / STL-10 from a
 * local archive or directory or downloaded from the official URL and checked against the
 * published md5. It never downloads when a local copy is given or already present, and an
 * offline machine gets one message saying where to put the file.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../dag/diagnostics.js';
import type { JsonObject } from '../dag/pipeline-types.js';
import { defineStage } from '../dag/stage-kind.js';
import { type ImageDataset, saveDatasetNpy } from '../ml/data/dataset.js';
import type { DatasetSource } from '../ml/data/load.js';
import { sha256File, writeJson } from './io.js';

export const FETCH_SOURCES = ['embedded', 'debian', 'idx', 'npy', 'cifar10', 'stl10'] as const;
type FetchSource = (typeof FETCH_SOURCES)[number];

type FetchParams = JsonObject & {
  /** Name of the dataset, carried into dataset.json and the report. */
  dataset: string;
  source: FetchSource;
  /** idx/npy: a directory; debian: overrides the Debian directory; cifar10/stl10: archive or directory. */
  path?: string;
  /** cifar10/stl10: where to download from when no local copy exists. */
  url?: string;
  /** cifar10/stl10: expected md5 of the archive. */
  md5?: string;
  /** npy: number of classes. */
  classes?: number;
};

/** sha256 of the embedded files, as data/fashion-mnist-mini/README.md lists them. */
const EMBEDDED_DIGESTS: Record<string, string> = {
  'train-images-idx3-ubyte.gz': '8ed9df739e82a5869bc630ad0c13cc89f3fc2445b3524bc5d5d677cee9be5dac',
  'train-labels-idx1-ubyte.gz': 'a9511e3f0b38d2ce35bdb4008d0e177af9c1520ba3409703eb976cc255b9559c',
  't10k-images-idx3-ubyte.gz': 'c58378bbd6f986a635043068f161a4c2b82c1f4a538e15991776b388b8ca5c0d',
  't10k-labels-idx1-ubyte.gz': '554b244817c14a93c123c96d4118b81e401c217c28f4d213c05128561ff8bd54',
};

/** The official binary archives and their published md5 (the dataset pages, torchvision). */
export const ARCHIVES = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    file: 'cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    folder: 'cifar-10-batches-bin',
    members: [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
      'batches.meta.txt',
    ],
  },
  stl10: {
    url: 'http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz',
    file: 'stl10_binary.tar.gz',
    md5: '91f7769df0f17e558f3565bffb0c7dfb',
    folder: 'stl10_binary',
    members: ['train_X.bin', 'train_y.bin', 'test_X.bin', 'test_y.bin', 'class_names.txt'],
  },
} as const;

/** Downloads are kept here (relative to the workspace) so a changed key does not fetch again. */
export const DOWNLOAD_DIR = 'downloads';

function embeddedDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'data', 'fashion-mnist-mini');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('data/fashion-mnist-mini is missing from this installation');
    dir = parent;
  }
}

const userError = (message: string, hint?: string): UserError =>
  new UserError([{ severity: 'error', message, ...(hint ? { hint } : {}) }]);

async function download(
  url: string,
  target: string,
  log: (l: string) => void,
  signal: AbortSignal,
): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.part`;
  log(`downloading ${url} -> ${target}`);
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (err) {
    throw userError(
      `cannot download ${url} (${(err as Error).cause ?? (err as Error).message})`,
      `download it on a connected machine and put it at ${target}, or set the stage's 'path' param to where the file is`,
    );
  }
  if (!response.ok || !response.body) {
    throw userError(
      `cannot download ${url}: HTTP ${response.status}`,
      `put the file at ${target} instead`,
    );
  }
  const { Readable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const { createWriteStream } = await import('node:fs');
  await pipeline(Readable.fromWeb(response.body as never), createWriteStream(partial));
  renameSync(partial, target);
}

/** A directory holding the binary files: `dir` itself or its `folder` child. */
function binaryDir(dir: string, folder: string): string | undefined {
  if (existsSync(join(dir, folder))) return join(dir, folder);
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}

/** Every binary (.bin) file of the dataset is there, or one message naming the missing ones. */
function requireMembers(kind: 'cifar10' | 'stl10', dir: string): void {
  const spec = ARCHIVES[kind];
  const missing = spec.members.filter((m) => m.endsWith('.bin') && !existsSync(join(dir, m)));
  if (missing.length > 0)
    throw userError(
      `${kind}: ${dir} lacks ${missing.join(', ')}`,
      `expected the files of ${spec.file}, as extracted into ${spec.folder}/`,
    );
}

async function archiveSource(
  kind: 'cifar10' | 'stl10',
  p: FetchParams,
  ctx: { workspace: string; scratchDir: string; log: (l: string) => void; signal: AbortSignal },
): Promise<{ dir: string; files: Record<string, string> }> {
  const spec = ARCHIVES[kind];
  const given = p.path ? resolve(ctx.workspace, p.path) : undefined;
  if (given && existsSync(given) && statSync(given).isDirectory()) {
    const dir = binaryDir(given, spec.folder) as string;
    requireMembers(kind, dir);
    return { dir, files: {} };
  }
  if (given && !existsSync(given)) {
    throw userError(
      `${kind}: '${given}' does not exist`,
      `download ${spec.url} there, or unset 'path' to download it`,
    );
  }
  const archive = given ?? join(ctx.workspace, DOWNLOAD_DIR, spec.file);
  if (!existsSync(archive)) await download(p.url ?? spec.url, archive, ctx.log, ctx.signal);
  // Imported when a stage downloads: every command loads the registry, few fetch.
  const { verifyDigest } = await import('../ml/data/checksum.js');
  const { extractTarGz } = await import('./archive.js');
  await verifyDigest(archive, { algorithm: 'md5', hex: p.md5 ?? spec.md5 });
  const dest = join(ctx.scratchDir, 'extracted');
  rmSync(dest, { recursive: true, force: true });
  const wanted = new Set<string>(spec.members);
  ctx.log(`extracting ${archive}`);
  await extractTarGz(archive, dest, (name) => wanted.has(name.split('/').pop() ?? ''));
  requireMembers(kind, join(dest, spec.folder));
  return { dir: join(dest, spec.folder), files: { [spec.file]: sha256File(archive) } };
}

function idxDigests(dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.keys(EMBEDDED_DIGESTS)
      .filter((f) => existsSync(join(dir, f)))
      .map((f) => [f, sha256File(join(dir, f))]),
  );
}

export const fetchStage = defineStage<FetchParams>({
  kind: 'fetch',
  description:
    'Bring a dataset in as .npy (embedded Fashion-MNIST subset, Debian, IDX, npy, CIFAR-10, STL-10).',
  paramsSchema: {
    type: 'object',
    required: ['dataset', 'source'],
    additionalProperties: false,
    properties: {
      dataset: { type: 'string', minLength: 1 },
      source: { enum: [...FETCH_SOURCES] },
      path: { type: 'string', minLength: 1 },
      url: { type: 'string', minLength: 1 },
      md5: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' },
      classes: { type: 'integer', minimum: 2 },
    },
  },
  inputs: {},
  outputs: [
    'train_images.npy',
    'train_labels.npy',
    'test_images.npy',
    'test_labels.npy',
    'dataset.json',
  ],
  resources: { cpu: 1 },
  module: import.meta.url,
  async run(ctx) {
    const { DEBIAN_FASHION_MNIST_DIR, loadDataset } = await import('../ml/data/load.js');
    const p = ctx.params;
    let source: DatasetSource;
    let files: Record<string, string> = {};
    switch (p.source) {
      case 'embedded': {
        const dir = embeddedDir();
        files = idxDigests(dir);
        for (const [file, digest] of Object.entries(EMBEDDED_DIGESTS)) {
          if (files[file] !== digest)
            throw new Error(`${join(dir, file)}: sha256 ${files[file]}; expected ${digest}`);
        }
        source = { format: 'idx', dir };
        break;
      }
      case 'debian': {
        const dir = p.path ? resolve(ctx.workspace, p.path) : DEBIAN_FASHION_MNIST_DIR;
        if (!existsSync(dir)) {
          throw userError(
            `Fashion-MNIST not found at ${dir}`,
            'apt-get install dataset-fashion-mnist, or set path to a directory of IDX files',
          );
        }
        files = idxDigests(dir);
        source = { format: 'idx', dir };
        break;
      }
      case 'idx':
      case 'npy': {
        if (!p.path)
          throw userError(`source '${p.source}' needs a 'path' param naming a directory`);
        const dir = resolve(ctx.workspace, p.path);
        if (!existsSync(dir)) throw userError(`${p.source} directory '${dir}' does not exist`);
        source =
          p.source === 'idx'
            ? { format: 'idx', dir }
            : { format: 'npy', dir, numClasses: p.classes ?? 10 };
        break;
      }
      case 'cifar10':
      case 'stl10': {
        const found = await archiveSource(p.source, p, ctx);
        files = found.files;
        source = { format: p.source, dir: found.dir };
        break;
      }
    }
    const splits: Record<string, ImageDataset> = {};
    for (const split of ['train', 'test'] as const) {
      ctx.progress({
        unit: 'split',
        done: split === 'train' ? 0 : 1,
        total: 2,
        message: `reading ${split}`,
      });
      const ds = loadDataset(source, split);
      saveDatasetNpy(
        join(ctx.outDir, `${split}_images.npy`),
        join(ctx.outDir, `${split}_labels.npy`),
        ds,
      );
      splits[split] = ds;
    }
    const train = splits.train as ImageDataset;
    writeJson(join(ctx.outDir, 'dataset.json'), {
      stage: ctx.stageId,
      dataset: p.dataset,
      source: p.source,
      classes: train.numClasses,
      imageShape: train.shape.slice(1),
      train: train.shape[0],
      test: (splits.test as ImageDataset).shape[0],
      files,
    });
    ctx.progress({ unit: 'split', done: 2, total: 2 });
  },
});
