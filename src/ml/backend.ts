/**
 * Chooses and initialises the TensorFlow.js backend for this process: tfjs-node-gpu ->
 * webgpu (a hardware adapter only) -> tfjs-node -> wasm -> pure-JS cpu, unless
 * ADVROB_BACKEND or the caller names one. The native and GPU packages are optional
 * dependencies loaded with dynamic import, so a machine without them (offline install)
 * still works; why each candidate was skipped is kept for `advrob-dag doctor`. On wasm it
 * installs the project's kernels (src/ml/kernels).
 * Must never fall back silently when a backend was asked for by name: that throws.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_CHOICES,
  BACKEND_PACKAGES,
  type BackendChoice,
  DAWN_PACKAGE,
  parseBackendChoice,
} from './backend-choice.js';
import { type NativeStatus, nativeStatus } from './kernels/native.js';
import { registerWasmKernels, registerWebgpuKernels } from './kernels/register.js';
import { findAdapter, formatAdapter, type GpuAdapterInfo } from './webgpu.js';

export { BACKEND_CHOICES, type BackendChoice, parseBackendChoice } from './backend-choice.js';

/** One candidate tried (or skipped) during selection, with the reason when it failed. */
export interface BackendAttempt {
  choice: BackendChoice;
  /** npm package providing it. */
  package: string;
  ok: boolean;
  /** Why it is not active (absent package, failed init, not tried because a better one won). */
  reason?: string;
}

export interface WasmDetails {
  /** Which binary was loaded, e.g. 'tfjs-backend-wasm-simd.wasm'. */
  binary: string;
  simd: boolean;
  threads: number;
  /** Why the multi-threaded binary is not used in Node. */
  threadsNote: string;
  /** Whether the native AVX2 kernels (kernels/native.ts) run convolutions and products. */
  native: NativeStatus;
}

export interface BackendInfo {
  /** The tfjs backend name now active: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'. */
  name: string;
  choice: BackendChoice;
  /** Where the choice came from. */
  source: 'argument' | 'env' | 'auto';
  package: string;
  packageVersion: string;
  coreVersion: string;
  /** Present when the wasm backend is active. */
  wasm?: WasmDetails;
  /** The GPU adapter, when the webgpu backend is active. */
  adapter?: GpuAdapterInfo;
  /** Dawn's npm package and version (`webgpu@0.6.2`), when the webgpu backend is active. */
  dawnPackage?: string;
  /** Kernels this project registered over (or in addition to) the backend's own. */
  customKernels: string[];
  /** Every candidate considered, in order. */
  attempts: BackendAttempt[];
}

const require = createRequire(import.meta.url);

function packageVersion(pkg: string): string {
  try {
    const file = require.resolve(`${pkg}/package.json`);
    return (require(file) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const NOT_INSTALLED: Partial<Record<BackendChoice, string>> = {
  webgpu: 'not installed (optional dependencies webgpu and @tensorflow/tfjs-backend-webgpu)',
};

function describe(e: unknown, choice: BackendChoice): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return (
        NOT_INSTALLED[choice] ??
        'not installed (optional dependency; its install downloads libtensorflow)'
      );
    }
    return e.message.split('\n')[0] ?? e.message;
  }
  return String(e);
}

/** The folder holding the wasm binaries, with a trailing separator as setWasmPaths wants. */
export function wasmBinaryDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

const THREADS_NOTE =
  'tfjs-backend-wasm disables threads in Node (its threaded build starts workers from blob: ' +
  'URLs, which Node 20 worker_threads reject), so the single-threaded SIMD binary is used';

async function initWasm(): Promise<WasmDetails> {
  const wasmPkg = await import('@tensorflow/tfjs-backend-wasm');
  // setWasmPaths throws once the backend has been initialised; it is set once per process.
  if (tf.findBackend('wasm') === null) wasmPkg.setWasmPaths(wasmBinaryDir());
  if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
  await tf.ready();
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const multi = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const binary = simd
    ? multi
      ? 'tfjs-backend-wasm-threaded-simd.wasm'
      : 'tfjs-backend-wasm-simd.wasm'
    : 'tfjs-backend-wasm.wasm';
  return {
    binary,
    simd,
    threads: multi ? wasmPkg.getThreadsCount() : 1,
    threadsNote: THREADS_NOTE,
    native: nativeStatus(),
  };
}

/**
 * Dawn's WebGPU, on the adapter tfjs-backend-webgpu will also pick. An automatic choice
 * takes only a hardware one: on a software adapter the backend is correct but slower
 * than wasm, so it runs there only when asked for by name (the CI tests do, on lavapipe).
 */
