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

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  /**
   * s0..s3 as int32 bit patterns. A typed array keeps them unboxed: as object fields, values
   * above 2^30 are heap numbers, and every draw allocated four of them (60-90 ns a draw).
   */
  private readonly s = new Int32Array(4);

  private constructor(s: readonly [number, number, number, number]) {
    this.s.set(s.map((v) => v | 0));
    if (this.s.every((v) => v === 0)) throw new Error('Rng state must not be 0');
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
    const [s0, s1, s2, s3] = Array.from(this.s, (v) => v >>> 0) as [number, number, number, number];
    return { s: [s0, s1, s2, s3] };
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const s = this.s;
    const s1 = s[1] as number;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s[2] = (s[2] as number) ^ (s[0] as number);
    s[3] = (s[3] as number) ^ s1;
    s[1] = s1 ^ (s[2] as number);
    s[0] = (s[0] as number) ^ (s[3] as number);
    s[2] = (s[2] as number) ^ t;
    s[3] = rotl(s[3] as number, 11);
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
