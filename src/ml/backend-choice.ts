/**
 * The backend names a user may ask for, without loading TensorFlow.js: the CLI validates
 * `--backend` / ADVROB_BACKEND with this before any stage starts, and stays fast to start.
 */
import { createRequire } from 'node:module';

/**
 * The backends this project can run on, best first. webgpu comes after tfjs-node-gpu (CUDA,
 * when it loads) and, chosen automatically, only on a hardware adapter: on a software one
 * (Mesa's lavapipe) it is correct but slower than tfjs-node or wasm.
 */
export const BACKEND_CHOICES = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const BACKEND_PACKAGES: Record<BackendChoice, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** What webgpu needs besides its tfjs package: Dawn's WebGPU for Node. */
export const DAWN_PACKAGE = 'webgpu';

/** Every package a backend brings in: kept out of cache keys, recorded in provenance. */
export const ML_BACKEND_PACKAGES: readonly string[] = [
  ...Object.values(BACKEND_PACKAGES),
  DAWN_PACKAGE,
];

/** Accepted spellings of a backend request (argument or ADVROB_BACKEND). */
const ALIASES: Record<string, BackendChoice> = {
  'tensorflow-gpu': 'tensorflow-gpu',
  gpu: 'tensorflow-gpu',
  'node-gpu': 'tensorflow-gpu',
  'tfjs-node-gpu': 'tensorflow-gpu',
  webgpu: 'webgpu',
  'tfjs-webgpu': 'webgpu',
  tensorflow: 'tensorflow',
  node: 'tensorflow',
  'tfjs-node': 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

/** Parses a backend request; undefined/''/'auto' means "pick the best available". */
export function parseBackendChoice(value: string | undefined): BackendChoice | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'auto') return undefined;
  const choice = ALIASES[v];
  if (choice === undefined) {
    throw new Error(
      `unknown backend '${value}'; expected one of: auto, ${Object.keys(ALIASES).join(', ')}`,
    );
  }
  return choice;
}

/**
 * What the ML stages of a run will most likely use, for the run header: the requested
 * backend, else the best one whose package is installed. Only a guess for the native ones
 * (an installed tfjs-node may still fail to load its binary); each stage records the
 * backend it really used in provenance.
 */
export function expectedBackend(requested: string | undefined): string {
  const choice = parseBackendChoice(requested);
  if (choice !== undefined) return choice;
  const require = createRequire(import.meta.url);
  for (const candidate of BACKEND_CHOICES) {
    // Whether webgpu's adapter is a hardware one takes loading Dawn to tell: left out here.
    if (candidate === 'webgpu') continue;
    try {
      require.resolve(BACKEND_PACKAGES[candidate]);
      return `${candidate} (auto)`;
    } catch {
      // not installed: try the next one
    }
  }
  return 'cpu (auto)';
}
