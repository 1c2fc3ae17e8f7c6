import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/dag/events.js';
import {
  countStatuses,
  initialRunState,
  progressFraction,
  reduceEvents,
  reduceRun,
  runEta,
} from '../../src/ui/state.js';
import {
  failedRun,
  interruptedRun,
  interruptedRunFinished,
  midRun,
  successfulRun,
  t0,
} from './recorded.js';

const fold = (events: EngineEvent[]) => events.reduce(reduceRun, initialRunState);

describe('run reducer', () => {
  it('tracks the run header and every stage status', () => {
    const state = fold(midRun());
    expect(state).toMatchObject({
      phase: 'running',
      pipeline: 'advrob',
      profile: 'paper',
      jobs: 2,
      meta: { backend: 'wasm' },
      startedAt: t0,
      lastTime: t0 + 62_000,
    });
    expect(countStatuses(state)).toEqual({
      total: 6,
      cached: 1,
      running: 2,
      pendingInQueue: 0,
      queued: 2,
      done: 1,
      failed: 0,
      skipped: 0,
      cancelled: 0,
    });
    expect(state.stages.get('train[a,1]')?.progress).toMatchObject({ done: 34, total: 35 });
    expect(state.durationsByKind).toEqual({ train: [60_000] });
  });

  it('gives the same state folded one event at a time or in one batch', () => {
    const events = successfulRun();
    const oneByOne = fold(events);
    const batched = reduceEvents(initialRunState, events);
    expect([...batched.stages.values()]).toEqual([...oneByOne.stages.values()]);
    expect({ ...batched, stages: null }).toEqual({ ...oneByOne, stages: null });
  });

  it('never mutates the state it is given', () => {
    const before = fold(midRun());
    const snapshot = structuredClone({ ...before, stages: [...before.stages.entries()] });
    reduceEvents(before, successfulRun().slice(midRun().length));
    expect({ ...before, stages: [...before.stages.entries()] }).toEqual(snapshot);
  });

  it('keeps failures with their log tail, in the order they happened', () => {
    const state = fold(failedRun());
    expect(state.failures).toEqual(['train[b,0]']);
    expect(state.stages.get('train[b,0]')).toMatchObject({
      status: 'failed',
      failure: { exitCode: 1, logPath: '/ws/cache/logs/train[b,0].log' },
    });
    expect(state.stages.get('attack[a,0,pgd]')).toMatchObject({
      status: 'skipped',
      failedDependency: 'train[b,0]',
    });
  });

  it('marks a run stopping on run-interrupting and the stages it killed as cancelled', () => {
    expect(fold(interruptedRun()).phase).toBe('stopping');
    const state = fold(interruptedRunFinished());
    expect(state.phase).toBe('finished');
    expect(state.stages.get('train[a,1]')?.status).toBe('cancelled');
    expect(state.stages.get('train[b,0]')?.status).toBe('cancelled');
    expect(state.stages.get('train[b,1]')?.status).toBe('queued');
    expect(state.failures).toEqual([]);
  });

  it('adds stages it was never told about instead of dropping their events', () => {
    const state = reduceRun(initialRunState, {
      type: 'stage-started',
      time: 5,
      stageId: 'late[x]',
      kind: 'command',
      key: 'k',
    });
    expect(state.order).toEqual(['late[x]']);
    expect(state.stages.get('late[x]')).toMatchObject({ name: 'late', status: 'running' });
  });
});

describe('progressFraction', () => {
  it('counts the inner bar inside the current outer step', () => {
    expect(
      progressFraction({
        unit: 'epoch',
        done: 1,
        total: 4,
        inner: { unit: 'b', done: 1, total: 2 },
      }),
    ).toBe(1.5 / 4);
    expect(progressFraction({ unit: 'images', done: 0, total: 0 })).toBeUndefined();
  });
});

describe('runEta', () => {
  it('learns from finished stages of the same kind', () => {
    const state = fold(midRun());
    const now = t0 + 62_000;
    // train mean 60 s. Queued: train[b,1] (60 s), attack (no sample: partial).
    // Running: train[a,1] at its own pace, 61 s for (34 + 0.99) / 35 -> 61 * (1 - f) / f;
    // train[b,0] 1 s for (1 + 0.5) / 35.
    const pace = (elapsed: number, f: number) => (elapsed * (1 - f)) / f;
    const work = 60_000 + pace(61_000, 34.99 / 35) + pace(1_000, 1.5 / 35);
    const eta = runEta(state, now);
    expect(eta?.partial).toBe(true);
    // No schedule beats its longest single stage: here the queued 60 s train.
    const longest = Math.max(60_000, pace(61_000, 34.99 / 35), pace(1_000, 1.5 / 35));
    expect(eta?.ms).toBeCloseTo(Math.max(work / 2, longest), 6);
    expect(work / 2).toBeLessThan(longest);
  });
});
