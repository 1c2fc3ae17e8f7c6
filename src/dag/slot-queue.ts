/**
 * At most `slots` tasks at once; a task that finds none free waits, and a freed slot goes to
 * the waiting task of highest priority, equal priorities in order of arrival. A binary heap
 * keeps that choice logarithmic in the number waiting (a cold run of 10,000 stages queues
 * them nearly all at once).
 */
interface Waiter {
  priority: number;
  seq: number;
  start: () => void;
}

/** Whether `a` starts before `b`. */
const before = (a: Waiter, b: Waiter): boolean =>
  a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;

export class SlotQueue {
  private free: number;
  private readonly heap: Waiter[] = [];
  private arrivals = 0;

  constructor(slots: number) {
    this.free = Math.max(slots, 1);
  }

  /** Resolves when the caller holds a slot; it must hand it back with `release()` once. */
  acquire(priority = 0): Promise<void> {
    if (this.free > 0 && this.heap.length === 0) {
      this.free -= 1;
      return Promise.resolve();
    }
    return new Promise((start) => this.push({ priority, seq: this.arrivals++, start }));
  }

  release(): void {
    const next = this.pop();
    if (next) next.start();
    else this.free += 1;
  }

  private push(w: Waiter): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(w, h[parent] as Waiter)) break;
      h[i] = h[parent] as Waiter;
      i = parent;
    }
    h[i] = w;
  }

  private pop(): Waiter | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const child = r < h.length && before(h[r] as Waiter, h[l] as Waiter) ? r : l;
      if (!before(h[child] as Waiter, last)) break;
      h[i] = h[child] as Waiter;
      i = child;
    }
    h[i] = last;
    return top;
  }
}
