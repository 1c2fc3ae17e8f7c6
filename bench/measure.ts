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
 * Where a timed run happens: a directory, or a function handing out a directory per run
 * (`FreshWorkspaces.next`, for cold runs).
 */
export type Where = string | (() => string);

const dirOf = (where: Where): string => (typeof where === 'string' ? where : where());

/**
 * A new workspace per cold run, all removed at the end (`remove`). Wiping one workspace
 * before each run instead would time the tool on a file system busy with the wipe's own
 * thousands of deletes: ext4 without a journal scans recently freed inodes on every create
 * (`recently_deleted`), so a run right after an `rm -rf` pays for it, in proportion to the
 * files it creates.
 */
export class FreshWorkspaces {
  readonly #root: string;
  readonly #files: Readonly<Record<string, string>>;
  #count = 0;

  constructor(name: string, files: Readonly<Record<string, string>>) {
    this.#root = fs.mkdtempSync(path.join(os.tmpdir(), `advrob-dag-bench-${name}-`));
    this.#files = files;
  }

  readonly next = (): string => {
    const dir = path.join(this.#root, String(this.#count++));
    fs.mkdirSync(dir);
    for (const [file, text] of Object.entries(this.#files))
      fs.writeFileSync(path.join(dir, file), text);
    return dir;
  };

  remove(): void {
    fs.rmSync(this.#root, { recursive: true, force: true });
  }
}

/**
 * `repeats` timed runs of a command. Memory is read from one further run when `rss` is given.
 */
export function timeCommand(
  where: Where,
  command: string,
  args: string[],
  opts: { repeats: number; rss?: (cwd: string) => number | undefined },
): Timed {
  const runs: number[] = [];
  for (let i = 0; i < opts.repeats; i++) runs.push(once(dirOf(where), command, args));
  const timed: Timed = { ms: median(runs), runs };
  if (opts.rss) {
    const mb = opts.rss(dirOf(where));
    if (mb !== undefined) timed.rssMb = mb;
  }
  return timed;
}

/**
 * An advrob-dag command, as `advrob-dag ARGS` (node + the built CLI). Each timed run has the
 * memory probe preloaded (a few lines, no measurable cost), so the peak memory printed is
 * the largest of the very runs that were timed.
 */
export function timeCli(where: Where, args: string[], opts: { repeats: number }): Timed {
  const file = path.join(os.tmpdir(), `advrob-dag-rss-${process.pid}`);
  const runs: number[] = [];
  let peakKb = 0;
  for (let i = 0; i < opts.repeats; i++) {
    runs.push(
      once(dirOf(where), process.execPath, ['--import', probePath, cliPath, ...args], {
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
