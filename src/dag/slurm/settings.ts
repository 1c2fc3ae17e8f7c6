/**
 * `runtime.executor` and `runtime.slurm` in pipeline.yaml: where and how stages run, never
 * what they compute, so none of it enters a cache key. The schema comes in two forms from
 * one description: as written (a leaf may still be a whole-value `${...}`) and as resolved
 * after interpolation (every leaf its final type), so a profile or `--set` can pick a
 * partition and still be checked with a located error.
 */
import type { Json, JsonObject } from '../pipeline-types.js';
import type { ResourceNeeds } from '../stage-kind.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

/** What may be set for all stages, and again per kind. */
export interface SlurmJobSettings {
  partition?: string;
  account?: string;
  /** Slurm's time syntax: minutes, `H:MM:SS`, `D-HH:MM:SS`, ... */
  time?: string | number;
  /** `--cpus-per-task`; default: the kind's cpu tokens. */
  cpus?: number;
  /** `--mem` in Slurm's syntax (`4G`, `500M`); default: the kind's memory tokens, if any. */
  mem?: string;
  /** `--gres=gpu:N`; default: the kind's gpu tokens. */
  gpus?: number;
  /** Further sbatch options, passed as written (`--qos=long`, `--constraint=v100`). */
  options?: string[];
}

export interface SlurmSettings extends SlurmJobSettings {
  /** Seconds between two batched `squeue` queries (and `sacct` when accounting is on). */
  poll_interval?: number;
  /** Per stage kind, over the settings above: e.g. a longer time and a GPU partition for train. */
  kinds?: Record<string, SlurmJobSettings>;
}

export interface RuntimeSettings {
  backend?: string;
  executor?: ExecutorName;
  slurm?: SlurmSettings;
}

const WHOLE = { type: 'string', pattern: '^\\$\\{[^}]*\\}$' } as const;
const TIME = '^(UNLIMITED|INFINITE|(\\d+-)?\\d+(:\\d+){0,2}|\\d+-\\d+)$';
const MEMORY = '^\\d+[KMGT]?$';

/** A leaf: its resolved form, or (as written) a whole-value interpolation. */
function leaf(description: string, resolved: JsonObject, written: boolean): JsonObject {
  return written ? { description, anyOf: [resolved, WHOLE] } : { description, ...resolved };
}

function jobProperties(written: boolean): Record<string, Json> {
  const timeForms: Json[] = [
    { type: 'integer', minimum: 1 },
    { type: 'string', pattern: TIME },
  ];
  return {
    partition: leaf('a partition name', { type: 'string', minLength: 1 }, written),
    account: leaf('an account name', { type: 'string', minLength: 1 }, written),
    time: {
      description: 'a Slurm time limit: minutes, "H:MM:SS" or "D-HH:MM:SS"',
      anyOf: written ? [...timeForms, WHOLE] : timeForms,
    },
    cpus: leaf('a whole number of CPUs >= 1', { type: 'integer', minimum: 1 }, written),
    mem: leaf(
      'memory in Slurm syntax, e.g. 4G or 500M',
      { type: 'string', pattern: MEMORY },
      written,
    ),
    gpus: leaf('a whole number of GPUs >= 0', { type: 'integer', minimum: 0 }, written),
    options: written
      ? {
          description: 'a list of sbatch options such as --qos=long',
          anyOf: [{ type: 'array', items: { type: 'string' } }, WHOLE],
        }
      : {
          description: 'a list of sbatch options such as --qos=long',
          type: 'array',
          items: { type: 'string', pattern: '^-' },
        },
  };
}

/**
 * The JSON Schema of `runtime:` as written (`written: true`) or as resolved; `more` are the
 * runtime settings other parts of the engine own (e.g. retries), the same in both forms.
 */
export function runtimeSchema(written: boolean, more: Record<string, JsonObject> = {}): JsonObject {
  const job = jobProperties(written);
  return {
    type: 'object',
    description:
      'How stages run, not what they compute: never part of a cache key (recorded in provenance).',
    properties: {
      backend: {
        type: 'string',
        description:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the user-facing ${...} syntax
          'ML backend of the stage processes: auto, webgpu, wasm, cpu, tensorflow, tensorflow-gpu, or ${param}. ADVROB_BACKEND and run --backend override it.',
      },
      executor: written
        ? {
            description: 'where stages run: local or slurm (run --executor overrides it)',
            anyOf: [{ enum: [...EXECUTORS] }, WHOLE],
          }
        : { enum: [...EXECUTORS] },
      slurm: {
        type: 'object',
        description: 'sbatch settings for `--executor slurm` (see docs/slurm.md).',
        properties: {
          ...job,
          poll_interval: leaf(
            'seconds between two queue queries, >= 1',
            { type: 'number', minimum: 1 },
            written,
          ),
          kinds: {
            type: 'object',
            description: 'per stage kind: the same settings, over the ones above',
            additionalProperties: { type: 'object', properties: job, additionalProperties: false },
          },
        },
        additionalProperties: false,
      },
      ...more,
    },
    additionalProperties: false,
  };
}

/** The sbatch settings of one job: the kind's own over the common ones over its tokens. */
export interface JobRequest {
  partition?: string;
  account?: string;
  time?: string;
  cpus: number;
  mem?: string;
  gpus: number;
  options: string[];
}

export function jobRequest(
  settings: SlurmSettings | undefined,
  kind: string,
  needs: ResourceNeeds | undefined,
): JobRequest {
  const common = settings ?? {};
  const own = common.kinds?.[kind] ?? {};
  const pick = <K extends keyof SlurmJobSettings>(key: K): SlurmJobSettings[K] =>
    own[key] ?? common[key];
  const time = pick('time');
  const memoryMb = needs?.memoryMb;
  const mem = pick('mem') ?? (memoryMb ? `${Math.ceil(memoryMb)}M` : undefined);
  const partition = pick('partition');
  const account = pick('account');
  return {
    ...(partition !== undefined ? { partition } : {}),
    ...(account !== undefined ? { account } : {}),
    ...(time !== undefined ? { time: String(time) } : {}),
    cpus: pick('cpus') ?? Math.max(1, needs?.cpu ?? 1),
    ...(mem !== undefined ? { mem } : {}),
    gpus: pick('gpus') ?? needs?.gpu ?? 0,
    options: [...(common.options ?? []), ...(own.options ?? [])],
  };
}
