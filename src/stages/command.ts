/**
 * The generic `command` kind, as in DVC/Snakemake: a shell command run with its fresh output
 * directory as cwd. Declared `deps` are workspace files hashed into the key by the engine;
 * declared `outs` are what the command must leave in the output directory. It never writes
 * anywhere but its output directory and never keeps files it was not asked to declare. It
 * runs inside the engine's process (`inProcess`): a stage costs a shell, not a Node start
 * (started off the engine's thread, see shell.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defineStage } from '../dag/stage-kind.js';
import { runShell } from './shell.js';

interface CommandParams {
  [key: string]: string | string[] | Record<string, string>;
  cmd: string;
  outs: string[];
  env: Record<string, string>;
}

/** `IN_<NAME>`: the input name upper-cased, anything but letters, digits and _ as `_`. */
export const inputEnvName = (name: string): string =>
  `IN_${name.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`;

/**
 * The environment the command sees on top of the runner's own. A `many` input is its paths
 * one per line, so `for f in $IN_RUNS` word-splits it (stage ids hold no whitespace).
 */
export function commandEnv(opts: {
  outDir: string;
  scratchDir: string;
  workspace: string;
  inputs: Record<string, string | string[]>;
  deps: string[];
  env: Record<string, string>;
}): Record<string, string> {
  const env: Record<string, string> = {
    OUT: opts.outDir,
    SCRATCH: opts.scratchDir,
    WORKSPACE: opts.workspace,
  };
  for (const [name, value] of Object.entries(opts.inputs))
    env[inputEnvName(name)] = Array.isArray(value) ? value.join('\n') : value;
  opts.deps.forEach((dep, i) => {
    env[`DEP_${i}`] = dep;
  });
  return { ...env, ...opts.env };
}

/** Removes what the command wrote beyond its declared outs; returns the outs it missed. */
function keepDeclared(outDir: string, outs: string[]): string[] {
  const declared = outs.map((o) => path.normalize(o).replace(/\/+$/, ''));
  const missing = declared.filter((o) => !fs.existsSync(path.join(outDir, o)));
  const prune = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(outDir, rel), { withFileTypes: true })) {
      const child = rel ? path.join(rel, entry.name) : entry.name;
      if (declared.includes(child)) continue;
      if (entry.isDirectory() && declared.some((d) => d.startsWith(`${child}/`))) prune(child);
      else fs.rmSync(path.join(outDir, child), { recursive: true, force: true });
    }
  };
  prune('');
  return missing;
}

export const command = defineStage<CommandParams>({
  kind: 'command',
  description: 'A shell command with declared file deps and outs (cwd = its output directory).',
  paramsSchema: {
    type: 'object',
    properties: {
      cmd: { type: 'string', minLength: 1 },
      outs: { type: 'array', items: { type: 'string', minLength: 1 } },
      env: { type: 'object', additionalProperties: { type: 'string' } },
    },
    required: ['cmd'],
    additionalProperties: false,
  },
  inputs: {},
  outputs: [],
  resources: { cpu: 1 },
  module: import.meta.url,
  inProcess: true,
  async run(ctx) {
    const outs = ctx.params.outs ?? [];
    const env = commandEnv({
      outDir: ctx.outDir,
      scratchDir: ctx.scratchDir,
      workspace: ctx.workspace,
      inputs: ctx.inputs,
      deps: ctx.deps,
      env: ctx.params.env ?? {},
    });
    const output = ctx.output ?? ((stream, chunk) => process[stream].write(chunk));
    const { code, signal, stoppedLeftovers } = await runShell(ctx.params.cmd, {
      cwd: ctx.outDir,
      env: { ...process.env, ...env },
      output,
      signal: ctx.signal,
    });
    if (stoppedLeftovers)
      output(
        'stderr',
        'advrob-dag: stopped the processes the command left running when its shell exited\n',
      );
    if (signal) throw Object.assign(new Error(`command killed by ${signal}`), { signal });
    if (code !== 0)
      throw Object.assign(new Error(`command exited with code ${code}`), { exitCode: code });
    if (outs.length === 0) return;
    const missing = keepDeclared(ctx.outDir, outs);
    if (missing.length > 0)
      throw new Error(
        `command did not write declared out${missing.length > 1 ? 's' : ''} ${missing
          .map((m) => `'${m}'`)
          .join(', ')} (cwd is the output directory, also in $OUT)`,
      );
  },
});
