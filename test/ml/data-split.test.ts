import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/dag/diagnostics.js';
import {
  ChecksumError,
  checkDigest,
  fileDigest,
  verifyDigest,
} from '../../src/ml/data/checksum.js';
import { type Fold, kFold, stratifiedKFold } from '../../src/ml/data/kfold.js';
import { Rng } from '../../src/ml/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'data-split-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectPartition(folds: Fold[], n: number): void {
  const seen = new Array(n).fill(0);
  for (const f of folds) {
    for (const i of f.val) seen[i]++;
    expect(f.train.length + f.val.length).toBe(n);
    const val = new Set(f.val);
    for (const i of f.train) expect(val.has(i)).toBe(false);
    expect([...f.val]).toEqual([...f.val].sort((a, b) => a - b));
  }
  expect(seen).toEqual(new Array(n).fill(1));
  const sizes = folds.map((f) => f.val.length);
  expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
}

describe('kFold', () => {
  it('partitions 0..n-1 into k validation folds of near-equal size', () => {
    const folds = kFold(23, 5, 1);
    expect(folds).toHaveLength(5);
    expectPartition(folds, 23);
    expect(folds.map((f) => f.val.length)).toEqual([5, 5, 5, 4, 4]);
  });

  it('is deterministic for a seed and changes with the seed', () => {
    expect(kFold(50, 5, 9)).toEqual(kFold(50, 5, 9));
    expect(kFold(50, 5, 9)[0]?.val).not.toEqual(kFold(50, 5, 10)[0]?.val);
  });

  it('rejects k < 2 and more folds than examples', () => {
    expect(() => kFold(10, 1, 0)).toThrow(RangeError);
    expect(() => kFold(3, 5, 0)).toThrow(/cannot split 3 examples into 5 folds/);
  });
});

describe('stratifiedKFold', () => {
  it('keeps every class balanced across folds', () => {
    // 3 classes with 11, 7 and 2 members, interleaved.
    const labels = [...Array(11).fill(0), ...Array(7).fill(1), ...Array(2).fill(2)];
    Rng.fromSeed(3).shuffle(labels);
    const folds = stratifiedKFold(labels, 4, 5);
    expectPartition(folds, labels.length);
    for (const cls of [0, 1, 2]) {
      const perFold = folds.map((f) => [...f.val].filter((i) => labels[i] === cls).length);
      expect(Math.max(...perFold) - Math.min(...perFold)).toBeLessThanOrEqual(1);
      expect(perFold.reduce((a, b) => a + b, 0)).toBe(labels.filter((y) => y === cls).length);
    }
    expect(stratifiedKFold(labels, 4, 5)).toEqual(folds);
  });
});

describe('Rng', () => {
  it('is xoshiro128** seeded by splitmix32 (values from an independent Python port)', () => {
    const rng = Rng.fromSeed(12345);
    const drawn = Array.from({ length: 8 }, () => rng.nextUint32());
    expect(drawn).toEqual([
      518667457, 440444462, 4232892992, 3757857622, 3939018813, 1334683535, 3795058715, 2092637810,
    ]);
    expect(rng.state().s).toEqual([821571006, 2077137679, 1149558209, 1307937684]);
  });

  it('restores from its state and continues the same stream', () => {
    const a = Rng.fromSeed(12);
    a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const expected = [a.nextUint32(), a.nextUint32(), a.int(7)];
    const b = Rng.fromState(saved);
    expect([b.nextUint32(), b.nextUint32(), b.int(7)]).toEqual(expected);
  });

  it('draws integers roughly uniformly', () => {
    const rng = Rng.fromSeed(1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.int(6)]++;
    // Expected 10000 each; 5 standard deviations is about 450.
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(450);
  });
});

describe('checksum', () => {
  const file = join(dir, 'abc.txt');
  writeFileSync(file, 'abc');
  // Published test vectors for "abc" (FIPS 180-2 and RFC 1321).
  const sha = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  const md5 = '900150983cd24fb0d6963f7d28e17f72';

  it('computes sha256 and md5 of a file', async () => {
    expect(await fileDigest(file, 'sha256')).toBe(sha);
    expect(await fileDigest(file, 'md5')).toBe(md5);
    await verifyDigest(file, { algorithm: 'sha256', hex: sha.toUpperCase() });
    expect(await checkDigest(file, { algorithm: 'md5', hex: md5 })).toBeUndefined();
  });

  it('reports expected and found on a mismatch as a user error', async () => {
    const wrong = `${sha.slice(0, 63)}0`;
    const d = await checkDigest(file, { algorithm: 'sha256', hex: wrong });
    expect(d?.message).toBe(`${file}: sha256 is ${sha}; expected ${wrong}`);
    const err = await verifyDigest(file, { algorithm: 'sha256', hex: wrong }).catch((e) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ file, algorithm: 'sha256', expected: wrong, found: sha });
    await expect(checkDigest(file, { algorithm: 'md5', hex: sha })).rejects.toThrow(
      /not a md5 hex digest/,
    );
  });
});
