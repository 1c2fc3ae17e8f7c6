import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/dag/events.js';
import { RunView } from '../../src/ui/run-view.js';
import { initialRunState, reduceEvents } from '../../src/ui/state.js';
import {
  failedRun,
  failingTail,
  interruptedRun,
  interruptedRunFinished,
  midRun,
  successfulRun,
  t0,
} from './recorded.js';

function frame(events: EngineEvent[], width = 100, height?: number): string {
  const state = reduceEvents(initialRunState, events);
  const { lastFrame, unmount } = render(
    <RunView
      state={state}
      width={width}
      color={false}
      now={state.lastTime}
      {...(height === undefined ? {} : { height })}
    />,
  );
  const text = lastFrame() ?? '';
  unmount();
  return text;
}

const lineWith = (text: string, needle: string) =>
  text.split('\n').find((line) => line.includes(needle)) ?? '';

describe('RunView on recorded runs', () => {
  it('shows the header, one row per running stage with its bars and metrics, and an ETA', () => {
    const text = frame(midRun());
    const [title, tally] = text.split('\n');
    expect(title).toBe('advrob · profile paper · backend wasm · jobs 2');
    expect(tally).toMatch(
      /^1 cached · 2 running · 2 queued · 1 done · 0 failed +1m02s · ETA ≥1m00s$/,
    );
    const row = lineWith(text, 'train[a,1]');
    expect(row).toMatch(
      /^▶ train\[a,1\] epoch 34\/35 █+░ batch {2}99\/100 █+ val_acc 0\.840 +1m01s$/,
    );
    expect(lineWith(text, 'train[b,0]')).toMatch(
      /epoch {2}1\/35 █?░+ batch {2}50\/100 █+░+ val_acc 0\.510 +1s$/,
    );
    // Sibling rows line up: counters are padded to the width of their totals.
    expect(lineWith(text, 'train[a,1]').indexOf('batch')).toBe(
      lineWith(text, 'train[b,0]').indexOf('batch'),
    );
    expect(lineWith(text, '✓ done')).toBe('✓ done 1 (train 1) · cached 1');
    expect(text).not.toContain('train[a,0]');
    expect(text).not.toContain('\x1b');
  });

  it('ends a successful run with finished stages collapsed into one summary line', () => {
    const text = frame(successfulRun());
    expect(text.split('\n')).toEqual([
      'advrob · profile paper · backend wasm · jobs 2',
      expect.stringMatching(/^1 cached · 0 running · 0 queued · 5 done · 0 failed +2m10s$/),
      '✓ done 5 (train 4, attack 1) · cached 1',
      '✓ finished in 2m10s: 5 ran, 1 cached, 0 failed',
    ]);
  });

  it('shows a failing stage with the tail of its log and where the full log is', () => {
    const text = frame(failedRun());
    const lines = text.split('\n');
    const at = lines.indexOf('✗ train[b,0] failed after 9s (exit 1)');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines.slice(at + 1, at + 6)).toEqual([
      '  stage exited with code 1',
      ...failingTail.map((line) => `  │ ${line}`),
      '  log: /ws/cache/logs/train[b,0].log',
    ]);
    expect(lineWith(text, 'running')).toContain('1 failed · 1 skipped');
    // The other branch keeps running.
    expect(lineWith(text, '▶')).toContain('train[a,1]');
  });

  it('says it is stopping on Ctrl-C, then what was cancelled', () => {
    expect(frame(interruptedRun())).toContain(
      '■ stopping (SIGINT): waiting for 2 running stages; nothing half-written is kept',
    );
    const text = frame(interruptedRunFinished());
    expect(text).toContain('■ interrupted after 1m04s: 1 ran, 1 cached, 0 failed');
    expect(text).toContain('  cancelled (2): train[a,1], train[b,0]');
    expect(text).toContain('  not started (2): train, attack');
    expect(text).not.toContain('▶');
  });

  it('fits a 60-column terminal: ids truncated, bars shrunk, nothing wraps', () => {
    const longId = 'attack[cifar10,overfitting,12,pgd-linf]';
    const events: EngineEvent[] = [
      ...failedRun(),
      { type: 'stage-started', time: t0 + 70_000, stageId: longId, kind: 'attack', key: 'k9' },
      {
        type: 'stage-progress',
        time: t0 + 71_000,
        stageId: longId,
        progress: { unit: 'images', done: 250, total: 1000, metrics: { asr: 0.5 } },
      },
    ];
    const text = frame(events, 60);
    for (const line of text.split('\n')) expect(Array.from(line).length).toBeLessThanOrEqual(60);
    // The counts survive; the clock moves to its own line.
    expect(text).toContain('1 cached · 2 running · 1 queued · 1 done · 1 failed');
    expect(text).toMatch(/^1m11s · ETA/m);
    const row = lineWith(text, 'images');
    expect(row).toMatch(/^▶ attack\[ci…pgd-linf\] images {2}250\/1000 █+░+ asr 0\.500 +1s$/);
    // Without room for two bars the inner one goes first; the metric stays.
    expect(lineWith(text, 'train[a,1]')).toMatch(
      /^▶ train\[a,1\] +epoch 34\/35 █+░* val_acc 0\.840 +1m10s$/,
    );
    expect(text).toContain('  log: /ws/cache/logs/train[b,0].log');
  });

  it('shrinks further rather than wrapping in a very narrow terminal', () => {
    const text = frame(midRun(), 40);
    for (const line of text.split('\n')) expect(Array.from(line).length).toBeLessThanOrEqual(40);
    expect(lineWith(text, 'train[a,1]')).toContain('epoch 34/35');
  });

  it('prints info messages once above the live part', () => {
    const text = frame([
      ...midRun(),
      { type: 'info', time: t0 + 62_000, message: 'train[a,1]: resumed from epoch 30' },
    ]);
    expect(text.split('\n')[0]).toBe('ℹ train[a,1]: resumed from epoch 30');
  });

  it('keeps the live part shorter than the terminal, counting the rows left out', () => {
    const many: EngineEvent[] = Array.from({ length: 30 }, (_, i) => ({
      type: 'stage-started',
      time: t0 + 62_000,
      stageId: `cmd[${i}]`,
      kind: 'command',
      key: `c${i}`,
    }));
    const text = frame([...midRun(), ...many], 100, 12);
    const lines = text.split('\n');
    expect(lines.length).toBeLessThan(12);
    expect(lines.filter((l) => l.startsWith('▶'))).toHaveLength(7);
    expect(text).toContain('  … and 25 more running');
  });
});
