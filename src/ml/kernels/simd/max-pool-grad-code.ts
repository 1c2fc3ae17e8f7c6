/**
 * The wasm SIMD code of MaxPoolGrad for 2x2 windows that tile the input (see
 * max-pool-grad.ts): channels are the lanes; each window's dy value goes to the first of
 * its four inputs, in row-major order, that holds the window's maximum, and zero to the
 * other three. The maximum is a chain of pmax (a < b ? b : a) from -Infinity, which is the
 * cpu backend's `v > best` scan, NaN skipped; a window of only NaN or -Infinity gets
 * nothing, as there. Generated per channel count: pure, builds bytes only.
 */
import { Body, type Local } from './wasm-binary.js';

/** Parameters, in order (byte addresses and byte strides). */
export const MAX_POOL_GRAD_PARAMS = [
  'x', // forward input, NHWC
  'dy', // [n, outRows, outCols, c]
  'dx', // same layout as x, written at every position a window covers
  'images',
  'outRows',
  'outCols',
  'xRow', // bytes per row of x
  'xImage', // bytes per image of x
] as const;

export function maxPoolGradBody(channels: number): Body {
  const nv = Math.ceil(channels / 4);
  const lastLanes = channels - 4 * (nv - 1);
  const b = new Body(MAX_POOL_GRAD_PARAMS.length, 10, 11);
  const p = Object.fromEntries(MAX_POOL_GRAD_PARAMS.map((n, i) => [n, i])) as Record<
    (typeof MAX_POOL_GRAD_PARAMS)[number],
    Local
  >;
  const [img, r, q, prow, drow, px, pd, px2, pd2, pg] = Array.from({ length: 10 }, () =>
    b.i32(),
  ) as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const [ninf, m, valid, taken, e, g] = Array.from({ length: 6 }, () => b.v128()) as Local[];
  const corners = Array.from({ length: 4 }, () => b.v128());
  const step = 4 * channels;
  // Window corners in row-major order: [row pointer, byte offset past it].
  const at: [Local, number][] = [
    [px, 0],
    [px, step],
    [px2, 0],
    [px2, step],
  ];
  const out: [Local, number][] = [
    [pd, 0],
    [pd, step],
    [pd2, 0],
    [pd2, step],
  ];

  const vector = (v: number) => {
    const lanes = v === nv - 1 ? lastLanes : 4;
    b.get(ninf as Local).set(m as Local);
    for (const [i, [ptr, off]] of at.entries()) {
      const corner = corners[i] as Local;
      b.loadFrom(ptr, lanes, off + 16 * v).set(corner);
      b.get(m as Local)
        .get(corner)
        .f32x4Pmax()
        .set(m as Local);
    }
    b.get(m as Local)
      .get(ninf as Local)
      .f32x4Gt()
      .set(valid as Local);
    b.zero().set(taken as Local);
    b.loadFrom(pg, lanes, 16 * v).set(g as Local);
    for (const [i, [ptr, off]] of out.entries()) {
      // e = (corner == max) & valid & ~taken; taken |= e; dx = dy & e
      b.get(corners[i] as Local)
        .get(m as Local)
        .f32x4Eq()
        .get(valid as Local)
        .and()
        .get(taken as Local)
        .andNot()
        .set(e as Local);
      b.get(taken as Local)
        .get(e as Local)
        .or()
        .set(taken as Local);
      b.get(g as Local)
        .get(e as Local)
        .and()
        .set(e as Local);
      b.storeTo(ptr, e as Local, lanes, off + 16 * v);
    }
  };

  b.splatConst(Number.NEGATIVE_INFINITY).set(ninf as Local);
  b.get(p.dy).set(pg);
  b.repeat(img, p.images, () => {
    b.get(p.x).set(prow);
    b.get(p.dx).set(drow);
    b.repeat(r, p.outRows, () => {
      b.get(prow).set(px);
      b.get(drow).set(pd);
      b.repeat(q, p.outCols, () => {
        b.assign(px2, (c) => c.get(px).get(p.xRow).add());
        b.assign(pd2, (c) => c.get(pd).get(p.xRow).add());
        for (let v = 0; v < nv; v++) vector(v);
        b.inc(px, 2 * step)
          .inc(pd, 2 * step)
          .inc(pg, step);
      });
      b.inc(prow, { local: p.xRow })
        .inc(prow, { local: p.xRow })
        .inc(drow, { local: p.xRow })
        .inc(drow, { local: p.xRow });
    });
    b.inc(p.x, { local: p.xImage }).inc(p.dx, { local: p.xImage });
  });
  return b;
}