async function initWebgpu(automatic: boolean): Promise<GpuAdapterInfo> {
  const adapter = await findAdapter();
  if (automatic && adapter.software) {
    throw new Error(
      `the adapter is ${formatAdapter(adapter)}: chosen automatically only on a hardware GPU (ask for it with --backend webgpu)`,
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  return adapter;
}

async function initNative(choice: 'tensorflow' | 'tensorflow-gpu'): Promise<void> {
  // Importing tfjs-node registers the 'tensorflow' backend as a side effect.
  await import(BACKEND_PACKAGES[choice]);
  if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") failed');
  await tf.ready();
}

async function initCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
  await tf.ready();
}

type Details = Pick<BackendInfo, 'wasm' | 'adapter' | 'dawnPackage'>;

async function tryInit(choice: BackendChoice, automatic: boolean): Promise<Details> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      await initNative(choice);
      return {};
    case 'webgpu':
      return {
        adapter: await initWebgpu(automatic),
        dawnPackage: `${DAWN_PACKAGE}@${packageVersion(DAWN_PACKAGE)}`,
      };
    case 'wasm':
      return { wasm: await initWasm() };
    case 'cpu':
      await initCpu();
      return {};
  }
}

/** The project's kernels for a backend (src/ml/kernels), installed once it is up. */
const PROJECT_KERNELS: Record<string, () => string[]> = {
  wasm: registerWasmKernels,
  webgpu: registerWebgpuKernels,
};

async function select(requested: BackendChoice | undefined, source: BackendInfo['source']) {
  const order: readonly BackendChoice[] = requested === undefined ? BACKEND_CHOICES : [requested];
  // tfjs-core's Node bundle registers no gradients; tfjs-layers' bundle registers all of
  // them as a side effect (the umbrella @tensorflow/tfjs does the same), so load it first.
  await import('@tensorflow/tfjs-layers');
  const attempts: BackendAttempt[] = [];
  for (const choice of order) {
    const pkg = BACKEND_PACKAGES[choice];
    try {
      const details = await tryInit(choice, requested === undefined);
      attempts.push({ choice, package: pkg, ok: true });
      for (const rest of BACKEND_CHOICES.slice(BACKEND_CHOICES.indexOf(choice) + 1)) {
        attempts.push({
          choice: rest,
          package: BACKEND_PACKAGES[rest],
          ok: false,
          reason: `not tried: ${choice} was chosen first`,
        });
      }
      const customKernels = PROJECT_KERNELS[tf.getBackend()]?.() ?? [];
      return {
        name: tf.getBackend(),
        choice,
        source,
        package: pkg,
        packageVersion: packageVersion(pkg),
        coreVersion: tf.version_core,
        customKernels,
        attempts,
        ...details,
      } satisfies BackendInfo;
    } catch (e) {
      attempts.push({ choice, package: pkg, ok: false, reason: describe(e, choice) });
    }
  }
  const why = attempts.map((a) => `${a.choice}: ${a.reason}`).join('; ');
  throw new Error(
    requested === undefined
      ? `no TensorFlow.js backend could be initialised (${why})`
      : `backend '${requested}' (from ${source}) could not be initialised: ${why}`,
  );
}

const selections = new Map<string, Promise<BackendInfo>>();

/**
 * Initialises the backend once per process and returns what was chosen and why.
 * `preferred` (or else ADVROB_BACKEND) names one of BACKEND_CHOICES (or an alias such as
 * 'node', 'gpu', 'auto'); a named backend that fails to start is an error, not a fallback.
 * Repeated calls with the same request return the same promise.
 */
export function initBackend(preferred?: string): Promise<BackendInfo> {
  const fromArg = parseBackendChoice(preferred);
  const fromEnv =
    fromArg === undefined ? parseBackendChoice(process.env.ADVROB_BACKEND) : undefined;
  const requested = fromArg ?? fromEnv;
  const source: BackendInfo['source'] =
    fromArg !== undefined ? 'argument' : fromEnv !== undefined ? 'env' : 'auto';
  const key = requested ?? 'auto';
  let pending = selections.get(key);
  if (pending === undefined) {
    pending = select(requested, source);
    selections.set(key, pending);
    // A failed attempt may be retried (e.g. after installing a package in a long session).
    pending.catch(() => selections.delete(key));
  }
  // Another request may have switched backends since; make this one active again.
  return pending.then(async (info) => {
    if (tf.getBackend() !== info.name) {
      await tf.setBackend(info.name);
      await tf.ready();
    }
    return info;
  });
}
