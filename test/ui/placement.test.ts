/**
 * A stage on a cluster: started, but its job may still wait in the queue. The live view and
 * the plain log show it apart from the stages that run, with Slurm's reason.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/dag/events.js';
import { headerLines, runningRows } from '../../src/ui/frame.js';
import { plainLine } from '../../src/ui/plain-sink.js';
import { countStatuses, initialRunState, reduceEvents } from '../../src/ui/state.js';
import { painter } from '../../src/ui/text.js';

const t0 = 1_700_000_000_000;
const events: EngineEvent[] = [
  {
    type: 'run-started',
    time: t0,
    runId: 'r',
    pipeline: 'p',
    profile: null,
    jobs: 100,
    meta: { executor: 'slurm' },
    stages: [
      { id: 'train[0]', name: 'train', kind: 'train' },
      { id: 'train[1]', name: 'train', kind: 'train' },
    ],
  },
  { type: 'stage-started', time: t0, stageId: 'train[0]', kind: 'train', key: 'a' },
  { type: 'stage-started', time: t0, stageId: 'train[1]', kind: 'train', key: 'b' },
  {
    type: 'stage-placement',
    time: t0 + 1000,
    stageId: 'train[0]',
    state: 'pending',
    jobId: '41',
    reason: 'Priority',
  },
  {
    type: 'stage-placement',
    time: t0 + 1000,
    stageId: 'train[1]',
    state: 'pending',
    jobId: '42',
    reason: 'Resources',
  },
  {
    type: 'stage-placement',
    time: t0 + 2000,
    stageId: 'train[1]',
    state: 'running',
    jobId: '42',
    node: 'n07',
  },
];

describe('pending in Slurm', () => {
  const state = reduceEvents(initialRunState, events);
  const opts = { width: 100, color: false, now: t0 + 5000 };

  it('is counted apart from running', () => {
    expect(countStatuses(state)).toMatchObject({ running: 2, pendingInQueue: 1 });
    expect(headerLines(state, opts).join('\n')).toMatch(/1 running · 1 pending in Slurm/);
  });

  it('is drawn after the running stages, with the reason and the job', () => {
    const rows = runningRows(state, opts);
    expect(rows[0]).toMatch(/^▶ train\[1\]/);
    expect(rows[1]).toMatch(/^◌ train\[0\] +pending in Slurm \(Priority\), job 41/);
  });

  it('is one line in the plain log, as is the node it then runs on', () => {
    const paint = painter(false);
    const lines = events.slice(3).map((e) => plainLine(e, paint, { tailLines: 5 }));
    expect(lines).toEqual([
      'wait   train[0]: pending in Slurm (Priority), job 41',
      'wait   train[1]: pending in Slurm (Resources), job 42',
      'place  train[1]: running on n07, job 42',
    ]);
  });
});
