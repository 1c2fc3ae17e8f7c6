/**
 * `npm run bench`: engine figures, printed, never asserted. (1) planning a 10,000-stage
 * pipeline, via engine-core's bench/plan.ts when it is built; (2) a fully cached `run` of a
 * 250-stage command pipeline, wall time including node start (target <= 0.5 s); and the
 * same for `status`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const STAGES = 250;
const REPEATS = 7;

function pipeline(): string {
  // 50 sources, each read by 4 stages: a wide, shallow DAG like a paper's folds x attacks.
  return `version: 1
name: bench
stages:
  src:
    kind: command
    foreach: { i: { range: ${STAGES / 5} } }
    cmd: echo \${i} > v.txt
    outs: [v.txt]
  use:
    kind: command
    foreach: { i: { range: ${STAGES / 5} }, j: { range: 4 } }
    inputs: { v: "src[\${i}]:v.txt" }
    cmd: cat "$IN_V" > w.txt; echo \${j} >> w.txt
    outs: [w.txt]
`;
}

function cliWall(dir: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], {
    cwd: dir,
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    const failures = r.stdout.split('\n').filter((l) => l.includes('FAILED'));
    throw new Error(
      `advrob-dag ${args.join(' ')} exited ${r.status}: ${r.stderr}${failures.slice(0, 5).join('\n')}`,
    );
  }
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

async function planningFigure(): Promise<void> {
  const planBench = new URL('./plan.js', import.meta.url);
  if (!fs.existsSync(planBench)) {
    console.log('planning, 10,000 stages: skipped (bench/plan.ts from engine-core not built)');
    return;
  }
  const mod = (await import(planBench.href)) as { benchPlanning?: () => unknown };
  if (typeof mod.benchPlanning !== 'function') {
    console.log('planning, 10,000 stages: skipped (bench/plan.ts exports no benchPlanning)');
    return;
  }
  const result = (await mod.benchPlanning()) as { stages?: number; ms?: number } | undefined;
  if (typeof result?.ms === 'number')
    console.log(
      `planning (loadPipeline: parse, validate, expand, topo order), ${result.stages} stages: ${result.ms.toFixed(0)} ms`,
    );
  else console.log(`planning, 10,000 stages: ${JSON.stringify(result)}`);
}

/** `status` of a never-run 10,000-stage command pipeline: load, expand, keys, reasons. */
function bigStatusFigure(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-dag-bench-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'pipeline.yaml'),
      `version: 1
name: big
stages:
  a:
    kind: command
    foreach: { i: { range: 100 }, j: { range: 50 } }
    cmd: echo \${i} \${j} > a.txt
    outs: [a.txt]
  b:
    kind: command
    foreach: { i: { range: 100 }, j: { range: 50 } }
    inputs: { a: "a[\${i},\${j}]:a.txt" }
    cmd: cat "$IN_A" > b.txt
    outs: [b.txt]
`,
    );
    const walls = Array.from({ length: 3 }, () => cliWall(dir, ['status', '--json']));
    console.log(
      `status of a never-run 10,000-stage command pipeline (load + keys + reasons), wall: median ${median(walls).toFixed(0)} ms`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`advrob-dag engine bench — node ${process.version}, ${os.cpus().length} cpus`);
  await planningFigure();
  bigStatusFigure();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advrob-dag-bench-'));
  try {
    fs.writeFileSync(path.join(dir, 'pipeline.yaml'), pipeline());
    const first = cliWall(dir, ['run', '--no-ui']);
    console.log(
      `first run, ${STAGES} command stages (one process each): ${(first / 1000).toFixed(1)} s`,
    );
    const runs = Array.from({ length: REPEATS }, () => cliWall(dir, ['run', '--no-ui']));
    const statuses = Array.from({ length: REPEATS }, () => cliWall(dir, ['status']));
    console.log(
      `cached no-op run, ${STAGES} stages, wall incl. node start: median ${median(runs).toFixed(0)} ms, min ${Math.min(...runs).toFixed(0)} ms (target <= 500 ms)`,
    );
    console.log(
      `status, ${STAGES} stages, wall incl. node start: median ${median(statuses).toFixed(0)} ms, min ${Math.min(...statuses).toFixed(0)} ms`,
    );
    const bare = Array.from({ length: REPEATS }, () => {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, ['-e', '0']);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    });
    console.log(`(bare node start on this machine: median ${median(bare).toFixed(0)} ms)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
