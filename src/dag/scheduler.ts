/**
 * Runs stage tasks in parallel under resource tokens: at most `jobs` at once (a slot queue,
 * which starts waiting tasks by priority, then in order of arrival), and the cpu/gpu/memory a
 * kind declares are held while it runs. A need larger than the whole
 * capacity is clamped to it, so such a stage runs alone instead of never. Knows nothing of
 * stages beyond their needs; it never starts a task after the run was aborted.
 */
import * as os from 'node:os';
import { SlotQueue } from './slot-queue.js';
import type { ResourceNeeds } from './stage-kind.js';

export interface Capacity {
  cpu: number;
  gpu: number;
  memoryMb: number;
}

export function defaultCapacity(jobs: number): Capacity {
  return {
    cpu: Math.max(jobs, 1),
    gpu: Number(process.env.ADVROB_DAG_GPUS ?? 0) || 0,
    memoryMb: Math.floor(os.totalmem() / 2 ** 20),
  };
}

type Need = Capacity;

export class Scheduler {
  private readonly slots: SlotQueue;
  private readonly free: Capacity;
  private readonly waiting: { need: Need; wake: () => void }[] = [];

  constructor(
    jobs: number,
    private readonly capacity: Capacity,
  ) {
    this.slots = new SlotQueue(jobs);
    this.free = { ...capacity };
  }

  private clamp(needs: ResourceNeeds | undefined): Need {
    return {
      cpu: Math.min(needs?.cpu ?? 1, this.capacity.cpu),
      gpu: Math.min(needs?.gpu ?? 0, this.capacity.gpu),
      memoryMb: Math.min(needs?.memoryMb ?? 0, this.capacity.memoryMb),
    };
  }

  private fits(need: Need): boolean {
    return (
      need.cpu <= this.free.cpu && need.gpu <= this.free.gpu && need.memoryMb <= this.free.memoryMb
    );
  }

  private take(need: Need, sign: 1 | -1): void {
    this.free.cpu -= sign * need.cpu;
    this.free.gpu -= sign * need.gpu;
    this.free.memoryMb -= sign * need.memoryMb;
  }

  private async acquire(need: Need): Promise<void> {
    if (this.waiting.length === 0 && this.fits(need)) return this.take(need, 1);
    await new Promise<void>((wake) => this.waiting.push({ need, wake }));
  }

  private release(need: Need): void {
    this.take(need, -1);
    // First come, first served: a big stage at the head is not starved by small ones.
    while (this.waiting.length > 0) {
      const head = this.waiting[0];
      if (!head || !this.fits(head.need)) break;
      this.waiting.shift();
      this.take(head.need, 1);
      head.wake();
    }
  }

  /**
   * Resolves with `task`'s value, or with undefined when `signal` aborted before it started.
   * The task may hand its tokens back before it ends (`release`), e.g. once its process has
   * exited and only the engine's own file work on its output is left.
   */
  run<T>(
    needs: ResourceNeeds | undefined,
    signal: AbortSignal,
    task: (release: () => void) => Promise<T>,
    priority = 0,
  ): Promise<T | undefined> {
    const need = this.clamp(needs);
    // The slot (the --jobs bound) is held exactly as long as the tokens are.
    return this.slots.acquire(priority).then(async () => {
      if (signal.aborted) {
        this.slots.release();
        return undefined;
      }
      await this.acquire(need);
      let held = true;
      const release = (): void => {
        if (!held) return;
        held = false;
        this.release(need);
        this.slots.release();
      };
      try {
        return signal.aborted ? undefined : await task(release);
      } finally {
        release();
      }
    });
  }
}
