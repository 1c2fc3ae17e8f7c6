/**
 * `npm run bench`: the engine's figures as a user meets them, printed, never asserted. Each
 * part below is one function, run in order by `main`; add a part by adding a function.
 *   1. planning: `loadPipeline` of a 10,000-stage pipeline, in process (bench/plan.ts);
 *   2. the peer pipeline at F=7 (233 stages): cold `run --jobs 2` and the no-op run;
 *      every cold run, ours or Snakemake's, in a workspace of its own (`FreshWorkspaces`);
 *   3. Snakemake on the same DAG in the same run when `snakemake` is installed: `--cores 2`
 *      cold and no-op at F=7, then ours and Snakemake's cold runs in turns and no-op runs in
 *      turns (the ratios' figures), `-n` at F=312;
 *   4. the user-facing commands on the peer pipeline at F=312 (9,993 stages), whole
 *      processes: status (text, --json, --detail), run --dry-run, dag (text, dot, mermaid),
 *      a cold run, then the no-op run, `why` on the leaf and `log`; then the ratios;
 *   5. the Slurm executor's per-stage overhead next to the local one (bench/slurm.ts), when
 *      a Slurm cluster answers.
 * BENCH_REPEATS (default 5) sets the runs per figure (the median is printed). BENCH_PARTS
 * (default all) picks parts by name, comma-separated: planning, small, snakemake, big, slurm;
 * e.g. `BENCH_PARTS=small,snakemake` for the F=7 figures and their ratios alone.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FreshWorkspaces,
  figure,
  load,
  median,
  rssViaPython,
  seconds,
  type Timed,
  timeCli,
  timeCommand,
  versionOf,
  type Where,
} from './measure.js';
import { peerPipeline, peerSnakefile, peerStages } from './peer.js';
import { slurmOverhead } from './slurm.js';

const REPEATS = Math.max(1, Number(process.env.BENCH_REPEATS ?? 5));
const BIG = 312;
const SMALL = 7;

/** Figures the summary compares, by name. */
const results = new Map<string, Timed>();

function show(name: string, timed: Timed, goal = ''): void {
  results.set(name, timed);
  console.log(`  ${name.padEnd(34)} ${figure(timed).padEnd(16)} ${goal}   (load ${load()})`);
}

function workspace(name: string, text: string, file = 'pipeline.yaml'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `advrob-dag-bench-${name}-`));
  fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

async function planning(): Promise<void> {
  const planBench = new URL('./plan.js', import.meta.url);
  const mod = (await import(planBench.href)) as {
    benchPlanning: () => Promise<{ stages: number; ms: number }>;
  };
  const result = await mod.benchPlanning();
  console.log(
    `planning in process (loadPipeline: parse, validate, expand, topo order), ${result.stages} stages: ${result.ms.toFixed(0)} ms`,
  );
}

