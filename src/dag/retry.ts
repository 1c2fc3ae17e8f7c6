/**
 * When a failed stage is run again: `retries: N` (per stage, or a default in `runtime`) for
 * the failures that were not the stage's own doing, after a doubling pause. A plain non-zero
 * exit is the stage's own doing and is retried only when `retry_on` lists `exit`: rerunning a
 * deterministic stage that failed would fail again. Pure: the engine asks, this answers.
 */
import type { FailureCause } from './executor.js';

/** What `retry_on` may name: the causes a second attempt can cure. */
export const RETRYABLE_CAUSES = [
  'exit',
  'signal',
  'node-failure',
  'preempted',
  'timeout',
  'out-of-memory',
] as const satisfies readonly FailureCause[];

export type RetryableCause = (typeof RETRYABLE_CAUSES)[number];

/** Killed from outside, or the cluster lost or took back the node: worth another go. */
export const DEFAULT_RETRY_ON: readonly RetryableCause[] = ['signal', 'node-failure', 'preempted'];

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  on: readonly RetryableCause[];
  /** Pause before the first retry; each further retry waits twice as long, at most a minute. */
  backoffMs: number;
}

export const NO_RETRY: RetryPolicy = { retries: 0, on: DEFAULT_RETRY_ON, backoffMs: 1000 };

const MAX_BACKOFF_MS = 60_000;

/** As written under `runtime:` or a stage; absent fields fall back to the runtime's. */
export interface RetrySettings {
  retries?: number;
  retry_on?: RetryableCause[];
  retry_backoff?: number;
}

export function retryPolicy(stage: RetrySettings, runtime: RetrySettings): RetryPolicy {
  const seconds = runtime.retry_backoff;
  return {
    retries: stage.retries ?? runtime.retries ?? NO_RETRY.retries,
    on: stage.retry_on ?? runtime.retry_on ?? DEFAULT_RETRY_ON,
    backoffMs: seconds === undefined ? NO_RETRY.backoffMs : Math.round(seconds * 1000),
  };
}

/**
 * The pause before attempt `failed + 1`, or undefined when the failure of attempt `failed`
 * (1-based) is final.
 */
export function retryDelay(
  policy: RetryPolicy,
  cause: FailureCause,
  failed: number,
): number | undefined {
  if (failed > policy.retries) return undefined;
  if (!(policy.on as readonly FailureCause[]).includes(cause)) return undefined;
  return Math.min(policy.backoffMs * 2 ** (failed - 1), MAX_BACKOFF_MS);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
