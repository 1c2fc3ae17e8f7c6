/**
 * What every command needs first: the workspace root, its cache paths, the stage registry
 * and the loaded pipeline. Loading writes nothing: a bad pipeline.yaml, --profile or --set
 * exits 2 before cache/ is touched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dag/diagnostics.js';
import { loadPipelineFile } from '../dag/pipeline.js';
import type { Pipeline } from '../dag/pipeline-types.js';
import { workspacePaths } from '../dag/run.js';
import { registry } from '../stages/index.js';

export { registry };

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

export async function openPipeline(
  opts: GlobalOptions,
  pipelineOpts: PipelineOptions,
): Promise<Pipeline> {
  const root = path.resolve(opts.workspace);
  const file = path.resolve(root, opts.file);
  const shown = path.relative(process.cwd(), file) || file;
  const result = await loadPipelineFile(
    file,
    registry,
    {
      ...(pipelineOpts.profile !== undefined ? { profile: pipelineOpts.profile } : {}),
      sets: pipelineOpts.set ?? [],
    },
    shown,
  );
  if (!result.ok) throw new UserError(result.error);
  return result.value;
}
