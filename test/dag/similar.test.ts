import { describe, expect, test } from 'vitest';
import { closestName, didYouMean, editDistance } from '../../src/dag/similar.js';

/** The textbook recursive definition (Levenshtein + adjacent transposition), memoised. */
function naiveDistance(a: string, b: string): number {
  const memo = new Map<string, number>();
  const d = (i: number, j: number): number => {
    if (i === 0) return j;
    if (j === 0) return i;
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let best = Math.min(
      d(i - 1, j) + 1,
      d(i, j - 1) + 1,
      d(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1),
    );
    if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
      best = Math.min(best, d(i - 2, j - 2) + 1);
    }
    memo.set(key, best);
    return best;
  };
  return d(a.length, b.length);
}

describe('editDistance', () => {
  test('agrees with the recursive definition on random short strings', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const word = (): string => Array.from({ length: rand(7) }, () => 'abc'[rand(3)]).join('');
    for (let k = 0; k < 300; k++) {
      const a = word();
      const b = word();
      expect(editDistance(a, b)).toBe(naiveDistance(a, b));
    }
  });

  test('counts a swap of neighbours as one edit', () => {
    expect(editDistance('kidn', 'kind')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('closestName / didYouMean', () => {
  test('proposes the nearest candidate within a typo distance', () => {
    expect(closestName('learning_rat', ['epochs', 'learning_rate'])).toBe('learning_rate');
    expect(didYouMean('Epochs', ['epochs'])).toBe("did you mean 'epochs'?");
  });

  test('proposes nothing for unrelated names or an exact match', () => {
    expect(didYouMean('lr', ['learning_rate', 'epochs'])).toBeUndefined();
    expect(didYouMean('epochs', ['epochs'])).toBeUndefined();
  });

  test('the first declared candidate wins a tie', () => {
    expect(closestName('ab', ['ac', 'ad'])).toBe('ac');
  });
});
