// Builds the optional native kernels (native/*.cc) into native/build/advrob_kernels.node
// with the system's C++ compiler and the headers of the Node that runs this script. Never
// fails the install: without a compiler or headers it says why, and the wasm kernels run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const srcDir = path.join(root, 'native');
const outDir = path.join(srcDir, 'build');
const target = path.join(outDir, 'advrob_kernels.node');
const sources = ['kernels.cc', 'addon.cc', 'gemm.h'].map((f) => path.join(srcDir, f));
const compiler = process.env.CXX ?? 'g++';

function headersDir() {
  const candidates = [
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
  ];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h')));
}

function upToDate() {
  if (!fs.existsSync(target)) return false;
  const built = fs.statSync(target).mtimeMs;
  return sources.every((f) => fs.statSync(f).mtimeMs <= built);
}

function run(args) {
  const r = spawnSync(compiler, args, { cwd: outDir, encoding: 'utf8' });
  if (r.error) return `${compiler} not found (${r.error.message})`;
  if (r.status !== 0) return `${compiler} ${args.join(' ')} failed:\n${r.stderr}`;
  return undefined;
}

function build() {
  if (process.arch !== 'x64') return `skipped (AVX2 kernels; this is ${process.arch})`;
  if (upToDate()) return undefined;
  const headers = headersDir();
  if (headers === undefined) return "skipped (Node's headers, node_api.h, not found)";
  fs.mkdirSync(outDir, { recursive: true });
  const common = ['-std=c++17', '-fPIC', '-Wall', '-Wextra', '-c'];
  const tmp = `${target}.${process.pid}.tmp`;
  const error =
    run([
      ...common,
      '-O3',
      '-mavx2',
      '-mfma',
      '-ffp-contract=fast',
      '../kernels.cc',
      '-o',
      'kernels.o',
    ]) ??
    run([
      ...common,
      '-O2',
      '-DNODE_GYP_MODULE_NAME=advrob_kernels',
      `-I${headers}`,
      '../addon.cc',
      '-o',
      'addon.o',
    ]) ??
    run(['-shared', '-o', tmp, 'addon.o', 'kernels.o']);
  if (error !== undefined) return error;
  fs.renameSync(tmp, target);
  return undefined;
}

const problem = process.env.ADVROB_NATIVE === '0' ? undefined : build();
if (problem !== undefined) {
  fs.rmSync(target, { force: true });
  console.warn(
    `advrob-dag: native kernels not built: ${problem}\nadvrob-dag: the wasm kernels will run instead (slower; see docs/ml-backend.md).`,
  );
}
