/**
 * Recorded event streams for the UI tests, built here rather than stored: a pipeline of
 * `prepare` -> `train[a|b,0|1]` -> `attack[*]`, run with 2 jobs.
 */
import type { EngineEvent } from '../../src/dag/events.js';

export const t0 = Date.UTC(2026, 0, 2, 3, 4, 5);

const stages = [
  { id: 'prepare', name: 'prepare', kind: 'split' },
  { id: 'train[a,0]', name: 'train', kind: 'train' },
  { id: 'train[a,1]', name: 'train', kind: 'train' },
  { id: 'train[b,0]', name: 'train', kind: 'train' },
  { id: 'train[b,1]', name: 'train', kind: 'train' },
  { id: 'attack[a,0,pgd]', name: 'attack', kind: 'attack' },
];

function start(): EngineEvent[] {
  return [
    {
      type: 'run-started',
      time: t0,
      runId: 'run-1',
      pipeline: 'advrob',
      profile: 'paper',
      jobs: 2,
      meta: { backend: 'wasm' },
      stages,
    },
    {
      type: 'stage-planned',
      time: t0,
      stageId: 'prepare',
      kind: 'split',
      willRun: false,
      reason: { type: 'up-to-date' },
    },
    ...stages.slice(1).map(
      (s): EngineEvent => ({
        type: 'stage-planned',
        time: t0,
        stageId: s.id,
        kind: s.kind,
        willRun: true,
        reason: { type: 'never-run' },
      }),
    ),
    { type: 'stage-cached', time: t0 + 10, stageId: 'prepare', kind: 'split', key: 'k0' },
  ];
}

const trainEpoch = (id: string, time: number, epoch: number, batch: number): EngineEvent => ({
  type: 'stage-progress',
  time,
  stageId: id,
  progress: {
    unit: 'epoch',
    done: epoch,
    total: 35,
    inner: { unit: 'batch', done: batch, total: 100 },
    metrics: { val_acc: 0.5 + epoch / 100 },
  },
});

/** Two training stages running, one finished: the middle of a run. */
export function midRun(): EngineEvent[] {
  return [
    ...start(),
    { type: 'stage-started', time: t0 + 1000, stageId: 'train[a,0]', kind: 'train', key: 'k1' },
    { type: 'stage-started', time: t0 + 1000, stageId: 'train[a,1]', kind: 'train', key: 'k2' },
    trainEpoch('train[a,0]', t0 + 20_000, 11, 30),
    trainEpoch('train[a,1]', t0 + 30_000, 12, 40),
    {
      type: 'stage-finished',
      time: t0 + 61_000,
      stageId: 'train[a,0]',
      kind: 'train',
      key: 'k1',
      durationMs: 60_000,
      earlyCutoff: false,
    },
    { type: 'stage-started', time: t0 + 61_000, stageId: 'train[b,0]', kind: 'train', key: 'k3' },
    trainEpoch('train[a,1]', t0 + 62_000, 34, 99),
    trainEpoch('train[b,0]', t0 + 62_000, 1, 50),
  ];
}

/** The whole run, every stage succeeds. */
export function successfulRun(): EngineEvent[] {
  const finished = (id: string, kind: string, time: number, durationMs: number): EngineEvent => ({
    type: 'stage-finished',
    time,
    stageId: id,
    kind,
    key: `key-${id}`,
    durationMs,
    earlyCutoff: false,
  });
  return [
    ...midRun(),
    finished('train[a,1]', 'train', t0 + 63_000, 62_000),
    { type: 'stage-started', time: t0 + 63_000, stageId: 'train[b,1]', kind: 'train', key: 'k4' },
    finished('train[b,0]', 'train', t0 + 120_000, 59_000),
    {
      type: 'stage-started',
      time: t0 + 120_000,
      stageId: 'attack[a,0,pgd]',
      kind: 'attack',
      key: 'k5',
    },
    {
      type: 'stage-progress',
      time: t0 + 121_000,
      stageId: 'attack[a,0,pgd]',
      progress: { unit: 'images', done: 300, total: 1000, metrics: { asr: 0.93 } },
    },
    finished('train[b,1]', 'train', t0 + 125_000, 62_000),
    finished('attack[a,0,pgd]', 'attack', t0 + 130_000, 10_000),
    {
      type: 'run-finished',
      time: t0 + 130_000,
      runId: 'run-1',
      status: 'success',
      durationMs: 130_000,
      counts: { total: 6, cached: 1, ran: 5, failed: 0, skipped: 0 },
    },
  ];
}

export const failingTail = [
  'epoch 3: loss nan',
  'Traceback: weights diverged',
  'Error: loss is not finite',
];

/** train[b,0] fails; the attack that reads train[a,*] is skipped. */
export function failedRun(): EngineEvent[] {
  return [
    ...midRun(),
    {
      type: 'stage-failed',
      time: t0 + 70_000,
      stageId: 'train[b,0]',
      kind: 'train',
      durationMs: 9_000,
      message: 'stage exited with code 1',
      exitCode: 1,
      signal: null,
      logPath: '/ws/cache/logs/train[b,0].log',
      logTail: failingTail,
    },
    {
      type: 'stage-skipped',
      time: t0 + 70_000,
      stageId: 'attack[a,0,pgd]',
      kind: 'attack',
      failedDependency: 'train[b,0]',
    },
  ];
}

/** Ctrl-C while train[a,1] and train[b,0] run; train[b,1] never starts. */
export function interruptedRun(): EngineEvent[] {
  return [...midRun(), { type: 'run-interrupting', time: t0 + 63_000, signal: 'SIGINT' }];
}

export function interruptedRunFinished(): EngineEvent[] {
  const killed = (id: string): EngineEvent => ({
    type: 'stage-failed',
    time: t0 + 64_000,
    stageId: id,
    kind: 'train',
    durationMs: 3_000,
    message: 'interrupted',
    exitCode: null,
    signal: 'SIGINT',
    logPath: `/ws/cache/logs/${id}.log`,
    logTail: [],
  });
  return [
    ...interruptedRun(),
    killed('train[a,1]'),
    {
      type: 'run-finished',
      time: t0 + 64_000,
      runId: 'run-1',
      status: 'interrupted',
      durationMs: 64_000,
      counts: { total: 6, cached: 1, ran: 1, failed: 0, skipped: 0 },
    },
  ];
}
