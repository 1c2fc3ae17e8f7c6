/**
 * The wasm SIMD code of the convolution filter gradient (see conv2d-backprop-filter.ts):
 *   acc[kh][j][co] += sum_{oy,ox} x[img, oy*sh + kh, ox*sw*ci + j] * dy[img, oy, ox, co]
 * over a zero-padded NHWC x, where j = kw*ci + c runs over one filter row's taps and input
 * channels (they are consecutive in x for a fixed output position). Output channels are
 * the SIMD lanes; `rows` values of j are done per pass over the image with their sums in
 * registers, so each dy vector loaded serves `rows` multiply-adds. Images are the outer
 * loop so that one image's x and dy stay in cache across all passes. Generated per
 * (vectors, lanes of the last vector, row count): pure, builds bytes only.
 */
import { Body, type Local, named } from './wasm-binary.js';

/** Parameters, in order, of every generated function (byte addresses and byte strides). */
export const FILTER_GRAD_PARAMS = [
  'x', // padded input, first image
  'dy', // first output-channel column of this block, first image
  'acc', // [kh][R][vectors*4] f32 sums, added to
  'images',
  'xImage', // bytes per image of x
  'xRow', // bytes per row of x
  'xStep', // bytes from one output column to the next in x: sw * ci * 4
  'yStep', // bytes from one output row to the next in x: sh * xRow
  'dyImage', // bytes per image of dy
  'dyPixel', // bytes per output position of dy: co * 4
  'outHeight',
  'outWidth',
  'filterHeight',
] as const;

/** How many filter-row entries one pass keeps in registers: sums plus the dy vectors plus a
 * splat stay within the 16 vector registers of x64 and arm64. */
export function rowsPerPass(vectors: number): number {
  return Math.max(1, Math.floor((13 - vectors) / vectors));
}

export interface FilterGradShape {
  /** f32x4 vectors per output position (ceil(columns / 4)). */
  vectors: number;
  /** Channels used in the last vector, 1..4. */
  lastLanes: number;
  /** Entries per filter row: filterWidth * inChannels. */
  rowLength: number;
}

export function filterGradBody(shape: FilterGradShape): Body {
  const { vectors: nv, lastLanes, rowLength } = shape;
  const r = rowsPerPass(nv);
  const params = FILTER_GRAD_PARAMS.length;
  const b = new Body(params, 12, r * nv + nv + 1);
  const p = named(FILTER_GRAD_PARAMS, (i) => i);
  const { img, kh, pass, oy, ox, xk, xj, accp, py, px, qd } = named(
    ['img', 'kh', 'pass', 'oy', 'ox', 'xk', 'xj', 'accp', 'py', 'px', 'qd'] as const,
    () => b.i32(),
  );
  const passes = b.i32();
  const sums = Array.from({ length: r * nv }, () => b.v128());
  const d = Array.from({ length: nv }, () => b.v128());
  const s = b.v128();

  const loadDy = (v: number) => {
    b.loadFrom(qd, v === nv - 1 ? lastLanes : 4, 16 * v).set(d[v] as Local);
  };

  /** One pass over the image for `rows` consecutive entries starting at xj. */
  const onePass = (rows: number) => {
    for (let i = 0; i < rows * nv; i++) b.zero().set(sums[i] as Local);
    b.get(xj).set(py);
    b.get(p.dy).set(qd);
    b.repeat(oy, p.outHeight, () => {
      b.get(py).set(px);
      b.repeat(ox, p.outWidth, () => {
        for (let v = 0; v < nv; v++) loadDy(v);
        for (let t = 0; t < rows; t++) {
          b.get(px)
            .loadSplat(4 * t)
            .set(s);
          for (let v = 0; v < nv; v++) {
            const acc = sums[t * nv + v] as Local;
            b.get(acc)
              .get(s)
              .get(d[v] as Local)
              .f32x4Mul()
              .f32x4Add()
              .set(acc);
          }
        }
        b.inc(px, { local: p.xStep }).inc(qd, { local: p.dyPixel });
      });
      b.inc(py, { local: p.yStep });
    });
    for (let t = 0; t < rows; t++) {
      for (let v = 0; v < nv; v++) {
        const offset = 16 * (t * nv + v);
        b.get(accp)
          .get(accp)
          .load(offset)
          .get(sums[t * nv + v] as Local)
          .f32x4Add()
          .store(offset);
      }
    }
    b.inc(accp, 16 * rows * nv).inc(xj, 4 * rows);
  };

  b.assign(passes, (c) => c.const(Math.floor(rowLength / r)));
  b.repeat(img, p.images, () => {
    b.get(p.acc).set(accp);
    b.get(p.x).set(xk);
    b.repeat(kh, p.filterHeight, () => {
      b.get(xk).set(xj);
      b.repeat(pass, passes, () => onePass(r));
      if (rowLength % r !== 0) onePass(rowLength % r);
      b.inc(xk, { local: p.xRow });
    });
    b.inc(p.x, { local: p.xImage }).inc(p.dy, { local: p.dyImage });
  });
  return b;
}
