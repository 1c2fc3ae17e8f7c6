/**
 * The wasm SIMD code of a column sum (see ../sum.ts): out[c] = sum over rows of x[row, c]
 * for one block of up to MAX_VECTORS * 4 columns, columns as the lanes, each column summed
 * in row order from zero. Generated per (vectors, lanes of the last vector): pure.
 */
import { Body, named } from './wasm-binary.js';

/** Parameters, in order (byte addresses and strides). */
export const COLUMN_SUM_PARAMS = ['x', 'out', 'rows', 'rowBytes'] as const;

/** Columns per call: 8 vectors of sums stay in registers. */
export const MAX_VECTORS = 8;

export function columnSumBody(vectors: number, lastLanes: number): Body {
  const b = new Body(COLUMN_SUM_PARAMS.length, 1, vectors);
  const p = named(COLUMN_SUM_PARAMS, (i) => i);
  const row = b.i32();
  const sums = Array.from({ length: vectors }, () => b.v128());
  const lanesOf = (v: number) => (v === vectors - 1 ? lastLanes : 4);
  for (const sum of sums) b.zero().set(sum);
  b.repeat(row, p.rows, () => {
    for (const [v, sum] of sums.entries()) {
      b.get(sum)
        .loadFrom(p.x, lanesOf(v), 16 * v)
        .f32x4Add()
        .set(sum);
    }
    b.inc(p.x, { local: p.rowBytes });
  });
  for (const [v, sum] of sums.entries()) b.storeTo(p.out, sum, lanesOf(v), 16 * v);
  return b;
}
