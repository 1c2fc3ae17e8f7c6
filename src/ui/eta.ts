/**
 * Time-left estimate learned from the run itself: the mean duration of finished stages of a
 * kind, times what is left of that kind, spread over the parallelism. Pure; no clock inside
 * (the caller passes elapsed times), so it is unit-tested with plain numbers.
 */

export interface EtaInput {
  /** Parallel slots (`--jobs`). */
  jobs: number;
  /** Durations (ms) of stages that ran to completion in this run, by kind. Cached ones excluded. */
  finished: Record<string, readonly number[]>;
  /** Stages waiting to run, by kind. */
  queued: Record<string, number>;
  /** Stages running now: elapsed ms and, when they report it, the fraction done. */
  running: readonly { kind: string; elapsedMs: number; fraction?: number }[];
}

export interface Eta {
  ms: number;
  /** Some remaining stages are of a kind with no finished sample yet: the estimate is a lower bound. */
  partial: boolean;
}

const mean = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;

/** Null when nothing is left, or when nothing left can be estimated yet. */
export function estimateEta(input: EtaInput): Eta | null {
  let work = 0;
  let longest = 0;
  let outstanding = 0;
  let unknown = 0;
  const means = new Map<string, number | undefined>();
  const meanOf = (kind: string): number | undefined => {
    if (!means.has(kind)) means.set(kind, mean(input.finished[kind] ?? []));
    return means.get(kind);
  };

  for (const [kind, count] of Object.entries(input.queued)) {
    if (count <= 0) continue;
    outstanding += count;
    const m = meanOf(kind);
    if (m === undefined) {
      unknown += count;
      continue;
    }
    work += m * count;
    longest = Math.max(longest, m);
  }
  for (const stage of input.running) {
    outstanding += 1;
    const m = meanOf(stage.kind);
    let left: number | undefined;
    // A stage that reports its own progress knows its pace better than its siblings do.
    if (stage.fraction !== undefined && stage.fraction > 0 && stage.fraction <= 1) {
      left = (stage.elapsedMs * (1 - stage.fraction)) / stage.fraction;
    } else if (m !== undefined) {
      left = Math.max(m - stage.elapsedMs, 0);
    }
    if (left === undefined) {
      unknown += 1;
      continue;
    }
    work += left;
    longest = Math.max(longest, left);
  }

  if (outstanding === 0) return null;
  if (unknown === outstanding) return null;
  // Fewer stages than slots cannot use every slot, and no schedule beats the longest stage.
  const slots = Math.max(1, Math.min(input.jobs, outstanding));
  return { ms: Math.max(work / slots, longest), partial: unknown > 0 };
}
