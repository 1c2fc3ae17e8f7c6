/**
 * The JSON Schema of pipeline.yaml (draft-07) and the typed document it admits. This is the
 * single source of schema/pipeline.schema.json (scripts/gen-schema.ts writes it). It checks
 * shape only: names, kinds, interpolation and inputs are checked by later phases.
 */
import type { Json, JsonObject } from './pipeline-types.js';
import { RETRYABLE_CAUSES, type RetryableCause, type RetrySettings } from './retry.js';
import { type RuntimeSettings, runtimeSchema } from './slurm/settings.js';

/** `${...}` as the whole value: it takes the type of what it names. */
const WHOLE_INTERPOLATION = '^\\$\\{[^}]*\\}$';
const STAGE_NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';
const FOREACH_KEY = '^[A-Za-z_][A-Za-z0-9_]*$';
const PROFILE_NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';

const stringList: JsonObject = { type: 'array', items: { type: 'string' } };

/** `retries` and `retry_on`, under `runtime:` (the default) and on a stage (its own). */
const retryFields: Record<string, JsonObject> = {
  retries: {
    type: 'integer',
    minimum: 0,
    maximum: 100,
    description:
      'How many times to run a failed stage again (default 0), for the causes in retry_on.',
  },
  retry_on: {
    type: 'array',
    items: { enum: [...RETRYABLE_CAUSES] },
    uniqueItems: true,
    description:
      'Failure causes worth a retry (default signal, node-failure, preempted); add exit to retry a plain non-zero exit.',
  },
};

/** The retry settings runtime: holds for all stages (each stage may set its own). */
export const runtimeRetryFields: Record<string, JsonObject> = {
  ...retryFields,
  retry_backoff: {
    type: 'number',
    minimum: 0,
    maximum: 3600,
    description:
      'Seconds before the first retry (default 1); each further one waits twice as long, at most 60.',
  },
};

const foreachSpec: JsonObject = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the user-facing ${...} syntax
  description: 'a list, { range: N }, { keys: OBJECT } or a whole-value ${...}',
  anyOf: [
    { type: 'array' },
    {
      type: 'object',
      properties: { range: { type: ['integer', 'string'] } },
      required: ['range'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: { keys: { type: ['object', 'string'] } },
      required: ['keys'],
      additionalProperties: false,
    },
    { type: 'string', pattern: WHOLE_INTERPOLATION },
  ],
};

const stage: JsonObject = {
  type: 'object',
  description: 'One stage, or a group of stages when it has foreach.',
  properties: {
    kind: { type: 'string', description: 'The stage kind: a registered kind, or command.' },
    params: {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the user-facing ${...} syntax
      description: 'a mapping or a whole-value ${...}',
      anyOf: [{ type: 'object' }, { type: 'string', pattern: WHOLE_INTERPOLATION }],
    },
    inputs: {
      type: 'object',
      description: 'NAME: stage-id, stage-id:path, or a pattern such as train[normal,*].',
      additionalProperties: { type: 'string' },
    },
    foreach: {
      type: 'object',
      description: 'Matrix expansion; keys in this order make the id name[v1,v2,...].',
      propertyNames: { pattern: FOREACH_KEY },
      additionalProperties: foreachSpec,
      minProperties: 1,
    },
    deps: { ...stringList, description: 'Workspace files or directories, hashed by content.' },
    cmd: { type: 'string', description: 'kind command: the shell command.' },
    outs: { ...stringList, description: 'kind command: files it writes in its output dir.' },
    env: {
      type: 'object',
      description: 'kind command: extra environment variables.',
      additionalProperties: { type: 'string' },
    },
    tools: {
      ...stringList,
      description:
        'kind command: shell commands whose output identifies a tool it uses (python3 --version), run once per run; their output enters the key.',
    },
    ...retryFields,
    priority: {
      type: 'integer',
      description:
        'Which of the stages ready at the same time starts first (higher first; default 0). Scheduling only: never part of a key.',
    },
  },
  required: ['kind'],
  additionalProperties: false,
};

export const pipelineSchema: JsonObject = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'advrob-dag pipeline.yaml',
  type: 'object',
  properties: {
    version: { const: 1, description: 'Format version; always 1.' },
    name: { type: 'string' },
    params: { type: 'object', description: 'The default parameter tree.' },
    profiles: {
      type: 'object',
      description: '--profile NAME: its params are deep-merged over the defaults.',
      propertyNames: { pattern: PROFILE_NAME },
      additionalProperties: {
        type: 'object',
        properties: { params: { type: 'object' } },
        additionalProperties: false,
      },
    },
    runtime: runtimeSchema(true, runtimeRetryFields),
    stages: {
      type: 'object',
      propertyNames: { pattern: STAGE_NAME },
      additionalProperties: stage,
    },
  },
  required: ['version', 'stages'],
  additionalProperties: false,
};

export type ForeachSpec =
  | Json[]
  | { range: number | string }
  | { keys: JsonObject | string }
  | string;

/** A stage as written, before interpolation and expansion. */
export interface StageDocument {
  kind: string;
  params?: JsonObject | string;
  inputs?: Record<string, string>;
  foreach?: Record<string, ForeachSpec>;
  deps?: string[];
  cmd?: string;
  outs?: string[];
  env?: Record<string, string>;
  tools?: string[];
  retries?: number;
  retry_on?: RetryableCause[];
  priority?: number;
}

/** pipeline.yaml after schema validation. */
export interface PipelineDocument {
  version: 1;
  name?: string;
  params?: JsonObject;
  profiles?: Record<string, { params?: JsonObject }>;
  runtime?: RuntimeSettings & RetrySettings;
  stages: Record<string, StageDocument>;
}
