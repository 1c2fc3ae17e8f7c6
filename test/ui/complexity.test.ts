/**
 * Complexity guards for the text renderers, by counting work instead of timing it: how many
 * ids `listWithin` reads, how many entry fields `renderStatus` reads and how many list items
 * it joins into strings, as a group grows tenfold. A quadratic path shows as a count growing
 * a hundredfold.
 */
import { describe, expect, it, vi } from 'vitest';
import type { StatusEntry } from '../../src/dag/events.js';
import { renderStatus } from '../../src/ui/status.js';
import { listWithin } from '../../src/ui/text.js';

/** `target` behind a proxy that counts every property read, nested objects included. */
function counted<T extends object>(target: T, counter: { reads: number }): T {
  return new Proxy(target, {
    get(obj, key, receiver) {
      counter.reads += 1;
      const value = Reflect.get(obj, key, receiver);
      return typeof value === 'object' && value !== null ? counted(value, counter) : value;
    },
  });
}

/** The list as the old renderer built it: longest prefix that fits, tried from the whole list down. */
function naiveList(ids: string[], room: number): string {
  for (let shown = ids.length; shown >= 1; shown--) {
    const rest = ids.length - shown;
    const text = ids.slice(0, shown).join(', ') + (rest > 0 ? `, … (+${rest})` : '');
    if (Array.from(text).length <= room) return text;
  }
  return undefined as unknown as string;
}

/** A group of `n` stages that will run, half never run, half waiting on `src[i]`. */
function group(n: number): StatusEntry[] {
  const entries: StatusEntry[] = [
    { id: 'src', name: 'src', kind: 'command', willRun: true, reason: { type: 'never-run' } },
  ];
  for (let i = 0; i < n; i++)
    entries.push({
      id: `train[${i}]`,
      name: 'train',
      kind: 'command',
      willRun: true,
      reason: i % 2 ? { type: 'never-run' } : { type: 'upstream-will-run', stageIds: ['src'] },
    });
  return entries;
}

describe('complexity of the status text', () => {
  it('listWithin reads only the ids it can show', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => `attack[cifar10,normal,${i},fgsm]`);
    const counter = { reads: 0 };
    const text = listWithin(counted(ids, counter), 80);
    expect(text).toBe('attack[cifar10,normal,0,fgsm], attack[cifar10,normal,1,fgsm], … (+99998)');
    expect(counter.reads).toBeLessThan(20);
  });

  it('listWithin picks what the exhaustive search picks', () => {
    const words = ['a', 'bb', 'ccc', 'train[normal,3]', 'x'.repeat(30), 'é', '𝔸𝔹'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let trial = 0; trial < 500; trial++) {
      const ids = Array.from(
        { length: 1 + (next() % 12) },
        () => words[next() % words.length] ?? '',
      );
      const room = 3 + (next() % 60);
      const expected = naiveList(ids, room);
      if (expected !== undefined) expect(listWithin(ids, room)).toBe(expected);
    }
  });

  it('renderStatus reads each entry a bounded number of times, for any group size', () => {
    const reads = (n: number): number => {
      const counter = { reads: 0 };
      const text = renderStatus(counted(group(n), counter), { color: false, width: 100 });
      expect(text).toContain(`train[*]  command  ${n}: ${n} will run`);
      return counter.reads;
    };
    const small = reads(10_000);
    const large = reads(100_000);
    expect(large / small).toBeLessThan(11);
    expect(large / 100_000).toBeLessThan(60);
  });

  it('renderStatus --detail also reads linearly', () => {
    const reads = (n: number): number => {
      const counter = { reads: 0 };
      renderStatus(counted(group(n), counter), { color: false, width: 100, detail: true });
      return counter.reads;
    };
    expect(reads(100_000) / reads(10_000)).toBeLessThan(11);
  });

  it('renderStatus joins linearly many list items into text', () => {
    const joined = (n: number, detail: boolean): number => {
      const entries = group(n);
      let items = 0;
      const join = Array.prototype.join;
      const spy = vi.spyOn(Array.prototype, 'join').mockImplementation(function (
        this: unknown[],
        separator?: string,
      ) {
        items += this.length;
        return join.call(this, separator);
      });
      try {
        renderStatus(entries, { color: false, width: 100, detail });
      } finally {
        spy.mockRestore();
      }
      return items;
    };
    // Each waiting stage's reason is one join; the shown lists are bounded by the width.
    expect(joined(10_000, false) / joined(1_000, false)).toBeLessThan(11);
    expect(joined(10_000, true) / joined(1_000, true)).toBeLessThan(11);
  });
});
