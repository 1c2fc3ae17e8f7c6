/**
 * What every command needs first: the workspace root, its cache paths, the loaded pipeline
 * and the stage kinds it uses. A bad pipeline.yaml, --profile or --set exits 2 before cache/ is
 * touched; a good one is kept in cache/pipelines/ when cache/ exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dag/diagnostics.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { workspacePaths } from '../dag/run.js';
import type { StageRegistry } from '../dag/stage-kind.js';
import { loadRegistry } from '../stages/index.js';
import { cachedPipeline, pipelineCacheKey } from './pipeline-cache.js';

export interface GlobalOptions {
  workspace: string;
  file: string;
  verbose?: boolean;
}

export interface PipelineOptions {
  profile?: string;
  set?: string[];
}

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(
      fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function resolveWorkspace(opts: GlobalOptions): {
  root: string;
  paths: ReturnType<typeof workspacePaths>;
} {
  const root = path.resolve(opts.workspace);
  return { root, paths: workspacePaths(root) };
}

/** The kinds `pipeline` uses: all a command needs to plan or run it. */
export const kindsOf = (pipeline: Pipeline): Promise<StageRegistry> =>
  loadRegistry(pipeline.stages.map((s) => s.kind));

/**
 * The pipeline the options name. An unchanged pipeline comes from `cache/pipelines/`; the
 * loader itself (YAML parser, ajv, every stage kind) is imported only when it has to run.
 */
export async function openPipeline(
  opts: GlobalOptions,
  pipelineOpts: PipelineOptions,
): Promise<Pipeline> {
  const root = path.resolve(opts.workspace);
  const file = path.resolve(root, opts.file);
  const shown = path.relative(process.cwd(), file) || file;
  const loadOpts = {
    ...(pipelineOpts.profile !== undefined ? { profile: pipelineOpts.profile } : {}),
    sets: pipelineOpts.set ?? [],
  };
  const loader = () => import('../dag/pipeline.js');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    // The loader says why it cannot be read, in its own words.
    const result = await (await loader()).loadPipelineFile(
      file,
      await loadRegistry(),
      loadOpts,
      shown,
    );
    if (!result.ok) throw new UserError(result.error);
    return result.value;
  }
  const key = pipelineCacheKey({ text, file: shown, opts: loadOpts }, toolVersion());
  const result = await cachedPipeline(workspacePaths(root).cache, key, async () =>
    (await loader()).loadPipeline(text, shown, await loadRegistry(), loadOpts),
  );
  if (!result.ok) throw new UserError(result.error);
  return result.value;
}
