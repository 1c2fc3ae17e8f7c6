/**
 * Seeded pseudo-random numbers for everything in src/ml that must be reproducible
 * (shuffles, folds, weight-init seeds). xoshiro128** seeded through splitmix32; the whole
 * state is four uint32 words, so it can be checkpointed and restored exactly.
 * Must never call Math.random or depend on the clock.
 */
import { createHash } from 'node:crypto';

/** The complete state of an Rng; JSON-serialisable. */
export interface RngState {
  readonly s: readonly [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  private constructor(s: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = s.map((v) => v >>> 0) as [
      number,
      number,
      number,
      number,
    ];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) throw new Error('Rng state must not be 0');
  }

  /** A generator determined by an integer seed (taken modulo 2^32). */
  static fromSeed(seed: number): Rng {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer; got ${seed}`);
    const next = splitmix32(seed);
    return new Rng([next(), next(), next(), next()]);
  }

  static fromState(state: RngState): Rng {
    return new Rng(state.s);
  }

  state(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3] };
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) {
      throw new Error(`Rng.int needs an integer in [1, 2^32]; got ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/**
 * A uint32 seed derived from a master seed and labels, e.g. deriveSeed(42, 'conv1', 'kernel').
 * Independent streams for independent purposes, stable across runs and platforms.
 */
export function deriveSeed(master: number, ...labels: (string | number)[]): number {
  const h = createHash('sha256')
    .update(JSON.stringify([master, ...labels]))
    .digest();
  return h.readUInt32LE(0);
}
