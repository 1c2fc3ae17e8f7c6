import * as fs from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { Rig, stageIds } from '../engine/rig.js';
import { expectNoStackTrace } from './fault-rig.js';

const PIPELINE = `
version: 1
name: retries
runtime: { retries: 2, retry_backoff: 0.05 }
stages:
  flaky:
    kind: command
    cmd: if [ -e "$WORKSPACE/kill-me" ]; then rm "$WORKSPACE/kill-me"; kill -9 $$; fi; echo steady | tee steady.txt
    outs: [steady.txt]
  failing:
    kind: command
    cmd: echo x >> "$WORKSPACE/failing.tries"; exit 3
    outs: [never.txt]
  asked:
    kind: command
    retry_on: [exit]
    cmd: echo x >> "$WORKSPACE/asked.tries"; exit 4
    outs: [never.txt]
`;

const rigs: Rig[] = [];
const rig = (): Rig => {
  const r = new Rig();
  r.write('pipeline.yaml', PIPELINE);
  rigs.push(r);
  return r;
};
afterAll(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

interface LoggedRun {
  counts: Record<string, number>;
  failures: {
    stageId: string;
    attempt: number;
    retried: boolean;
    cause: string;
    logPath: string;
  }[];
}
async function lastRun(r: Rig): Promise<LoggedRun> {
  const log = await r.run(['log', '--json']);
  expect(log.code, log.stderr).toBe(0);
  return (JSON.parse(log.stdout) as LoggedRun[])[0] as LoggedRun;
}

const tries = (r: Rig, stage: string): number =>
  r.read(`${stage}.tries`).split('\n').filter(Boolean).length;

describe.concurrent('retries', () => {
  test('a stage killed by a signal is run again; each attempt is in provenance and log', async () => {
    const r = rig();
    r.write('kill-me', '');
    const { result, events } = await r.events(['flaky']);
    expectNoStackTrace(result);
    expect(result.code, result.stdout).toBe(0);
    const retrying = events.filter((e) => e.type === 'stage-retrying');
    expect(retrying).toMatchObject([
      { stageId: 'flaky', attempt: 1, attempts: 3, cause: 'signal' },
    ]);
    expect(stageIds(events)).toEqual(['flaky']);
    const run = await lastRun(r);
    expect(run.counts).toMatchObject({ ran: 1, retried: 1, failed: 0 });
    expect(run.failures).toMatchObject([
      { stageId: 'flaky', attempt: 1, retried: true, cause: 'signal' },
    ]);
    expect(fs.existsSync(run.failures[0]?.logPath ?? '')).toBe(true);
    expect(r.read(`cache/logs/${String(events[0]?.runId)}/flaky.attempt-2.log`)).toBe('steady\n');
    const text = await r.run(['log']);
    expect(text.stdout).toMatch(/retried flaky attempt 1 \(signal\)/);
  });

  test('a plain non-zero exit is not retried', async () => {
    const r = rig();
    const { result, events } = await r.events(['failing']);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    expect(events.filter((e) => e.type === 'stage-retrying')).toEqual([]);
    expect(tries(r, 'failing')).toBe(1);
    expect((await lastRun(r)).failures).toMatchObject([
      { stageId: 'failing', attempt: 1, retried: false, cause: 'exit' },
    ]);
  });

  test('retry_on: [exit] retries an exit until the retries run out', async () => {
    const r = rig();
    const { result, events } = await r.events(['asked']);
    expect(result.code).toBe(1);
    expect(tries(r, 'asked')).toBe(3);
    expect(events.filter((e) => e.type === 'stage-retrying').map((e) => e.attempt)).toEqual([1, 2]);
    const run = await lastRun(r);
    expect(run.counts).toMatchObject({ failed: 1, retried: 2 });
    expect(run.failures.map((f) => [f.attempt, f.retried, f.cause])).toEqual([
      [1, true, 'exit'],
      [2, true, 'exit'],
      [3, false, 'exit'],
    ]);
    const text = await r.run(['log']);
    expect(text.stdout).toMatch(/failed {2}asked attempt 3 \(exit\)/);
  });
});
