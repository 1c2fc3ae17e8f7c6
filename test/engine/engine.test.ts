import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finished, LINEAGE_WORKSPACE, Rig, stageIds } from './rig.js';

const rigs: Rig[] = [];
const rig = (files: Record<string, string>): Rig => {
  const r = new Rig();
  for (const [rel, text] of Object.entries(files)) r.write(rel, text);
  rigs.push(r);
  return r;
};
afterAll(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

interface StatusRow {
  id: string;
  willRun: boolean;
  reasonText: string;
  key: string | null;
  outputTree: string | null;
}
async function status(r: Rig, args: string[] = []): Promise<StatusRow[]> {
  const result = await r.run(['status', '--json', ...args]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { stages: StatusRow[] }).stages;
}
/** Runs the CLI and expects exit 0, showing its output when it is not. */
async function succeeds(r: Rig, args: string[]): Promise<void> {
  const result = await r.run(args);
  expect(result.code, `${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
}
const willRun = (rows: StatusRow[]): string[] =>
  rows
    .filter((r) => r.willRun)
    .map((r) => r.id)
    .sort();

const diamond = `
version: 1
name: diamond
params: { a: 1, b: 2 }
stages:
  A:
    kind: command
    cmd: echo a=\${a} > out.txt
    outs: [out.txt]
  B:
    kind: command
    cmd: echo b=\${b} > out.txt
    outs: [out.txt]
  C:
    kind: command
    inputs: { x: A }
    cmd: cat "$IN_X/out.txt" > c.txt
    outs: [c.txt]
  D:
    kind: command
    inputs: { x: B }
    cmd: cat "$IN_X/out.txt" > d.txt
    outs: [d.txt]
  E:
    kind: command
    foreach: { s: [1, 2] }
    inputs: { x: "A:out.txt" }
    cmd: echo \${s} | cat - "$IN_X" > e.txt
    outs: [e.txt]
  F:
    kind: command
    inputs: { all: "E[*]" }
    cmd: for f in $IN_ALL; do cat "$f/e.txt"; done > f.txt
    outs: [f.txt]
`;

// Each test has its own workspaces, so they run concurrently: most of their time is spent
// waiting for processes to start.
describe.concurrent('advrob-dag engine (real CLI, temp workspaces)', () => {
  it('keys are stable across runs and workspaces; a second run is fully cached', async () => {
    const one = rig({ 'pipeline.yaml': diamond });
    const two = rig({ 'pipeline.yaml': diamond });
    const first = await one.events([]);
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(stageIds(first.events)).toEqual(['A', 'B', 'C', 'D', 'E[1]', 'E[2]', 'F']);
    expect(one.read('artifacts/F/f.txt')).toBe('1\na=1\n2\na=1\n');
    const again = await one.events([]);
    expect(stageIds(again.events)).toEqual([]);
    expect(stageIds(again.events, 'stage-cached')).toHaveLength(7);
    expect(await two.run(['run'])).toMatchObject({ code: 0 });
    const [s1, s2] = [await status(one), await status(two)];
    expect(willRun(s1)).toEqual([]);
    expect(s1.map((r) => [r.id, r.key, r.outputTree])).toEqual(
      s2.map((r) => [r.id, r.key, r.outputTree]),
    );
  });

  it('changing one param reruns exactly the stages that read it and their dependents', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    const first = await r.run(['run']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const planned = await status(r, ['--set', 'a=5']);
    expect(willRun(planned)).toEqual(['A', 'C', 'E[1]', 'E[2]', 'F']);
    const { result, events } = await r.events(['--set', 'a=5']);
    expect(result.code).toBe(0);
    expect(stageIds(events)).toEqual(['A', 'C', 'E[1]', 'E[2]', 'F']);
    expect(stageIds(events, 'stage-cached')).toEqual(['B', 'D']);
    expect(r.read('artifacts/C/c.txt')).toBe('a=5\n');
    // Back to the old value: every output is still in the store.
    const back = await r.events([]);
    expect(stageIds(back.events)).toEqual([]);
    expect(r.read('artifacts/C/c.txt')).toBe('a=1\n');
  });

  it('a group name addresses every expansion, and targets pull in what they read', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    const { events } = await r.events(['E']);
    expect(stageIds(events)).toEqual(['A', 'E[1]', 'E[2]']);
    const forced = await r.events(['E', '--force', 'E']);
    expect(stageIds(forced.events)).toEqual(['E[1]', 'E[2]']);
  });

  it('stops invalidation when a rerun reproduces the same output (early cutoff)', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
params: { p: 1 }
stages:
  G:
    kind: command
    cmd: "true \${p}; echo constant > g.txt"
    outs: [g.txt]
  H:
    kind: command
    inputs: { g: G }
    cmd: cp "$IN_G/g.txt" h.txt
    outs: [h.txt]
`,
    });
    await succeeds(r, ['run']);
    const { events } = await r.events(['--set', 'p=2']);
    const finishedG = events.find((e) => e.type === 'stage-finished' && e.stageId === 'G');
    expect(finishedG?.earlyCutoff).toBe(true);
    expect(stageIds(events, 'stage-cached')).toEqual(['H']);
  });

  it('status gives a one-line reason per stage', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
params: { n: 1 }
stages:
  A:
    kind: command
    cmd: cat "$DEP_0" > a.txt
    deps: [notes.txt]
    outs: [a.txt]
  B:
    kind: command
    inputs: { a: A }
    cmd: echo \${n} | cat - "$IN_A/a.txt" > b.txt
    outs: [b.txt]
`,
      'notes.txt': 'hello\n',
    });
    const never = await r.run(['status']);
    expect(never.stdout).toMatch(/A\s+command\s+will run: never run/);
    expect(never.stdout).toMatch(/B\s+command\s+will run: upstream will run: A/);
    await succeeds(r, ['run']);
    expect((await r.run(['status'])).stdout).toMatch(/A\s+command\s+up to date/);
    r.write('notes.txt', 'changed\n');
    const rows = await status(r);
    expect(rows.map((x) => [x.id, x.reasonText])).toEqual([
      ['A', 'deps changed: notes.txt'],
      ['B', 'upstream will run: A'],
    ]);
    r.write('notes.txt', 'hello\n');
    const param = await status(r, ['--set', 'n=2']);
    expect(param.map((x) => [x.id, x.reasonText])).toEqual([
      ['A', 'up to date'],
      [
        'B',
        'params.cmd "echo 1 | cat - \\"$IN_A/a.txt\\" > b.txt" -> "echo 2 | cat - \\"$IN_A/a.txt\\" > b.txt"',
      ],
    ]);
  });

  it('a failing stage skips its dependents only; exit 1 with the log path', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
stages:
  bad:
    kind: command
    cmd: echo going down >&2; exit 3
  after:
    kind: command
    inputs: { b: bad }
    cmd: touch x
  good:
    kind: command
    cmd: echo fine > ok.txt
    outs: [ok.txt]
  missing:
    kind: command
    cmd: echo hi > other.txt
    outs: [out.txt]
  typo:
    kind: command
    inputs: { x: "good:nope.txt" }
    cmd: cat "$IN_X" > t.txt
  crash:
    kind: command
    cmd: kill -9 $$
  link:
    kind: command
    cmd: ln -s /etc/hostname l
`,
    });
    const { result, events } = await r.events([]);
    expect(result.code).toBe(1);
    expect(stageIds(events)).toEqual(['good']);
    expect(stageIds(events, 'stage-failed')).toEqual(['bad', 'crash', 'link', 'missing', 'typo']);
    // The stage's own process killed (as by the OOM killer): that stage fails, the run goes on.
    const crash = events.find((e) => e.type === 'stage-failed' && e.stageId === 'crash');
    expect(crash).toMatchObject({
      message: 'command killed by SIGKILL',
      signal: 'SIGKILL',
      exitCode: null,
    });
    const link = events.find((e) => e.type === 'stage-failed' && e.stageId === 'link');
    expect(link?.message).toBe("output 'l' is not a regular file (symlinks are not stored)");
    const skipped = events.find((e) => e.type === 'stage-skipped');
    expect(skipped).toMatchObject({ stageId: 'after', failedDependency: 'bad' });
    const bad = events.find((e) => e.type === 'stage-failed' && e.stageId === 'bad');
    expect(bad).toMatchObject({ message: 'command exited with code 3', exitCode: 3 });
    expect(r.read(String(bad?.logPath))).toContain('going down');
    const missing = events.find((e) => e.type === 'stage-failed' && e.stageId === 'missing');
    expect(missing?.message).toContain("did not write declared out 'out.txt'");
    const typo = events.find((e) => e.type === 'stage-failed' && e.stageId === 'typo');
    expect(typo?.message).toBe("input 'x': 'nope.txt' is not in the output of good");
    expect(r.read('artifacts/good/ok.txt')).toBe('fine\n');
    const plain = await r.run(['run', '--no-ui']);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/failed bad: log cache\/logs\/[^/]+\/bad\.log/);
  });

  it('--json writes valid NDJSON from run-started to run-finished', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    const { result, events } = await r.events([]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(events.length);
    expect(events[0]?.type).toBe('run-started');
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', status: 'success' });
    const asked = await r.events(['--backend', 'cpu']);
    expect(asked.events[0]).toMatchObject({ type: 'run-started', meta: { backend: 'cpu' } });
    // pipeline.yaml's runtime.backend, from a param so --set can change it; --backend wins.
    r.write(
      'pipeline.yaml',
      `${diamond}runtime: { backend: "\${engine}" }\n`.replace('b: 2 }', 'b: 2, engine: cpu }'),
    );
    const fromFile = await r.events([]);
    expect(fromFile.events[0]).toMatchObject({ meta: { backend: 'cpu' } });
    const fromSet = await r.events(['--set', 'engine=wasm']);
    expect(fromSet.events[0]).toMatchObject({ meta: { backend: 'wasm' } });
    // auto in a pipeline of shell commands: no stage runs on a backend, so none is guessed.
    const fromFlag = await r.events(['--backend', 'auto']);
    expect(fromFlag.events[0]).toMatchObject({ meta: { backend: 'none' } });
    const wrong = await r.run(['run', '--set', 'engine=tpu']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("pipeline.yaml: runtime.backend: unknown backend 'tpu'");
    for (const e of events) expect(typeof e.type).toBe('string');
  });

  it('keeps the loaded pipeline from the cold run on, and status in a fresh directory creates nothing', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    expect((await r.run(['status'])).code).toBe(0);
    expect(r.exists('cache')).toBe(false);
    expect((await r.run(['run'])).code).toBe(0);
    const kept = fs.readdirSync(r.path('cache/pipelines'));
    expect(kept).toHaveLength(1);
    const stamp = fs.statSync(r.path(`cache/pipelines/${kept[0]}`)).mtimeMs;
    expect((await r.run(['run'])).code).toBe(0);
    expect(fs.readdirSync(r.path('cache/pipelines'))).toEqual(kept);
    expect(fs.statSync(r.path(`cache/pipelines/${kept[0]}`)).mtimeMs).toBe(stamp);
  });

  it('bad --set / --profile exit 2 with one message and write nothing', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    const bad = await r.run(['run', '--set', 'aa=3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("did you mean 'a'");
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await r.run(['run', '--profile', 'nope'])).code).toBe(2);
    expect((await r.run(['run', '--jobs', '0'])).code).toBe(2);
    const backend = await r.run(['run', '--backend', 'tpu']);
    expect(backend.code).toBe(2);
    expect(backend.stderr).toContain("--backend: unknown backend 'tpu'; expected one of: auto,");
    expect(r.exists('cache')).toBe(false);
  });

  it('a second run exits 3 naming the holder; a stale lock is recovered', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
stages:
  slow:
    kind: command
    cmd: sleep 4; echo done > s.txt
    outs: [s.txt]
`,
    });
    const first = r.start(['run']);
    const firstDone = finished(first);
    while (!r.exists('cache/run.lock')) await new Promise((res) => setTimeout(res, 20));
    const second = await r.run(['run']);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`locked by another run: pid ${first.pid}`);
    expect(second.stderr).toMatch(/started \d{4}-\d\d-\d\dT/);
    await succeeds(r, ['status']);
    expect((await firstDone).code).toBe(0);
    const dead = spawnSync('true').pid;
    r.write(
      'cache/run.lock',
      JSON.stringify({
        pid: dead,
        host: (await import('node:os')).hostname(),
        startedAt: 'x',
        argv: [],
      }),
    );
    const { result, events } = await r.events(['--force', 'slow']);
    expect(result.code).toBe(0);
    expect(events[1]).toMatchObject({
      type: 'info',
      message: `took over the lock of a run that died (pid ${dead}, started x)`,
    });
    expect(r.exists('cache/run.lock')).toBe(false);
  });

  it('Ctrl-C stops the run with exit 130 and stores nothing half-done', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
stages:
  quick:
    kind: command
    cmd: echo q > q.txt
    outs: [q.txt]
  slow:
    kind: command
    inputs: { q: quick }
    cmd: sleep 30; echo s > s.txt
    outs: [s.txt]
`,
    });
    const child = r.start(['run', '--json']);
    const done = finished(child);
    let seen = '';
    let sent = false;
    child.stdout?.on('data', (d: Buffer) => {
      seen += d.toString();
      const started = seen
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .some((l) => l.includes('"stage-started"') && l.includes('"stageId":"slow"'));
      if (started && !sent) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stdout).toContain('"type":"run-interrupting"');
    expect(result.stdout).toContain('"status":"interrupted"');
    const rows = await status(r);
    expect(rows.map((x) => [x.id, x.reasonText])).toEqual([
      ['quick', 'up to date'],
      ['slow', 'never run'],
    ]);
    await succeeds(r, ['verify']);
  });

  it('gc frees unreferenced objects and keeps the current ones', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
params: { a: 1 }
stages:
  big:
    kind: command
    cmd: yes x | head -c 5000 > big.txt; echo \${a} >> big.txt
    outs: [big.txt]
`,
    });
    await succeeds(r, ['run']);
    const [old] = await status(r);
    await succeeds(r, ['run', '--set', 'a=2']);
    const [current] = await status(r, ['--set', 'a=2']);
    const objectSize = (digest: string): number =>
      fs.statSync(r.path(`cache/objects/${digest.slice(0, 2)}/${digest.slice(2)}`)).size;
    const tree = (digest: string): string[] =>
      (
        JSON.parse(r.read(`cache/objects/${digest.slice(0, 2)}/${digest.slice(2)}`)) as {
          entries: { digest: string }[];
        }
      ).entries.map((e) => e.digest);
    const oldObjects = [old?.outputTree ?? '', ...tree(old?.outputTree ?? '')];
    const expected = oldObjects.reduce((sum, d) => sum + objectSize(d), 0);
    expect(expected).toBeGreaterThan(5000);
    const gc = await r.run(['gc', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toEqual({
      recordsRemoved: 1,
      objectsRemoved: 2,
      objectsKept: 2,
      scratchRemoved: 0,
      scratchKept: 0,
      scratchBytesKept: 0,
      bytesFreed: expected,
    });
    for (const d of oldObjects)
      expect(r.exists(`cache/objects/${d.slice(0, 2)}/${d.slice(2)}`)).toBe(false);
    const again = await r.events(['--set', 'a=2']);
    expect(stageIds(again.events, 'stage-cached')).toEqual(['big']);
    expect(current?.outputTree).toBeTruthy();
    await succeeds(r, ['verify']);
  });

  it('verify finds a flipped byte in an object and names the stage', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    await succeeds(r, ['run']);
    await succeeds(r, ['verify']);
    const rows = await status(r);
    const c = rows.find((x) => x.id === 'C');
    const entry = (
      JSON.parse(
        r.read(`cache/objects/${c?.outputTree?.slice(0, 2)}/${c?.outputTree?.slice(2)}`),
      ) as { entries: { digest: string }[] }
    ).entries[0];
    const file = r.path(`cache/objects/${entry?.digest.slice(0, 2)}/${entry?.digest.slice(2)}`);
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    fs.writeFileSync(file, bytes);
    const verify = await r.run(['verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(`corrupt object ${entry?.digest}`);
    expect(verify.stdout).toMatch(/used by (.*, )?C(,|$)/m);
    const recompute = await r.run(['verify', '--recompute', 'C']);
    expect(recompute.stdout).toContain('recomputed identically');
  });

  it('verify --repair drops the damaged object and its users; run redoes only those', async () => {
    const r = rig({ 'pipeline.yaml': diamond });
    await succeeds(r, ['run']);
    const d = (await status(r)).find((x) => x.id === 'D');
    const tree = r.path(`cache/objects/${d?.outputTree?.slice(0, 2)}/${d?.outputTree?.slice(2)}`);
    fs.chmodSync(tree, 0o644);
    fs.appendFileSync(tree, ' ');
    const repair = await r.run(['verify', '--repair']);
    expect(repair.code).toBe(1);
    expect(repair.stdout).toContain('repaired: removed 1 corrupt objects and the records of D;');
    await succeeds(r, ['verify']);
    const rows = await status(r);
    expect(rows.filter((x) => x.reasonText !== 'up to date').map((x) => x.id)).toEqual(['D']);
    const rerun = await r.events([]);
    expect(stageIds(rerun.events, 'stage-finished')).toEqual(['D']);
    expect((await status(r)).find((x) => x.id === 'D')?.outputTree).toBe(d?.outputTree);
    await succeeds(r, ['verify']);
  });

  it('a failed stage keeps $SCRATCH for its rerun; gc keeps it unless --scratch', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
params: { p: 1 }
stages:
  resumable:
    kind: command
    cmd: cat "$SCRATCH/step" > seen.txt 2>/dev/null || true; echo \${p} > "$SCRATCH/step"; test ! -e "$WORKSPACE/fail"
    outs: [seen.txt]
`,
      fail: '',
    });
    expect((await r.run(['run', '--no-ui'])).code).toBe(1);
    const kept = await r.run(['gc', '--json']);
    expect(JSON.parse(kept.stdout)).toMatchObject({ scratchKept: 1, scratchBytesKept: 2 });
    const wouldDrop = await r.run(['gc', '--scratch', '--dry-run', '--json']);
    expect(JSON.parse(wouldDrop.stdout)).toMatchObject({ scratchRemoved: 1, bytesFreed: 2 });
    fs.rmSync(r.path('fail'));
    await succeeds(r, ['run']);
    expect(r.read('artifacts/resumable/seen.txt')).toBe('1\n');
    expect(fs.readdirSync(r.path('cache/scratch'))).toEqual([]);

    r.write('fail', '');
    expect((await r.run(['run', '--no-ui', '--set', 'p=2'])).code).toBe(1);
    const dropped = await r.run(['gc', '--scratch', '--json']);
    expect(JSON.parse(dropped.stdout)).toMatchObject({ scratchRemoved: 1, scratchKept: 0 });
    fs.rmSync(r.path('fail'));
    await succeeds(r, ['run', '--set', 'p=2']);
    expect(r.read('artifacts/resumable/seen.txt')).toBe('');
  });

  it('verify --recompute catches a stage that is not deterministic', async () => {
    const r = rig({
      'pipeline.yaml': `
version: 1
stages:
  steady:
    kind: command
    cmd: echo same > s.txt
    outs: [s.txt]
  noisy:
    kind: command
    cmd: od -An -N8 -tx8 /dev/urandom > n.txt
    outs: [n.txt]
`,
    });
    await succeeds(r, ['run']);
    const result = await r.run(['verify', '--recompute', '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      recomputed: { stageId: string; outcome: string }[];
    };
    expect(report.ok).toBe(false);
    expect(report.recomputed.map((x) => [x.stageId, x.outcome])).toEqual([
      ['steady', 'same'],
      ['noisy', 'different'],
    ]);
    const tmp = r.path('cache/tmp');
    expect(fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).toEqual([]);
  });

  it('survives SIGKILL at any point: the rerun verifies clean and matches an uninterrupted run', async () => {
    const pipeline = `
version: 1
stages:
  src:
    kind: command
    foreach: { i: { range: 16 } }
    cmd: seq 1 $((\${i} * 300 + 2000)) > data.txt; mkdir -p sub; echo \${i} > sub/i.txt
    outs: [data.txt, sub]
  mid:
    kind: command
    foreach: { i: { range: 16 } }
    inputs: { d: "src[\${i}]:data.txt" }
    cmd: cksum < "$IN_D" > h.txt
    outs: [h.txt]
  all:
    kind: command
    inputs: { hs: "mid[*]" }
    cmd: for f in $IN_HS; do cat "$f/h.txt"; done > all.txt
    outs: [all.txt]
`;
    const reference = rig({ 'pipeline.yaml': pipeline });
    await succeeds(reference, ['run', '--jobs', '4']);
    const crashed = rig({ 'pipeline.yaml': pipeline });
    // Random kill points (printed on failure): each run gets further before it dies, since
    // what finished before a kill stays cached.
    const delays = Array.from({ length: 5 }, () => 100 + Math.floor(Math.random() * 1200));
    for (const delayMs of delays) {
      const child = crashed.start(['run', '--jobs', '4']);
      const done = finished(child);
      await new Promise((res) => setTimeout(res, delayMs));
      child.kill('SIGKILL');
      await done;
    }
    const rerun = await crashed.run(['run', '--jobs', '4']);
    expect(rerun.code, `kills at ${delays} ms\n${rerun.stdout}${rerun.stderr}`).toBe(0);
    const verify = await crashed.run(['verify']);
    expect(verify.code, `kills at ${delays} ms\n${verify.stdout}`).toBe(0);
    const trees = async (r: Rig) => (await status(r)).map((x) => [x.id, x.outputTree]);
    expect(await trees(crashed)).toEqual(await trees(reference));
    expect(crashed.read('artifacts/all/all.txt')).toBe(reference.read('artifacts/all/all.txt'));
    // No record without its objects, no half-built view.
    for (const name of fs.readdirSync(crashed.path('artifacts')))
      expect(name.startsWith('.building-')).toBe(false);
    expect(
      fs.readdirSync(path.join(crashed.dir, 'cache/stages')).some((f) => f.includes('.tmp-')),
    ).toBe(false);
  });

  it('why traces an artifact to its sources with params; log lists runs', async () => {
    const r = rig(LINEAGE_WORKSPACE);
    await succeeds(r, ['run']);
    const why = await r.run(['why', 'artifacts/B/b.txt']);
    expect(why.code, why.stderr).toBe(0);
    const lines = why.stdout.split('\n');
    expect(lines[0]).toMatch(/^artifacts\/B\/b\.txt [0-9a-f]{12} {2}<- B \(command, ran /);
    expect(why.stdout).toMatch(/a=A:a\.txt [0-9a-f]{12} {2}<- A \(command, ran/);
    expect(why.stdout).toContain('head -n 2');
    expect(why.stdout).toMatch(/notes\.txt [0-9a-f]{12} {2}\(workspace file\)/);
    const digest = /[0-9a-f]{12}/.exec(lines[0] ?? '')?.[0] ?? '';
    const byPrefix = await r.run(['why', digest]);
    expect(byPrefix.stdout.split('\n')[0]).toMatch(
      new RegExp(`^${digest}[0-9a-f]{52} ${digest}  <- B `),
    );
    // A shared ancestor (A, read by C directly and through B) is told once, then referred to.
    const shared = (await r.run(['why', 'artifacts/C/c.txt'])).stdout;
    expect(shared.match(/<- A \(command, ran/g)).toHaveLength(1);
    expect(shared).toMatch(/a=A:a\.txt [0-9a-f]{12} {2}<- A \(as above\)/);
    expect(shared.match(/head -n 2/g)).toHaveLength(1);
    const provRun = await r.run(['why', '--prov-json', 'artifacts/B/b.txt']);
    expect(provRun.code, provRun.stderr).toBe(0);
    const prov = JSON.parse(provRun.stdout);
    expect(Object.keys(prov.activity)).toHaveLength(2);
    expect(Object.keys(prov.used)).toHaveLength(2);
    const dot = await r.run(['dag', '--format', 'dot']);
    expect(dot.stdout).toContain('"A" -> "B";');
    const mermaid = await r.run(['dag', '--format', 'mermaid']);
    expect(mermaid.stdout).toContain('s0 --> s1');
    const log = await r.run(['log', '--json']);
    expect(log.code, log.stderr).toBe(0);
    const runs = JSON.parse(log.stdout) as { status: string; counts: { ran: number } }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'success', counts: { ran: 3 } });
  });
});
