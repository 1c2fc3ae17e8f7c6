/** A command stage's `tools:` through the real CLI: what a tool prints is in the key. */
import { afterAll, describe, expect, test } from 'vitest';
import { Rig, stageIds } from './rig.js';

const rigs: Rig[] = [];
afterAll(() => {
  for (const r of rigs.splice(0)) r.cleanup();
});

// `fit` (two stages) declares a tool whose output is tool-version.txt; `clean` declares
// another; `plain` none. The tool counts its own runs in probes.txt.
const pipeline = `version: 1
stages:
  fit:
    kind: command
    foreach: { i: [1, 2] }
    tools: ["echo probe >> probes.txt; cat tool-version.txt"]
    cmd: echo \${i} > o.txt
    outs: [o.txt]
  clean:
    kind: command
    tools: ["echo cleaner 1"]
    cmd: echo c > o.txt
    outs: [o.txt]
  plain:
    kind: command
    inputs: { f: "fit[1]" }
    cmd: cat "$IN_F/o.txt" > o.txt
    outs: [o.txt]
`;

function rig(): Rig {
  const r = new Rig();
  rigs.push(r);
  r.write('pipeline.yaml', pipeline);
  r.write('tool-version.txt', 'mytool 1.0\n');
  return r;
}

const probes = (r: Rig): number => r.read('probes.txt').split('\n').filter(Boolean).length;

describe('tools:', () => {
  test('a changed tool output reruns only the stages that declare it, and status names it', async () => {
    const r = rig();
    const first = await r.events([]);
    expect(first.result.code, first.result.stderr).toBe(0);
    expect(stageIds(first.events)).toEqual(['clean', 'fit[1]', 'fit[2]', 'plain']);
    expect(probes(r)).toBe(1);

    r.write('tool-version.txt', 'mytool 2.0\n');
    const status = await r.run(['status', '--json']);
    const rows = (JSON.parse(status.stdout) as { stages: { id: string; reasonText: string }[] })
      .stages;
    const why = Object.fromEntries(rows.map((row) => [row.id, row.reasonText]));
    expect(why).toEqual({
      'fit[1]': "tool 'echo probe >> probes.txt; cat tool-version.txt' mytool 1.0 -> mytool 2.0",
      'fit[2]': "tool 'echo probe >> probes.txt; cat tool-version.txt' mytool 1.0 -> mytool 2.0",
      clean: 'up to date',
      plain: 'upstream will run: fit[1]',
    });

    // fit[1]'s output is unchanged, so plain is spared (early cutoff)
    const second = await r.events([]);
    expect(stageIds(second.events)).toEqual(['fit[1]', 'fit[2]']);
    // once per run, however many stages declare it (status ran it once too)
    expect(probes(r)).toBe(3);
  });

  test('--assume-fresh accepts a tool change and says what it accepted', async () => {
    const r = rig();
    expect((await r.events([])).result.code).toBe(0);
    r.write('tool-version.txt', 'mytool 1.1\n');
    const accepted = await r.events(['--assume-fresh', 'fit']);
    expect(stageIds(accepted.events)).toEqual([]);
    const planned = accepted.events.find(
      (e) => e.type === 'stage-planned' && e.stageId === 'fit[1]',
    );
    expect(planned).toMatchObject({
      reason: {
        type: 'assumed-fresh',
        accepted: [{ type: 'tools-changed', tools: [{ from: 'mytool 1.0', to: 'mytool 1.1' }] }],
      },
    });
  });

  test('a failing tool is an error naming the stage and the tool', async () => {
    const r = rig();
    r.write('pipeline.yaml', pipeline.replace('echo cleaner 1', 'cleaner --version'));
    const status = await r.run(['status']);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(
      /stage 'clean': tool 'cleaner --version' exited with code 127: .*not found/,
    );
  });
});
