import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/dag/events.js';
import { createEventSink, useColor } from '../../src/ui/index.js';
import { createInkSink } from '../../src/ui/ink-sink.js';
import { stripEscapes } from './ansi.js';
import { failedRun, interruptedRunFinished, successfulRun, t0 } from './recorded.js';

/** A non-TTY stream that keeps what was written. */
function capture(): { out: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { out: out as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

/** Enough of a terminal for Ink: a TTY with a size that can change. */
class FakeTerminal extends EventEmitter {
  isTTY = true;
  columns = 80;
  rows = 24;
  writes: string[] = [];
  write(chunk: string): boolean {
    this.writes.push(String(chunk));
    return true;
  }
}

async function play(mode: 'plain' | 'json', events: EngineEvent[], color: boolean) {
  const { out, text } = capture();
  const sink = createEventSink({ mode, out, color });
  for (const event of events) sink.emit(event);
  await sink.close?.();
  return text();
}

describe('plain mode', () => {
  it('writes timestamped lines and not a single escape byte without a TTY', async () => {
    const text = await play('plain', failedRun(), useColor({}, false));
    expect(text).not.toContain('\x1b');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      '03:04:05 run advrob (profile paper, backend wasm, jobs 2): 6 stages, run id run-1',
    );
    expect(lines.slice(1, 7)).toEqual([
      '03:04:05 plan',
      '         ✓ prepare          split   up to date',
      '         ● train[*]         train   4: 4 will run',
      '             never run ×4  train[a,0], train[a,1], train[b,0], train[b,1]',
      '         ● attack[a,0,pgd]  attack  will run: never run',
      '         6 stages: 1 up to date, 5 will run (train 4, attack 1)',
    ]);
    // The plan said it is up to date; its settling cached is not worth another line.
    expect(lines.filter((l) => l.includes('cached prepare'))).toEqual([]);
    expect(lines).toContain('03:04:06 start  train[a,0]');
    expect(lines).toContain('03:05:06 done   train[a,0] in 1m00s');
    expect(lines).toContain(
      '03:05:15 FAILED train[b,0] after 9s (exit 1): stage exited with code 1',
    );
    expect(lines).toContain(`${' '.repeat(16)}| Error: loss is not finite`);
    expect(lines).toContain(`${' '.repeat(16)}log: /ws/cache/logs/train[b,0].log`);
    expect(lines).toContain('03:05:15 skip   attack[a,0,pgd]: train[b,0] failed');
    for (const line of lines) expect(line).toMatch(/^(\d\d:\d\d:\d\d | {9})/);
  });

  it('says cached for a stage planned to run that settled cached, not for one planned fresh', async () => {
    const planned = (stageId: string, willRun: boolean): EngineEvent => ({
      type: 'stage-planned',
      time: t0,
      stageId,
      kind: 'split',
      willRun,
      reason: willRun ? { type: 'never-run' } : { type: 'up-to-date' },
    });
    const cached = (stageId: string): EngineEvent => ({
      type: 'stage-cached',
      time: t0 + 1000,
      stageId,
      kind: 'split',
      key: `k-${stageId}`,
    });
    const text = await play(
      'plain',
      [planned('fresh', false), planned('cutoff', true), cached('fresh'), cached('cutoff')],
      false,
    );
    expect(text.split('\n').filter((l) => l.includes(' cached '))).toEqual([
      '03:04:06 cached cutoff',
    ]);
  });

  it('honours NO_COLOR even on a terminal, and colours only when allowed', async () => {
    const noColor = await play('plain', successfulRun(), useColor({ NO_COLOR: '1' }, true));
    expect(noColor).not.toContain('\x1b');
    const colored = await play('plain', successfulRun(), useColor({}, true));
    expect(colored).toContain('\x1b[32m');
    expect(stripEscapes(colored)).toBe(noColor);
  });

  it('thins progress to one line per stage every few seconds, plus the last step', async () => {
    const events: EngineEvent[] = Array.from({ length: 100 }, (_, i) => ({
      type: 'stage-progress',
      time: t0 + i * 100,
      stageId: 'attack[x]',
      progress: { unit: 'images', done: i + 1, total: 100 },
    }));
    const lines = (await play('plain', events, false)).trimEnd().split('\n');
    // At 0 s, 5 s and the final step (9.9 s).
    expect(lines.map((l) => l.replace(/^\S+ +/, ''))).toEqual([
      'attack[x]: images 1/100',
      'attack[x]: images 51/100',
      'attack[x]: images 100/100',
    ]);
  });

  it('logs every epoch of a training with its val_acc, not every batch', async () => {
    const events: EngineEvent[] = [];
    // 100 ms apart: the whole training takes 3.3 s, under the 5 s time-based throttle.
    const at = () => t0 + events.length * 100;
    for (let epoch = 1; epoch <= 3; epoch++) {
      for (let batch = 1; batch <= 10; batch++) {
        events.push({
          type: 'stage-progress',
          time: at(),
          stageId: 'train[a]',
          progress: {
            unit: 'epoch',
            done: epoch - 1,
            total: 3,
            inner: { unit: 'batch', done: batch, total: 10 },
            metrics: { loss: 1 / epoch },
          },
        });
      }
      events.push({
        type: 'stage-progress',
        time: at(),
        stageId: 'train[a]',
        progress: { unit: 'epoch', done: epoch, total: 3, metrics: { val_acc: epoch / 4 } },
      });
    }
    const lines = (await play('plain', events, false)).trimEnd().split('\n');
    expect(lines.map((l) => l.replace(/^\S+ +/, ''))).toEqual([
      'train[a]: epoch 0/3 batch 1/10 loss 1',
      'train[a]: epoch 1/3 val_acc 0.250',
      'train[a]: epoch 2/3 val_acc 0.500',
      'train[a]: epoch 3/3 val_acc 0.750',
    ]);
  });

  it('says what was cancelled when a run is interrupted', async () => {
    const text = await play('plain', interruptedRunFinished(), false);
    expect(text).toContain('stopping (SIGINT)');
    expect(text).toMatch(/interrupted in 1m04s: 6 stages, 1 ran/);
  });
});

describe('json mode', () => {
  it('writes exactly the event objects, one per line', async () => {
    const events = failedRun();
    const text = await play('json', events, true);
    expect(text.endsWith('\n')).toBe(true);
    const parsed = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(parsed).toEqual(events);
  });
});

describe('ink mode', () => {
  // createEventSink({ mode: 'ink' }) is createInkSink with Ink's console patching on, which
  // cannot run under vitest's own console; the sink is otherwise the same.
  it('batches a burst of events into few frames and restores the cursor on close', async () => {
    const terminal = new FakeTerminal();
    const sink = createInkSink({
      out: terminal as unknown as NodeJS.WriteStream,
      color: false,
      patchConsole: false,
    });
    const events = successfulRun();
    const burst: EngineEvent[] = Array.from({ length: 500 }, (_, i) => ({
      type: 'stage-progress',
      time: t0 + 121_000,
      stageId: 'attack[a,0,pgd]',
      progress: { unit: 'images', done: i, total: 1000 },
    }));
    const at = events.findIndex(
      (e) => e.type === 'stage-progress' && e.stageId.startsWith('attack'),
    );
    for (const event of [...events.slice(0, at), ...burst, ...events.slice(at)]) sink.emit(event);
    await sink.close?.();
    const output = terminal.writes.join('');
    // Emitted synchronously, 500+ events fold into the first and the final frame.
    expect(terminal.writes.filter((w) => w.includes('advrob')).length).toBeLessThanOrEqual(3);
    expect(output).toContain('✓ finished in 2m10s: 5 ran, 1 cached, 0 failed');
    expect(output).toContain('\x1b[?25l');
    expect(output.lastIndexOf('\x1b[?25h')).toBeGreaterThan(output.lastIndexOf('\x1b[?25l'));
  });

  it('leaves nothing on screen when the run never started', async () => {
    const terminal = new FakeTerminal();
    const sink = createInkSink({
      out: terminal as unknown as NodeJS.WriteStream,
      color: false,
      patchConsole: false,
    });
    await sink.close?.();
    expect(stripEscapes(terminal.writes.join('')).trim()).toBe('');
  });

  it('redraws at the new width when the terminal is resized, before any new event', async () => {
    const terminal = new FakeTerminal();
    const sink = createInkSink({
      out: terminal as unknown as NodeJS.WriteStream,
      color: false,
      patchConsole: false,
      now: () => t0 + 70_000,
    });
    const lastFrame = () => {
      const frame = terminal.writes.filter((w) => w.includes('advrob')).at(-1) ?? '';
      return stripEscapes(frame).split('\n');
    };
    // A 250 ms pause lets the 100 ms frame timer (and Ink's trailing write) fire first.
    const settle = () => new Promise((resolve) => setTimeout(resolve, 250));
    for (const event of failedRun()) sink.emit(event);
    await settle();
    expect(Math.max(...lastFrame().map((l) => Array.from(l).length))).toBeGreaterThan(50);
    terminal.columns = 50;
    terminal.emit('resize');
    await settle();
    const lines = lastFrame();
    for (const line of lines) expect(Array.from(line).length).toBeLessThanOrEqual(50);
    // Laid out again for 50 columns (bars shrunk, elapsed time kept), not merely cut by Ink.
    expect(lines.find((l) => l.startsWith('▶ train[a,1]'))).toMatch(/ epoch 34\/35 █+░* .* 1m09s$/);
    await sink.close?.();
  });
});

describe('plain mode recap', () => {
  it('lists each failure with its log after the verdict', async () => {
    const events: EngineEvent[] = [
      ...failedRun(),
      {
        type: 'run-finished',
        time: t0 + 80_000,
        runId: 'run-1',
        status: 'failed',
        durationMs: 80_000,
        counts: { total: 6, cached: 1, ran: 2, failed: 1, skipped: 1 },
      },
    ];
    const lines = (await play('plain', events, false)).trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual([
      '03:05:25 FAILED in 1m20s: 6 stages, 2 ran, 1 cached, 1 failed, 1 skipped',
      '03:05:25 failed train[b,0]: log /ws/cache/logs/train[b,0].log',
    ]);
  });

  it('lists what an interrupt cancelled and what never started', async () => {
    const lines = (await play('plain', interruptedRunFinished(), false)).trimEnd().split('\n');
    expect(lines.slice(-2)).toEqual([
      '03:05:09 cancelled (2): train[a,1], train[b,0]',
      '         not started (2): train, attack',
    ]);
  });
});
