/**
 * A reader that stops early (`advrob-dag dag --format dot | head -1`) closes the CLI's
 * stdout: printing commands end quietly with 0, a run stops in order (130, lock released).
 */
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { type CliResult, finished, Rig } from './rig.js';

const MANY = `
version: 1
stages:
  a:
    kind: command
    foreach: { i: { range: 400 } }
    cmd: echo \${i} > out.txt
    outs: [out.txt]
`;

/** Runs the CLI and closes its stdout after the first chunk, as `head -c 1` would. */
function closingEarly(child: ChildProcess): Promise<CliResult> {
  child.stdout?.once('data', () => child.stdout?.destroy());
  return finished(child);
}

describe('stdout closed by its reader', () => {
  let rig: Rig;
  afterEach(() => rig.cleanup());

  test('dag --format dot ends quietly with exit 0', async () => {
    rig = new Rig();
    rig.write('pipeline.yaml', MANY);
    const result = await closingEarly(rig.start(['dag', '--format', 'dot']));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('run --json stops in order: exit 130, lock released, the next run finishes', async () => {
    rig = new Rig();
    rig.write('pipeline.yaml', MANY);
    const cut = await closingEarly(rig.start(['run', '--json']));
    expect(cut.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(cut.code).toBe(130);
    expect(rig.exists('cache/run.lock')).toBe(false);
    const next = await rig.run(['run', '--no-ui']);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/400 stages/);
  });
});
