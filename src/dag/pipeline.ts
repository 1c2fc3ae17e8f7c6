/**
 * The entry of the pure core: pipeline.yaml text -> a validated, expanded, ordered
 * Pipeline, or every user-fixable problem found as diagnostics with positions. The phases
 * are load (YAML) -> schema -> params (profile, --set) -> expand -> graph. Only
 * `loadPipelineFile` touches the disk, to read the one file.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { Diagnostic, Result } from './diagnostics.js';
import { fail, formatDiagnostic, ok } from './diagnostics.js';
import { expandStages } from './expand.js';
import { buildGraph } from './graph.js';
import { parseYaml, type YamlSource } from './load.js';
import { applyProfile, applySets, interpolateValue } from './params.js';
import type { ConcreteStage, Json, JsonObject, LoadOptions, Pipeline } from './pipeline-types.js';
import { retryPolicy } from './retry.js';
import { type PipelineDocument, pipelineSchema, runtimeRetryFields } from './schema.js';
import { didYouMean } from './similar.js';
import { type RuntimeSettings, runtimeSchema } from './slurm/settings.js';
import type { StageRegistry } from './stage-kind.js';
import { dottedPath, validateAgainst } from './validate.js';

/**
 * Errors in source order (each phase reports about one file, or one flag), so the first one
 * printed is the first one in the file; an error found again through another foreach
 * expansion is reported once.
 */
function inSourceOrder(found: Diagnostic[]): Diagnostic[] {
  const unique = new Map(found.map((d) => [formatDiagnostic(d), d]));
  const at = (d: Diagnostic): number[] => [d.location?.line ?? 0, d.location?.column ?? 0];
  return [...unique.values()].sort((a, b) => {
    const [la = 0, ca = 0] = at(a);
    const [lb = 0, cb = 0] = at(b);
    return la - lb || ca - cb;
  });
}

function validateDocument(value: unknown, source: YamlSource): Result<PipelineDocument> {
  const issues = validateAgainst(pipelineSchema, value, (path) => dottedPath(path));
  if (issues.length === 0) return ok(value as PipelineDocument);
  return fail(
    inSourceOrder(
      issues.map((issue) => ({
        severity: 'error',
        message: issue.message,
        location: source.locate(issue.path, issue.atKey ? 'key' : 'value'),
        ...(issue.hint ? { hint: issue.hint } : {}),
      })),
    ),
  );
}

function resolveParams(doc: PipelineDocument, opts: LoadOptions): Result<JsonObject> {
  const profiled = applyProfile(doc.params ?? {}, doc.profiles ?? {}, opts.profile);
  if (!profiled.ok) return profiled;
  return applySets(profiled.value, opts.sets ?? []);
}

const nameFromFile = (file: string): string => basename(file, extname(file));

const resolvedRuntimeSchema = runtimeSchema(false, runtimeRetryFields);

/**
 * `runtime:` with its `${...}` resolved against the params (so a profile or --set can pick
 * it), then checked in its final form; a `runtime.slurm.kinds` entry must name a kind.
 */
function resolveRuntime(
  doc: PipelineDocument,
  params: JsonObject,
  source: YamlSource,
  registry: StageRegistry,
): Result<Pipeline['runtime']> {
  const errors: Diagnostic[] = [];
  const runtime = interpolateValue(
    (doc.runtime ?? {}) as Json,
    { binding: {}, params },
    ['runtime'],
    (path, index) => source.locateInString(path, index),
    errors,
  );
  if (errors.length) return fail(errors);
  for (const issue of validateAgainst(resolvedRuntimeSchema, runtime, (path) =>
    dottedPath(['runtime', ...path]),
  )) {
    errors.push({
      severity: 'error',
      message: issue.message,
      location: source.locate(['runtime', ...issue.path], issue.atKey ? 'key' : 'value'),
      ...(issue.hint ? { hint: issue.hint } : {}),
    });
  }
  const kinds = [...registry.keys()];
  for (const kind of Object.keys((runtime as RuntimeSettings).slurm?.kinds ?? {})) {
    if (registry.has(kind)) continue;
    const hint = didYouMean(kind, kinds);
    errors.push({
      severity: 'error',
      message: `runtime.slurm.kinds: unknown stage kind '${kind}'; expected one of ${kinds.join(', ')}`,
      location: source.locate(['runtime', 'slurm', 'kinds', kind], 'key'),
      ...(hint ? { hint } : {}),
    });
  }
  if (errors.length) return fail(inSourceOrder(errors));
  return ok(runtime as RuntimeSettings);
}

/**
 * Parses, validates and expands one pipeline. `file` is how diagnostics name it (a path
 * relative to the workspace). The registry decides which kinds exist and their params.
 */
export function loadPipeline(
  text: string,
  file: string,
  registry: StageRegistry,
  opts: LoadOptions = {},
): Result<Pipeline> {
  const parsed = parseYaml(text, file);
  if (!parsed.ok) return parsed;
  const { value, source } = parsed.value;
  const doc = validateDocument(value, source);
  if (!doc.ok) return doc;
  const params = resolveParams(doc.value, opts);
  if (!params.ok) return params;
  const runtime = resolveRuntime(doc.value, params.value, source, registry);
  if (!runtime.ok) return runtime;
  const expansion = expandStages(doc.value, params.value, registry, source);
  if (expansion.errors.length) return fail(inSourceOrder(expansion.errors));
  const graph = buildGraph(expansion.drafts, registry, source);
  if (graph.errors.length) return fail(inSourceOrder(graph.errors));
  return ok({
    file,
    name: doc.value.name ?? nameFromFile(file),
    profile: opts.profile ?? null,
    params: params.value,
    runtime: runtime.value,
    retry: Object.fromEntries(
      Object.entries(doc.value.stages).map(([name, stage]) => [
        name,
        retryPolicy(stage, doc.value.runtime ?? {}),
      ]),
    ),
    priority: inheritedPriorities(graph.stages, doc.value.stages),
    stages: graph.stages,
    groups: graph.groups,
  });
}

/**
 * Each stage's priority: its own `priority:` or the highest positive one of the stages that
 * read its output, whichever is higher (one pass over the stages from last to first in
 * topological order, linear in the edges). Only ids whose priority is not 0 are listed.
 */
function inheritedPriorities(
  stages: ConcreteStage[],
  declared: Record<string, { priority?: number }>,
): Record<string, number> {
  const priority = new Map<string, number>();
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i] as ConcreteStage;
    const inherited = priority.get(stage.id);
    const own = declared[stage.name]?.priority;
    const effective = own === undefined ? (inherited ?? 0) : Math.max(own, inherited ?? own);
    if (effective === 0) continue;
    priority.set(stage.id, effective);
    if (effective < 0) continue;
    for (const input of stage.inputs) {
      for (const ref of input.refs) {
        if ((priority.get(ref.stageId) ?? 0) < effective) priority.set(ref.stageId, effective);
      }
    }
  }
  return Object.fromEntries(priority);
}

/** Reads `path` and loads it; `file` is the name diagnostics use (defaults to `path`). */
export async function loadPipelineFile(
  path: string,
  registry: StageRegistry,
  opts: LoadOptions = {},
  file = path,
): Promise<Result<Pipeline>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason =
      (e as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'no such file'
        : String((e as Error).message);
    return fail([
      {
        severity: 'error',
        message: `cannot read ${file}: ${reason}; expected a pipeline file (pass another with --file)`,
      },
    ]);
  }
  return loadPipeline(text, file, registry, opts);
}
