import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { finished, stageIds } from '../engine/rig.js';
import {
  expectNoStackTrace,
  expectRecovers,
  type FaultRig,
  faultRigs,
  PIPELINE,
} from './fault-rig.js';

// The fault pipeline plus a slow stage that says where its shell is, a stage that reads it,
// and one that runs out of memory while `hog` exists. Signals are retried once.
const KILL_PIPELINE = `${PIPELINE.replace('stages:', 'runtime: { retries: 1, retry_backoff: 0.05 }\nstages:')}
  slow:
    kind: command
    retries: 0
    cmd: echo $$ > "$WORKSPACE/slow.pid"; sleep 3; echo slow > slow.txt
    outs: [slow.txt]
  after-slow:
    kind: command
    inputs: { x: slow }
    cmd: cat "$IN_X/slow.txt" > after.txt
    outs: [after.txt]
  hog:
    kind: command
    cmd: if [ -e "$WORKSPACE/hog" ]; then node --max-old-space-size=16 -e 'const a = []; for (;;) a.push(new Array(1e5).fill(a.length))' || exit $?; fi; echo lean > lean.txt
    outs: [lean.txt]
`;

const { rig, reference } = faultRigs(KILL_PIPELINE);

/** Waits until the slow stage's shell has written its pid, and returns it. */
async function slowStarted(r: FaultRig): Promise<number> {
  for (let i = 0; i < 600; i++) {
    if (r.exists('slow.pid')) {
      const pid = Number(r.read('slow.pid'));
      if (pid > 0) return pid;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the slow stage never started');
}

describe.concurrent('killed runs and stages', () => {
  test('SIGKILL of the runner: the next run takes over the lock and completes', async () => {
    const r = rig();
    const child = r.start(['run']);
    await slowStarted(r);
    child.kill('SIGKILL');
    await finished(child);
    expect(r.exists('cache/run.lock')).toBe(true);
    const next = await r.run(['run']);
    expectNoStackTrace(next);
    expect(next.code, next.stdout).toBe(0);
    expect(next.stdout).toMatch(/took over the lock of a run that died/);
    await expectRecovers(r, reference());
  });

  test('SIGTERM: running stages stop, nothing half-done is kept, exit 130', async () => {
    const r = rig();
    const child = r.start(['run']);
    await slowStarted(r);
    child.kill('SIGTERM');
    const result = await finished(child);
    expectNoStackTrace(result);
    expect(result.code).toBe(130);
    expect(result.stdout).toMatch(/stopping \(SIGTERM\)/);
    expect(r.exists('artifacts/slow')).toBe(false);
    await expectRecovers(r, reference());
  });

  test('SIGKILL of one stage: its dependents are skipped, the rest goes on', async () => {
    const r = rig();
    const child = r.start(['run', '--json']);
    process.kill(await slowStarted(r), 'SIGKILL');
    const result = await finished(child);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    const events = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.type === 'stage-failed')).toMatchObject({
      stageId: 'slow',
      signal: 'SIGKILL',
    });
    expect(stageIds(events, 'stage-skipped')).toEqual(['after-slow']);
    expect(stageIds(events)).toEqual(['gen', 'hog', 'square', 'sum', 'talk']);
    await expectRecovers(r, reference());
  });

  test('a stage over its memory limit fails as out of memory and is not retried', async () => {
    const r = rig();
    r.write('hog', '');
    const { result, events } = await r.events(['hog']);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(events.filter((e) => e.type === 'stage-retrying')).toEqual([]);
    const failed = events.find((e) => e.type === 'stage-failed');
    expect(String(failed?.message)).toMatch(/^out of memory: /);
    fs.rmSync(r.path('hog'));
    await expectRecovers(r, reference());
  });
});
