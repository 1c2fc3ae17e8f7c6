import { describe, expect, test } from 'vitest';
import { stageIds } from '../engine/rig.js';
import { cannotMount, expectNoStackTrace, expectRecovers, faultRigs } from './fault-rig.js';

const { rig, reference } = faultRigs();

if (cannotMount) test.skip(`full-disk faults skipped: ${cannotMount}`, () => {});

describe.skipIf(cannotMount !== undefined).concurrent('a full disk', () => {
  test('a stage output that does not fit fails that stage as disk-full and stops the run', async () => {
    const r = rig(4096);
    r.fill(512 * 1024);
    const { result, events } = await r.events(['-j', '1', '--set', 'n=200000']);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    const failed = events.find((e) => e.type === 'stage-failed');
    expect(failed?.stageId).toBe('gen');
    expect(String(failed?.message)).toMatch(/^disk full .* \(\d+ bytes free there\)/);
    // the run stopped: nothing started after the failure
    const after = events.slice(events.indexOf(failed as Record<string, unknown>));
    expect(stageIds(after, 'stage-started')).toEqual([]);
    r.unfill();
    await expectRecovers(r, reference());
  });

  test('a log that does not fit fails the talking stage, never the runner', async () => {
    const r = rig(4096);
    // Room for a fresh provenance.db with its WAL (about 140 KiB), not for talk's 230 KiB log.
    r.fill(192 * 1024);
    const { result, events } = await r.events(['talk']);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    const failed = events.find((e) => e.type === 'stage-failed');
    expect(String(failed?.message)).toMatch(/^disk full writing the log .*talk\.log/);
    r.unfill();
    await expectRecovers(r, reference());
  });

  test('after space is freed, run redoes nothing that finished', async () => {
    const r = rig(4096);
    const first = await r.run(['run', 'sum']);
    expect(first.code, first.stderr).toBe(0);
    r.fill(32 * 1024);
    const { result } = await r.events([]);
    expectNoStackTrace(result);
    expect(result.code).toBe(1);
    r.unfill();
    const { events } = await r.events([]);
    expect(stageIds(events)).toEqual(['talk']);
    expect(stageIds(events, 'stage-cached')).toEqual(['gen', 'square', 'sum']);
  });

  // Leaving more and more room moves the point where the disk fills: the lock, the log, a
  // stage's output, the manifest and record, the view, provenance. Whatever the point, the
  // run ends with a message and exit 1 (or succeeds), and the workspace recovers.
  test.each([0, 4, 16, 96, 192, 320, 480, 640])(
    'with %i KiB left the run fails cleanly and recovers',
    async (kib) => {
      const r = rig(4096);
      r.fill(kib * 1024);
      const result = await r.run(['run', '-j', '1']);
      expectNoStackTrace(result);
      if (result.code !== 0) {
        expect(result.code).toBe(1);
        expect(result.stdout + result.stderr).toMatch(/disk full/);
      }
      r.unfill();
      await expectRecovers(r, reference());
    },
  );
});
