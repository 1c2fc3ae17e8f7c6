import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_ON, pause, retryDelay, retryPolicy } from '../../src/dag/retry.js';

describe('retry policy', () => {
  test('nothing is retried unless asked; a stage overrides the runtime default', () => {
    expect(retryPolicy({}, {})).toEqual({ retries: 0, on: DEFAULT_RETRY_ON, backoffMs: 1000 });
    expect(retryPolicy({}, { retries: 3, retry_backoff: 0.25 }).retries).toBe(3);
    expect(retryPolicy({}, { retries: 3, retry_backoff: 0.25 }).backoffMs).toBe(250);
    expect(retryPolicy({ retries: 1 }, { retries: 3 }).retries).toBe(1);
    expect(retryPolicy({ retry_on: ['exit'] }, { retry_on: ['signal'] }).on).toEqual(['exit']);
  });

  test('by default a signal, node failure or preemption is retried, a plain exit is not', () => {
    const policy = retryPolicy({ retries: 2 }, {});
    for (const cause of ['signal', 'node-failure', 'preempted'] as const)
      expect(retryDelay(policy, cause, 1)).toBe(1000);
    for (const cause of ['exit', 'out-of-memory', 'timeout', 'disk-full', 'runner'] as const)
      expect(retryDelay(policy, cause, 1)).toBeUndefined();
    expect(retryDelay(retryPolicy({ retries: 2, retry_on: ['exit'] }, {}), 'exit', 1)).toBe(1000);
  });

  test('the pause doubles per attempt up to a minute; retries run out', () => {
    const policy = retryPolicy({ retries: 9 }, { retry_backoff: 10 });
    expect([1, 2, 3, 4, 9].map((n) => retryDelay(policy, 'signal', n))).toEqual([
      10_000, 20_000, 40_000, 60_000, 60_000,
    ]);
    expect(retryDelay(policy, 'signal', 10)).toBeUndefined();
    expect(retryDelay(retryPolicy({}, {}), 'signal', 1)).toBeUndefined();
  });

  test('a pause ends at once when the run is stopped', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const waiting = pause(60_000, stop.signal);
    stop.abort();
    await waiting;
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
