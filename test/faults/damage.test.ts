import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { stageIds } from '../engine/rig.js';
import { expectNoStackTrace, expectRecovers, type FaultRig, faultRigs } from './fault-rig.js';

const { ranRig, reference } = faultRigs();

const headOf = (r: FaultRig, stageId: string): string => r.read(`cache/heads/${stageId}`).trim();

/** verify names the damage and exits 1; --repair removes it; run redoes exactly `rerun`. */
async function expectFoundAndRepaired(r: FaultRig, said: RegExp, rerun: string[]): Promise<void> {
  const verify = await r.run(['verify']);
  expectNoStackTrace(verify);
  expect(verify.code, verify.stdout).toBe(1);
  expect(verify.stdout).toMatch(said);
  const repair = await r.run(['verify', '--repair']);
  expectNoStackTrace(repair);
  expect(repair.stdout).toMatch(/^repaired: /m);
  const { result, events } = await r.events([]);
  expect(result.code, result.stderr).toBe(0);
  expect(stageIds(events)).toEqual(rerun);
  await expectRecovers(r, reference());
}

describe.concurrent('damaged records, heads and objects', () => {
  test('a stage record cut short is reported and dropped; run redoes just that stage', async () => {
    const r = await ranRig();
    const key = headOf(r, 'square');
    r.write(`cache/stages/${key}.json`, '{"key": 1, "broken');
    await expectFoundAndRepaired(
      r,
      new RegExp(`damaged stage record cache/stages/${key}\\.json: is not valid JSON`),
      ['square'],
    );
  });

  test('a record that parses but is not a record of its key is damaged too', async () => {
    const r = await ranRig();
    const key = headOf(r, 'gen');
    r.write(`cache/stages/${key}.json`, '{"key": 1}');
    const status = await r.run(['status']);
    expectNoStackTrace(status);
    expect(status.code).toBe(0);
    await expectFoundAndRepaired(r, /damaged stage record .*: names key 1/, ['gen']);
  });

  test('a head holding garbage is reported and dropped; nothing reruns', async () => {
    const r = await ranRig();
    r.write('cache/heads/sum', 'garbage\n');
    await expectFoundAndRepaired(r, /damaged head of stage sum/, []);
  });

  test('an object with a flipped byte is dropped with the records using it', async () => {
    const r = await ranRig();
    const object = r.path('artifacts/gen/numbers.txt');
    const digest = createHash('sha256').update(fs.readFileSync(object)).digest('hex');
    const stored = r.path(`cache/objects/${digest.slice(0, 2)}/${digest.slice(2)}`);
    fs.chmodSync(stored, 0o644);
    const bytes = fs.readFileSync(stored);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    fs.writeFileSync(stored, bytes);
    await expectFoundAndRepaired(r, new RegExp(`corrupt object ${digest}.*used by gen`), ['gen']);
  });

  test('a damaged provenance.db is moved aside; the run goes on with a new history', async () => {
    const r = await ranRig();
    fs.truncateSync(r.path('cache/provenance.db'), 1000);
    for (const side of ['-wal', '-shm'])
      fs.rmSync(r.path(`cache/provenance.db${side}`), { force: true });
    const run = await r.run(['run']);
    expectNoStackTrace(run);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/provenance\.db was damaged .*: moved to provenance\.db\.damaged-/);
    const log = await r.run(['log']);
    expect(log.code).toBe(0);
    expect(log.stdout).toMatch(/success .* cached 4/);
    await expectRecovers(r, reference());
  });
});
