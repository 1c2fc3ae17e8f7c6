/**
 * Timing whole processes for the benchmarks: wall time of a command as a user runs it (node
 * start included), medians over repeats, peak memory, and the machine's load next to each
 * figure, since the machine may be shared.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const probePath = fileURLToPath(new URL('./rss-probe.js', import.meta.url));

export interface Timed {
  /** Median wall time, ms. */
  ms: number;
  /** Every run's wall time, ms. */
  runs: number[];
  /** Peak resident memory of one run, MB (undefined when it could not be read). */
  rssMb?: number;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

export const load = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const env = { ...process.env, CI: '1', NO_COLOR: '1' };

/** Runs `command args` in `cwd` once; throws with its output when it fails. */
function once(cwd: string, command: string, args: string[], extraEnv = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, {
    cwd,
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(
      `${path.basename(command)} ${args.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(-2000)}${(r.stdout ?? '').slice(-2000)}`,
    );
  return ms;
}

/**
 * `repeats` timed runs of a command (`before` runs first, untimed, each time: e.g. wiping
 * a cache for a cold run). Memory is read from one further run when `rss` is given.
 */
export function timeCommand(
  cwd: string,
  command: string,
  args: string[],
  opts: { repeats: number; before?: () => void; rss?: (cwd: string) => number | undefined },
): Timed {
  const runs: number[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    opts.before?.();
    runs.push(once(cwd, command, args));
  }
  const timed: Timed = { ms: median(runs), runs };
  if (opts.rss) {
    opts.before?.();
    const mb = opts.rss(cwd);
    if (mb !== undefined) timed.rssMb = mb;
  }
  return timed;
}

/**
 * An advrob-dag command, as `advrob-dag ARGS` (node + the built CLI). Each timed run has the
 * memory probe preloaded (a few lines, no measurable cost), so the peak memory printed is
 * the largest of the very runs that were timed.
 */
export function timeCli(
  cwd: string,
  args: string[],
  opts: { repeats: number; before?: () => void },
): Timed {
  const file = path.join(os.tmpdir(), `advrob-dag-rss-${process.pid}`);
  const runs: number[] = [];
  let peakKb = 0;
  for (let i = 0; i < opts.repeats; i++) {
    opts.before?.();
    runs.push(
      once(cwd, process.execPath, ['--import', probePath, cliPath, ...args], {
        ADVROB_BENCH_RSS: file,
      }),
    );
    peakKb = Math.max(peakKb, Number(fs.readFileSync(file, 'utf8')));
    fs.rmSync(file, { force: true });
  }
  return { ms: median(runs), runs, rssMb: peakKb / 1024 };
}

/** Peak memory of a non-Node command, through Python's getrusage of its children. */
export function rssViaPython(python: string, command: string, args: string[]) {
  return (cwd: string): number | undefined => {
    const r = spawnSync(
      python,
      [
        '-c',
        'import resource, subprocess, sys\n' +
          'subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)\n' +
          'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
        command,
        ...args,
      ],
      { cwd, env, encoding: 'utf8' },
    );
    return r.status === 0 ? Number(r.stdout.trim()) / 1024 : undefined;
  };
}

/** What `command args` prints (e.g. `snakemake --version`), or undefined if it cannot run. */
export function versionOf(command: string, args: string[]): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export const seconds = (ms: number): string =>
  ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;

export const figure = (t: Timed): string =>
  `${seconds(t.ms)}${t.rssMb !== undefined ? `, ${t.rssMb.toFixed(0)} MB` : ''}`;
