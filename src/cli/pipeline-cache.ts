/**
 * The loaded pipeline, kept under `cache/pipelines/` keyed by everything loading reads:
 * the file's bytes, how it is named, --profile and --set, the registry's kinds (names,
 * params schemas, inputs) and the engine's built code. A command on an unchanged pipeline
 * then reads one JSON file instead of parsing, validating and expanding it again: the YAML
 * parser and ajv are not even imported. Only a pipeline that loaded without errors is kept,
 * and only in a workspace that already has a cache (loading never creates `cache/`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from '../dag/diagnostics.js';
import type { LoadOptions, Pipeline } from '../dag/pipeline-types.js';
import type { StageRegistry } from '../dag/stage-kind.js';
import { writeFileAtomic } from '../dag/store.js';

/** Bump when the cached form changes meaning. */
const FORMAT = 1;
/** Entries kept (one per profile/--set combination in use, roughly). */
const KEEP = 16;

const engineDir = fileURLToPath(new URL('../dag/', import.meta.url));

/**
 * The engine's built modules as size and mtime: any rebuild or upgrade changes it, so a
 * pipeline expanded by older code is never reused.
 */
function engineStamp(): string {
  return fs
    .readdirSync(engineDir)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => {
      const s = fs.statSync(path.join(engineDir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .join(',');
}

/** What loading takes from the registry: each kind's name, params schema, inputs and outputs. */
const registryShape = (registry: StageRegistry): unknown =>
  [...registry.values()].map((k) => [k.kind, k.paramsSchema, k.inputs, k.outputs]);

export interface PipelineSource {
  text: string;
  /** How diagnostics and `Pipeline.file` name it. */
  file: string;
  opts: LoadOptions;
}

export function pipelineCacheKey(source: PipelineSource, registry: StageRegistry, tool: string) {
  return createHash('sha256')
    .update(
      JSON.stringify([
        FORMAT,
        tool,
        engineStamp(),
        registryShape(registry),
        source.file,
        source.opts.profile ?? null,
        source.opts.sets ?? [],
        source.text,
      ]),
    )
    .digest('hex');
}

/** The cached pipeline for `source`, or `load()`'s result (kept when it succeeded). */
export async function cachedPipeline(
  cacheDir: string,
  key: string,
  load: () => Promise<Result<Pipeline>>,
): Promise<Result<Pipeline>> {
  const dir = path.join(cacheDir, 'pipelines');
  const file = path.join(dir, `${key}.json`);
  try {
    return { ok: true, value: JSON.parse(fs.readFileSync(file, 'utf8')) as Pipeline };
  } catch {
    // not cached yet (or unreadable): load it
  }
  const result = await load();
  if (result.ok && fs.existsSync(cacheDir)) {
    try {
      writeFileAtomic(file, JSON.stringify(result.value), { durable: false });
      prune(dir);
    } catch {
      // a cache that cannot be written only costs the next command a load
    }
  }
  return result;
}

function prune(dir: string): void {
  const entries = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of entries.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
}
