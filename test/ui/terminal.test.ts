/**
 * The real CLI in a real pseudo-terminal (tmux) and without one: what a user sees at the end
 * of a run, Ctrl-C included, and that nothing but plain text reaches a pipe. Needs tmux
 * (.ci/run installs it); without it these tests fail rather than skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Three kinds of outcome: a quick stage, a foreach group that logs, a stage that fails. */
const mixedPipeline = `version: 1
name: tiny
stages:
  shout:
    kind: command
    cmd: tr a-z A-Z < "$DEP_0" > out.txt
    deps: [notes.txt]
    outs: [out.txt]
  count:
    kind: command
    foreach: { i: { range: 3 } }
    cmd: echo counting \${i}; echo \${i} > out.txt
    outs: [out.txt]
  boom:
    kind: command
    cmd: echo preparing; echo about to fail >&2; exit 3
    outs: [out.txt]
`;

/** Stages that outlive the test's patience, to be interrupted. */
const slowPipeline = `version: 1
name: slow
stages:
  wait:
    kind: command
    foreach: { i: { range: 4 } }
    cmd: echo waiting \${i}; sleep 60; echo \${i} > out.txt
    outs: [out.txt]
`;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workspace(pipeline: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'advrob-ui-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pipeline.yaml'), pipeline);
  writeFileSync(join(dir, 'notes.txt'), 'hello\n');
  return dir;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A detached tmux session on a private socket, running the CLI in `cwd`. */
function terminal(cwd: string, cols: number, rows: number, args: string) {
  const socket = join(cwd, 'tmux.sock');
  const tmux = (...argv: string[]) => {
    const result = spawnSync('tmux', ['-S', socket, '-f', '/dev/null', '-u', ...argv], {
      encoding: 'utf8',
    });
    if (result.error) {
      throw new Error(
        `tmux is needed for this test (apt-get install tmux): ${result.error.message}`,
      );
    }
    return result;
  };
  // The user's shell would not have CI or colour overrides set; the test runner might.
  const command = [
    `cd ${shellQuote(cwd)}`,
    `env -u CI -u NO_COLOR -u FORCE_COLOR ${shellQuote(process.execPath)} ${shellQuote(cli)} ${args}`,
    'echo "[exit $?]"',
    'sleep 600',
  ].join('; ');
  const started = tmux(
    'new-session',
    '-d',
    '-s',
    'ui',
    '-x',
    String(cols),
    '-y',
    String(rows),
    command,
  );
  expect(started.stderr).toBe('');
  cleanups.push(() => tmux('kill-server'));
  const screen = () => tmux('capture-pane', '-p', '-t', 'ui').stdout;
  return {
    screen,
    keys: (...keys: string[]) => tmux('send-keys', '-t', 'ui', ...keys),
    /** Polls the screen until `pattern` shows (or gives up after `limitMs`, returning it anyway). */
    async until(pattern: RegExp, limitMs = 20_000): Promise<string> {
      const giveUp = Date.now() + limitMs;
      let text = screen();
      while (!pattern.test(text) && Date.now() < giveUp) {
        await sleep(100);
        text = screen();
      }
      return text;
    },
  };
}

const screenLines = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');

