import { describe, expect, it } from 'vitest';
import type { StageProgress } from '../../src/dag/stage-kind.js';
import { metricTexts, progressText, runningRows } from '../../src/ui/frame.js';
import { initialRunState, reduceEvents } from '../../src/ui/state.js';
import { painter } from '../../src/ui/text.js';

const plain = painter(false);
const progress: StageProgress = {
  unit: 'epoch',
  done: 12,
  total: 35,
  inner: { unit: 'batch', done: 40, total: 100 },
  metrics: { loss: 0.41, acc: Number.NaN, val_acc: 0.8123 },
  message: 'pgd',
};

/** The words of a progress text, bars removed. */
const words = (text: string) => text.split(' ').filter((w) => w !== '' && !/^[█░]+$/.test(w));

describe('progressText', () => {
  it('shows everything when there is room: wanted metrics first, NaN left out', () => {
    const text = progressText(progress, 100, plain);
    expect(words(text)).toEqual([
      'epoch',
      '12/35',
      'batch',
      '40/100',
      'val_acc',
      '0.812',
      'loss',
      '0.410',
      'pgd',
    ]);
    expect(text).toMatch(/^epoch 12\/35 █+░+ batch {2}40\/100 █+░+ val_acc/);
  });

  it('gives up the message, then metrics, then the inner bar as room runs out', () => {
    const seen = [90, 60, 50, 42, 30, 20].map((room) => {
      const text = progressText(progress, room, plain);
      expect(Array.from(text).length).toBeLessThanOrEqual(room);
      return words(text).join(' ');
    });
    expect(seen).toEqual([
      'epoch 12/35 batch 40/100 val_acc 0.812 loss 0.410 pgd',
      'epoch 12/35 batch 40/100 val_acc 0.812 loss 0.410',
      'epoch 12/35 batch 40/100 val_acc 0.812',
      'epoch 12/35 val_acc 0.812 loss 0.410',
      'epoch 12/35 val_acc 0.812',
      'epoch 12/35',
    ]);
  });

  it('sorts metrics by how much people look for them', () => {
    expect(metricTexts({ loss: 1, zeta: 2, asr: 0.5, val_acc: 0.25 })).toEqual([
      'val_acc 0.250',
      'asr 0.500',
      'loss 1',
      'zeta 2',
    ]);
  });
});

describe('metrics across progress events', () => {
  it('keeps the last epoch val_acc while batch updates report loss and acc', () => {
    const state = reduceEvents(initialRunState, [
      {
        type: 'stage-progress',
        time: 1,
        stageId: 'train[a]',
        progress: { unit: 'epoch', done: 3, total: 35, metrics: { val_acc: 0.7, acc: 0.6 } },
      },
      {
        type: 'stage-progress',
        time: 2,
        stageId: 'train[a]',
        progress: {
          unit: 'epoch',
          done: 3,
          total: 35,
          inner: { unit: 'batch', done: 5, total: 10 },
          metrics: { loss: 0.3, acc: 0.65 },
        },
      },
    ]);
    expect(state.stages.get('train[a]')?.progress?.metrics).toEqual({
      val_acc: 0.7,
      acc: 0.65,
      loss: 0.3,
    });
  });
});

describe('running rows', () => {
  const running = (id: string, progress: StageProgress) =>
    reduceEvents(initialRunState, [
      { type: 'stage-started', time: 0, stageId: id, kind: 'attack', key: 'k' },
      { type: 'stage-progress', time: 1, stageId: id, progress },
    ]);
  const attack: StageProgress = { unit: 'batch', done: 3, total: 7, metrics: { asr: 0.5 } };
  const id = 'attack[fashion-mnist-mini,normal,0,pgd]';

  it('shows a long id whole when the terminal is wide enough for it and the bar', () => {
    const [row] = runningRows(running(id, attack), { width: 110, color: false, now: 2 });
    expect(row).toContain(id);
    expect(Array.from(row as string).length).toBeLessThanOrEqual(110);
  });

  it('cuts the id in the middle only when the row cannot hold both', () => {
    const [row] = runningRows(running(id, attack), { width: 60, color: false, now: 2 });
    expect(row).not.toContain(id);
    expect(row).toContain('…');
    expect(row).toContain('batch 3/7');
    expect(Array.from(row as string).length).toBeLessThanOrEqual(60);
  });
});
