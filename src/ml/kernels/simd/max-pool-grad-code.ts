/**
 * The wasm SIMD code of MaxPoolGrad for 2x2 windows that tile the input (see
 * max-pool-grad.ts): channels are the lanes; each window's dy value goes to the first of
 * its four inputs, in row-major order, that holds the window's maximum, and zero to the
 * other three. The maximum is a chain of pmax (a < b ? b : a) from -Infinity, which is the
 * cpu backend's `v > best` scan, NaN skipped; a window of only NaN or -Infinity gets
 * nothing, as there. Generated per channel count: pure, builds bytes only.
 */
import { Body, type Local, named } from './wasm-binary.js';

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
  const p = named(MAX_POOL_GRAD_PARAMS, (i) => i);
  const { img, r, q, prow, drow, px, pd, px2, pd2, pg } = named(
    ['img', 'r', 'q', 'prow', 'drow', 'px', 'pd', 'px2', 'pd2', 'pg'] as const,
    () => b.i32(),
  );
  const { ninf, m, valid, taken, e, g } = named(
    ['ninf', 'm', 'valid', 'taken', 'e', 'g'] as const,
    () => b.v128(),
  );
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
    b.get(ninf).set(m);
    for (const [i, [ptr, off]] of at.entries()) {
      const corner = corners[i] as Local;
      b.loadFrom(ptr, lanes, off + 16 * v).set(corner);
      b.get(m).get(corner).f32x4Pmax().set(m);
    }
    b.get(m).get(ninf).f32x4Gt().set(valid);
    b.zero().set(taken);
    b.loadFrom(pg, lanes, 16 * v).set(g);
    for (const [i, [ptr, off]] of out.entries()) {
      // e = (corner == max) & valid & ~taken; taken |= e; dx = dy & e
      b.get(corners[i] as Local)
        .get(m)
        .f32x4Eq()
        .get(valid)
        .and()
        .get(taken)
        .andNot()
        .set(e);
      b.get(taken).get(e).or().set(taken);
      b.get(g).get(e).and().set(e);
      b.storeTo(ptr, e, lanes, off + 16 * v);
    }
  };

  b.splatConst(Number.NEGATIVE_INFINITY).set(ninf);
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
