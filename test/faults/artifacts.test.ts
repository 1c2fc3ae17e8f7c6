import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { expectNoStackTrace, expectRecovers, type FaultRig, faultRigs } from './fault-rig.js';

const { ranRig, reference } = faultRigs();

interface Change {
  stageId: string;
  path: string;
  change: string;
}
async function artifactChanges(r: FaultRig): Promise<Change[]> {
  const result = await r.run(['status', '--json']);
  expect(result.code, result.stderr).toBe(0);
  const parsed = JSON.parse(result.stdout) as {
    artifacts: Change[];
    stages: { willRun: boolean }[];
  };
  expect(parsed.stages.every((s) => !s.willRun)).toBe(true);
  return parsed.artifacts;
}

describe.concurrent('edits under artifacts/ never reach the store', () => {
  test('a view file is not the store object (no shared inode)', async () => {
    const r = await ranRig();
    expect(fs.statSync(r.path('artifacts/gen/numbers.txt')).nlink).toBe(1);
    expect(fs.statSync(r.path('artifacts/gen/numbers.txt')).mode & 0o222).toBe(0);
    expect(fs.statSync(r.path('artifacts/gen')).mode & 0o777).toBe(0o755);
  });

  test('a file written in place is named by status, restored by run; verify stays clean', async () => {
    const r = await ranRig();
    fs.chmodSync(r.path('artifacts/gen/numbers.txt'), 0o644);
    fs.appendFileSync(r.path('artifacts/gen/numbers.txt'), 'edited\n');
    expect(await artifactChanges(r)).toEqual([
      { stageId: 'gen', path: 'numbers.txt', change: 'modified' },
    ]);
    const text = await r.run(['status']);
    expect(text.stdout).toMatch(/modified\s+artifacts\/gen\/numbers\.txt/);
    const { result, events } = await r.events([]);
    expectNoStackTrace(result);
    expect(result.code).toBe(0);
    expect(events.filter((e) => e.type === 'stage-started')).toEqual([]);
    expect(
      events.some((e) =>
        /restored from the store: numbers\.txt \(modified\)/.test(String(e.message)),
      ),
    ).toBe(true);
    expect(await artifactChanges(r)).toEqual([]);
    await expectRecovers(r, reference());
  });

  test('deleted files and views and added files are named and undone', async () => {
    const r = await ranRig();
    fs.rmSync(r.path('artifacts/sum'), { recursive: true });
    fs.rmSync(r.path('artifacts/square/squares.txt'));
    fs.writeFileSync(r.path('artifacts/talk/extra.txt'), 'mine\n');
    const changes = await artifactChanges(r);
    expect(changes).toEqual(
      expect.arrayContaining([
        { stageId: 'sum', path: 'sum.txt', change: 'deleted' },
        { stageId: 'square', path: 'squares.txt', change: 'deleted' },
        { stageId: 'talk', path: 'extra.txt', change: 'added' },
      ]),
    );
    expect(changes).toHaveLength(3);
    await expectRecovers(r, reference());
  });

  test('a file replaced by an editor (new inode, same bytes) is not a change', async () => {
    const r = await ranRig();
    const file = r.path('artifacts/sum/sum.txt');
    const bytes = fs.readFileSync(file);
    fs.rmSync(file);
    fs.writeFileSync(file, bytes);
    expect(await artifactChanges(r)).toEqual([]);
    await expectRecovers(r, reference());
  });
});