describe('the live view in a terminal (tmux)', () => {
  it('ends with the failure, its log tail and log path, and a one-line summary', async () => {
    const dir = workspace(mixedPipeline);
    const tty = terminal(dir, 80, 24, 'run');
    const lines = screenLines(await tty.until(/\[exit \d+\]/));
    expect(lines.at(-1)).toBe('[exit 1]');
    const at = lines.findIndex((l) => l.startsWith('✗ boom failed after'));
    expect(lines.slice(at + 1, at + 5)).toEqual([
      '  command exited with code 3',
      '  │ preparing',
      '  │ about to fail',
      expect.stringMatching(/^ {2}log: cache\/logs\/.+\/boom\.log$/),
    ]);
    // The live part was redrawn in place: one header, one tally, no running row left behind.
    expect(lines.filter((l) => l.startsWith('tiny · '))).toEqual([
      expect.stringMatching(/^tiny · backend none · jobs 2/),
    ]);
    expect(lines.filter((l) => / cached · /.test(l))).toEqual([
      expect.stringMatching(/^0 cached · 0 running · 0 queued · 4 done · 1 failed +\d/),
    ]);
    expect(lines.some((l) => l.startsWith('▶'))).toBe(false);
    expect(lines).toContain('✓ done 4 (shout 1, count 3)');
    expect(lines.find((l) => l.startsWith('✗ failed after'))).toMatch(
      /^✗ failed after \S+: 4 ran, 0 cached, 1 failed$/,
    );

    // Run again: everything that succeeded comes from the cache.
    rmSync(join(dir, 'tmux.sock'), { force: true });
    cleanups.pop()?.();
    const again = screenLines(await terminal(dir, 80, 24, 'run').until(/\[exit \d+\]/));
    expect(again.find((l) => / cached · /.test(l))).toMatch(
      /^4 cached · 0 running · 0 queued · 0 done · 1 failed/,
    );
  });

  it('says what Ctrl-C cancelled, in a 60-column terminal', async () => {
    const dir = workspace(slowPipeline);
    const tty = terminal(dir, 60, 20, 'run --jobs 2');
    const running = await tty.until(/^▶ wait\[1\]/m);
    for (const line of screenLines(running))
      expect(Array.from(line).length).toBeLessThanOrEqual(60);
    expect(running).toMatch(/^0 cached · 2 running · 2 queued · 0 done · 0 failed/m);
    tty.keys('C-c');
    const lines = screenLines(await tty.until(/\[exit \d+\]/));
    expect(lines.at(-1)).toBe('[exit 130]');
    expect(lines.find((l) => l.startsWith('■ interrupted after'))).toMatch(
      /^■ interrupted after \S+: 0 ran, 0 cached, 0 failed$/,
    );
    expect(lines).toContain('  cancelled (2): wait[0], wait[1]');
    expect(lines).toContain('  not started (2): wait ×2');
    expect(lines.some((l) => l.startsWith('▶'))).toBe(false);
  });
});

describe('the CLI without a terminal', () => {
  const run = (dir: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const { CI: _ci, NO_COLOR: _nc, FORCE_COLOR: _fc, ...rest } = process.env;
    return spawnSync(process.execPath, [cli, ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...rest, ...env },
    });
  };

  it('writes plain timestamped lines and not one escape byte', () => {
    const dir = workspace(mixedPipeline);
    const result = run(dir, ['run']);
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).not.toContain('\x1b');
    const lines = result.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^(\d\d:\d\d:\d\d | {9})/);
    expect(lines).toContain(`${' '.repeat(16)}| about to fail`);
    expect(lines.at(-1)).toMatch(/^\d\d:\d\d:\d\d failed boom: log cache\/logs\/.+\/boom\.log$/);
  });

  it('keeps colour off with NO_COLOR even when FORCE_COLOR asks for it', () => {
    const dir = workspace(mixedPipeline);
    const result = run(dir, ['run'], { NO_COLOR: '1', FORCE_COLOR: '1' });
    expect(result.stdout + result.stderr).not.toContain('\x1b');
    const forced = run(dir, ['run', '--force', 'shout'], { FORCE_COLOR: '1' });
    expect(forced.stdout).toContain('\x1b[');
  });

  it('writes the event stream as NDJSON with --json, one parseable event per line', () => {
    const dir = workspace(mixedPipeline);
    const result = run(dir, ['run', '--json']);
    const events = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(events[0]?.type).toBe('run-started');
    expect(events.at(-1)?.type).toBe('run-finished');
    expect(events.filter((e) => e.type === 'stage-failed')).toHaveLength(1);
  });
});
