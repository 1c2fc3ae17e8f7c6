/**
 * Seeded k-fold splits (plain and stratified) as index arrays. Pure: the same (n or labels,
 * k, seed) always gives the same folds. Fold sizes differ by at most one; in the stratified
 * split each class's count in a fold differs by at most one from its count in another.
 * Must never use Math.random; indices within a fold are returned sorted ascending.
 */
import { Rng } from '../rng.js';

export interface Fold {
  /** Indices of the training examples (the other k-1 folds), ascending. */
  train: Int32Array;
  /** Indices of the validation examples (this fold), ascending. */
  val: Int32Array;
}

function checkK(n: number, k: number): void {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`k must be an integer >= 2; got ${k}`);
  if (n < k) throw new RangeError(`cannot split ${n} examples into ${k} folds`);
}

/** Turns a fold assignment (example -> fold) into k train/val index pairs. */
function foldsFromAssignment(assignment: Int32Array, k: number): Fold[] {
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const val: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < assignment.length; i++) (assignment[i] === f ? val : train).push(i);
    folds.push({ train: Int32Array.from(train), val: Int32Array.from(val) });
  }
  return folds;
}

/** Shuffles 0..n-1 with the seed, then cuts it into k contiguous parts (first n % k get one more). */
export function kFold(n: number, k: number, seed: number): Fold[] {
  checkK(n, k);
  const perm = Rng.fromSeed(seed).permutation(n);
  const assignment = new Int32Array(n);
  const base = Math.floor(n / k);
  const extra = n % k;
  let pos = 0;
  for (let f = 0; f < k; f++) {
    const size = base + (f < extra ? 1 : 0);
    for (let j = 0; j < size; j++) assignment[perm[pos++] as number] = f;
  }
  return foldsFromAssignment(assignment, k);
}

/**
 * Each class's examples are shuffled with the seed and dealt round-robin to the folds; the
 * deal continues where the previous class stopped, so fold sizes stay within one.
 */
export function stratifiedKFold(labels: ArrayLike<number>, k: number, seed: number): Fold[] {
  const n = labels.length;
  checkK(n, k);
  const rng = Rng.fromSeed(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const list = byClass.get(y);
    if (list === undefined) byClass.set(y, [i]);
    else list.push(i);
  }
  const assignment = new Int32Array(n);
  let next = 0;
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = rng.shuffle(byClass.get(y) as number[]);
    for (const i of members) {
      assignment[i] = next;
      next = (next + 1) % k;
    }
  }
  return foldsFromAssignment(assignment, k);
}
