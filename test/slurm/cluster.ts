/**
 * The real Slurm the tests in this directory run against: the one that answers `sinfo`, or
 * one started here with scripts/slurm-up.sh (as root, from Debian's packages; .ci/run does
 * the same). `clusterProblem` says why none could be had, for the skip message.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

function answers(): boolean {
  const r = spawnSync('sinfo', ['--noheader', '--format=%t'], { encoding: 'utf8' });
  return r.status === 0 && /^(idle|mix|alloc)/m.test(r.stdout);
}

function findProblem(): string | undefined {
  if (answers()) return undefined;
  if (process.getuid?.() !== 0)
    return 'no Slurm cluster answers sinfo, and starting one (scripts/slurm-up.sh) needs root';
  const up = spawnSync('bash', [path.join(ROOT, 'scripts', 'slurm-up.sh')], { encoding: 'utf8' });
  if (up.status !== 0)
    return `scripts/slurm-up.sh could not start Slurm: ${(up.stderr || up.stdout).trim().split('\n').slice(-3).join(' ')}`;
  return answers() ? undefined : 'Slurm was started but sinfo shows no usable node';
}

/** Undefined when a cluster answers (started if need be); otherwise why not. */
export const clusterProblem: string | undefined = findProblem();
if (clusterProblem) process.stderr.write(`test/slurm skipped: ${clusterProblem}\n`);

/** CPUs of the single node: a job asking for all of them makes the next one wait. */
export const nodeCpus = (): number => {
  const out = spawnSync('sinfo', ['--noheader', '--format=%c'], { encoding: 'utf8' }).stdout;
  return Number.parseInt(out.trim(), 10) || 1;
};

export interface Workspace {
  dir: string;
  /** Every sbatch call the CLI made, one line each (a shim in front of the real sbatch). */
  sbatchCalls(): number;
  cleanup(): void;
}

/** A temp workspace with `pipeline` and a counting sbatch shim first on the CLI's PATH. */
export function workspace(pipeline: string): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-slurm-'));
  fs.writeFileSync(path.join(dir, 'pipeline.yaml'), pipeline);
  const bin = path.join(dir, '.bin');
  fs.mkdirSync(bin);
  const real = spawnSync('sh', ['-c', 'command -v sbatch'], { encoding: 'utf8' }).stdout.trim();
  const calls = path.join(dir, '.sbatch-calls');
  fs.writeFileSync(
    path.join(bin, 'sbatch'),
    `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    dir,
    sbatchCalls: () =>
      fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').split('\n').filter(Boolean).length : 0,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export type Event = Record<string, unknown> & { type: string };

/** `run --json` (or any command) as a child, its events parsed as they come. */
export class CliRun {
  readonly events: Event[] = [];
  stderr = '';
  readonly done: Promise<number | null>;
  private readonly child;
  private waiters: { test: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];

  constructor(ws: Workspace, args: string[]) {
    this.child = spawn(process.execPath, [CLI, '-C', ws.dir, ...args], {
      env: {
        ...process.env,
        PATH: `${path.join(ws.dir, '.bin')}:${process.env.PATH}`,
        ADVROB_BACKEND: 'cpu',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let pending = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('{')) this.add(JSON.parse(line) as Event);
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.done = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  private add(event: Event): void {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(event)) return true;
      w.resolve(event);
      return false;
    });
  }

  /** The first event (already seen or to come) that passes `test`. */
  next(test: (e: Event) => boolean): Promise<Event> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  of(type: string, stageId?: string): Event[] {
    return this.events.filter(
      (e) => e.type === type && (stageId === undefined || e.stageId === stageId),
    );
  }
}

/** Slurm's state of `jobId` as squeue remembers it ('' once forgotten). */
export function jobState(jobId: string): string {
  return spawnSync('squeue', ['--noheader', '--states=all', `--jobs=${jobId}`, '--format=%T'], {
    encoding: 'utf8',
  }).stdout.trim();
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