/** Part 4: every user-facing command at F=312, never run, then after one cold run. */
function bigCommands(): void {
  console.log(`\nadvrob-dag, peer pipeline F=${BIG} (${peerStages(BIG)} stages), whole processes:`);
  const dir = workspace('big', peerPipeline(BIG));
  const goal = '(goal <= 1 s, <= 200 MB)';
  const cli = (name: string, args: string[], g = goal): void =>
    show(name, timeCli(dir, args, { repeats: REPEATS }), g);
  try {
    cli('status, never run', ['status']);
    cli('status --json', ['status', '--json']);
    cli('status --detail', ['status', '--detail']);
    cli('run --dry-run', ['run', '--dry-run']);
    cli('dag', ['dag']);
    cli('dag --format dot', ['dag', '--format', 'dot']);
    cli('dag --format mermaid', ['dag', '--format', 'mermaid']);
    show(
      'cold run --jobs 2 (once)',
      timeCli(dir, ['run', '--jobs', '2', '--no-ui'], { repeats: 1 }),
    );
    cli('status, all cached', ['status']);
    cli('no-op run', ['run', '--no-ui'], '(goal <= 2 s)');
    cli('why artifacts/report/report.txt', ['why', 'artifacts/report/report.txt']);
    cli('why --prov-json (the leaf)', ['why', '--prov-json', 'artifacts/report/report.txt']);
    cli('log', ['log']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Part 2: small stages at F=7, cold (a new workspace for each run) and no-op. */
function smallRuns(): void {
  console.log(`\nadvrob-dag, peer pipeline F=${SMALL} (${peerStages(SMALL)} stages):`);
  const cold = new FreshWorkspaces('small', { 'pipeline.yaml': peerPipeline(SMALL) });
  try {
    show(
      'cold run --jobs 2, F=7',
      timeCli(cold.next, ['run', '--jobs', '2', '--no-ui'], { repeats: REPEATS }),
    );
    const dir = cold.next();
    timeCli(dir, ['run', '--no-ui'], { repeats: 1 });
    show('no-op run, F=7', timeCli(dir, ['run', '--no-ui'], { repeats: REPEATS }));
  } finally {
    cold.remove();
  }
}

/**
 * Ours then Snakemake's, run after run, so that a change of load during the bench (the
 * machine may be shared) weighs on both alike: the ratios' figures.
 */
function inTurns(
  names: [ours: string, theirs: string],
  ours: { where: Where; args: string[] },
  theirs: { where: Where; args: string[] },
): void {
  const a: Timed[] = [];
  const b: Timed[] = [];
  for (let i = 0; i < REPEATS; i++) {
    a.push(timeCli(ours.where, ours.args, { repeats: 1 }));
    b.push(timeCommand(theirs.where, 'snakemake', theirs.args, { repeats: 1 }));
  }
  const all = (runs: Timed[]): Timed => {
    const ms = runs.flatMap((t) => t.runs);
    return { ms: median(ms), runs: ms };
  };
  show(names[0], all(a));
  show(names[1], all(b));
}

/** The F=7 cold runs and no-op runs, each pair in turns. */
function peerInTurns(snakemakeCold: FreshWorkspaces): void {
  const ours = new FreshWorkspaces('small-turns', { 'pipeline.yaml': peerPipeline(SMALL) });
  try {
    inTurns(
      ['cold run --jobs 2, F=7, in turns', 'snakemake cold, F=7, in turns'],
      { where: ours.next, args: ['run', '--jobs', '2', '--no-ui'] },
      { where: snakemakeCold.next, args: ['--cores', '2'] },
    );
    const dir = ours.next();
    const snakemakeDir = snakemakeCold.next();
    timeCli(dir, ['run', '--no-ui'], { repeats: 1 });
    timeCommand(snakemakeDir, 'snakemake', ['--cores', '2'], { repeats: 1 });
    inTurns(
      ['no-op run, F=7, in turns', 'snakemake no-op, F=7, in turns'],
      { where: dir, args: ['run', '--no-ui'] },
      { where: snakemakeDir, args: ['--cores', '2'] },
    );
  } finally {
    ours.remove();
  }
}

/** Part 3: the same DAG under Snakemake, when it is installed. */
function snakemake(): boolean {
  const version = versionOf('snakemake', ['--version']);
  if (version === undefined) {
    console.log(
      '\nsnakemake: not installed (Debian: apt-get install snakemake); peer figures skipped',
    );
    return false;
  }
  const python = versionOf('python3', ['--version']) !== undefined ? 'python3' : undefined;
  console.log(`\nsnakemake ${version} on the same DAG:`);
  const run = (name: string, where: Where, args: string[]): void => {
    const rss = python ? rssViaPython(python, 'snakemake', args) : undefined;
    show(
      name,
      timeCommand(where, 'snakemake', args, { repeats: REPEATS, ...(rss ? { rss } : {}) }),
    );
  };
  const small = new FreshWorkspaces('snakemake-small', { Snakefile: peerSnakefile(SMALL) });
  const big = workspace('snakemake-big', peerSnakefile(BIG), 'Snakefile');
  try {
    run('snakemake --cores 2, cold, F=7', small.next, ['--cores', '2']);
    const done = small.next();
    timeCommand(done, 'snakemake', ['--cores', '2'], { repeats: 1 });
    run('snakemake --cores 2, no-op, F=7', done, ['--cores', '2']);
    peerInTurns(small);
    run('snakemake -n, F=312', big, ['-n']);
  } finally {
    small.remove();
    fs.rmSync(big, { recursive: true, force: true });
  }
  return true;
}

function ratios(): void {
  const ratio = (ours: string, theirs: string, goal: string): void => {
    const a = results.get(ours);
    const b = results.get(theirs);
    if (!a || !b) return;
    console.log(
      `  ${ours.padEnd(26)} ${seconds(a.ms).padStart(8)} vs ${theirs.padEnd(32)} ${seconds(b.ms).padStart(8)}: ${(a.ms / b.ms).toFixed(2)}x  (goal ${goal})`,
    );
  };
  console.log('\nratios, advrob-dag / Snakemake (medians of this run):');
  ratio('cold run --jobs 2, F=7, in turns', 'snakemake cold, F=7, in turns', '<= 0.5x');
  ratio('no-op run, F=7, in turns', 'snakemake no-op, F=7, in turns', '<= 0.25x');
  ratio('status, never run', 'snakemake -n, F=312', '<= 1 s');
}

async function main(): Promise<void> {
  const bare = median(
    Array.from(
      { length: REPEATS },
      () => timeCommand('.', process.execPath, ['-e', '0'], { repeats: 1 }).ms,
    ),
  );
  console.log(
    `advrob-dag engine bench: node ${process.version}, ${os.cpus().length} cpus, bare node start ${bare.toFixed(0)} ms, ${REPEATS} runs per figure, load ${load()}`,
  );
  const parts = process.env.BENCH_PARTS?.split(',');
  const wanted = (part: string): boolean => parts === undefined || parts.includes(part);
  if (wanted('planning')) await planning();
  if (wanted('small')) smallRuns();
  const peer = wanted('snakemake') && snakemake();
  if (wanted('big')) bigCommands();
  if (peer) ratios();
  if (wanted('slurm')) slurmOverhead(REPEATS);
}

await main();
