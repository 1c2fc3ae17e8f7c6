/**
 * The loaded pipeline, kept under `cache/pipelines/` keyed by everything loading reads:
 * the file's bytes, how it is named, --profile and --set, and the built code (the engine,
 * and the kinds whose params schemas, inputs and outputs it checks). A command on an
 * unchanged pipeline then reads one JSON file instead of parsing, validating and expanding
 * it again: the YAML parser, ajv and the kinds it does not use are not even imported. Only a
 * pipeline that loaded without errors is kept, and only in a workspace that has a cache:
 * loading never creates `cache/`, but a run that has created it keeps the pipeline it loaded
 * before (`keepPendingPipeline`), so the first no-op run after a cold one finds it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Result } from '../dag/diagnostics.js';
import type { LoadOptions, Pipeline } from '../dag/pipeline-types.js';
import { writeFileAtomic } from '../dag/store.js';

/** Bump when the cached form changes meaning. */
const FORMAT = 2;
/** Entries kept (one per profile/--set combination in use, roughly). */
const KEEP = 16;

const builtDir = fileURLToPath(new URL('../', import.meta.url));

/**
 * The built code as the size and mtime of every module under dist/src: the engine that
 * expands a pipeline and the kinds whose params schemas, inputs and outputs it checks. Any
 * rebuild or upgrade changes it, so a pipeline loaded by other code is never reused (nor
 * are the kinds imported just to key the cache).
 */
function codeStamp(): string {
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(builtDir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.js')) files.push(child);
    }
  };
  walk('');
  return files
    .sort()
    .map((f) => {
      const s = fs.statSync(path.join(builtDir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    })
    .join(',');
}

export interface PipelineSource {
  text: string;
  /** How diagnostics and `Pipeline.file` name it. */
  file: string;
  opts: LoadOptions;
}

export function pipelineCacheKey(source: PipelineSource, tool: string) {
  return createHash('sha256')
    .update(
      JSON.stringify([
        FORMAT,
        tool,
        codeStamp(),
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
  if (result.ok) {
    const keep = (): void => {
      try {
        writeFileAtomic(file, JSON.stringify(result.value), { durable: false });
        prune(dir);
      } catch {
        // a cache that cannot be written only costs the next command a load
      }
    };
    if (fs.existsSync(cacheDir)) keep();
    else pending = keep;
  }
  return result;
}

/** The write a load left for later because `cache/` did not exist yet. */
let pending: (() => void) | undefined;

/** Keeps the pipeline loaded before `cache/` existed; called once a run has created it. */
export function keepPendingPipeline(): void {
  pending?.();
  pending = undefined;
}

function prune(dir: string): void {
  const entries = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of entries.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
}
