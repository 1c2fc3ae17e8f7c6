/**
 * The wasm SIMD code of the convolution input gradient for stride 1 (see
 * conv2d-backprop-input.ts), as a "valid" correlation of the zero-padded upstream gradient
 * with the flipped filter, one input channel plane at a time:
 *   out[img, c, iy, ix] = sum_{co,a,b} dyp[img, co, iy + a, ix + b] * wf[c, co, a, b]
 * with dyp planar ([n, co, rows, cols]) so that neighbouring ix are neighbouring floats:
 * the SIMD lanes are `vectors * 4` consecutive ix of one row, each weight is splatted once
 * per row block and serves all of them. The output rows are `blocks * vectors * 4` wide
 * (the caller crops). Generated per (vectors, filter width): pure, builds bytes only.
 */
import { Body, type Local, named } from './wasm-binary.js';

/** Parameters, in order, of every generated function (byte addresses and byte strides). */
export const INPUT_GRAD_PARAMS = [
  'dy', // padded planar upstream gradient, first image
  'w', // flipped filter [ci][co][kh][kw] f32
  'out', // planar [n][ci][rows][blocks * vectors * 4] f32, written in order
  'images',
  'inChannels',
  'outChannels',
  'outRows', // rows of the input gradient
  'blocks', // row blocks of vectors * 4 values
  'dyImage', // bytes per image of dy
  'dyPlane', // bytes per channel plane of dy
  'dyRow', // bytes per row of dy
  'filterHeight',
] as const;

/** The most row vectors kept in registers: enough independent sums to hide add latency. */
export const MAX_VECTORS = 8;

/** Vectors per row block for rows of `width` values: as few blocks as possible, and as
 * little padding as those blocks allow. */
export function vectorsPerBlock(width: number): number {
  const needed = Math.ceil(width / 4);
  return Math.ceil(needed / Math.ceil(needed / MAX_VECTORS));
}

export function inputGradBody(vectors: number, filterWidth: number): Body {
  const params = INPUT_GRAD_PARAMS.length;
  const b = new Body(params, 12, vectors + 1);
  const p = named(INPUT_GRAD_PARAMS, (i) => i);
  const { img, c, iy, blk, co, a, wc, prow, pblk, pw, pco, pa } = named(
    ['img', 'c', 'iy', 'blk', 'co', 'a', 'wc', 'prow', 'pblk', 'pw', 'pco', 'pa'] as const,
    () => b.i32(),
  );
  const sums = Array.from({ length: vectors }, () => b.v128());
  const s = b.v128();

  const rowBlock = () => {
    for (const sum of sums) b.zero().set(sum);
    b.get(wc).set(pw);
    b.get(pblk).set(pco);
    b.repeat(co, p.outChannels, () => {
      b.get(pco).set(pa);
      b.repeat(a, p.filterHeight, () => {
        for (let k = 0; k < filterWidth; k++) {
          b.get(pw)
            .loadSplat(4 * k)
            .set(s);
          for (let u = 0; u < vectors; u++) {
            const sum = sums[u] as Local;
            b.get(sum)
              .get(s)
              .get(pa)
              .load(4 * k + 16 * u)
              .f32x4Mul()
              .f32x4Add()
              .set(sum);
          }
        }
        b.inc(pw, 4 * filterWidth).inc(pa, { local: p.dyRow });
      });
      b.inc(pco, { local: p.dyPlane });
    });
    for (const [u, sum] of sums.entries()) {
      b.get(p.out)
        .get(sum)
        .store(16 * u);
    }
    b.inc(p.out, 16 * vectors).inc(pblk, 16 * vectors);
  };

  b.repeat(img, p.images, () => {
    b.get(p.w).set(wc);
    b.repeat(c, p.inChannels, () => {
      b.get(p.dy).set(prow);
      b.repeat(iy, p.outRows, () => {
        b.get(prow).set(pblk);
        b.repeat(blk, p.blocks, rowBlock);
        b.inc(prow, { local: p.dyRow });
      });
      // Next input channel's weights: outChannels * filterHeight * filterWidth floats on.
      b.assign(wc, (e) =>
        e
          .get(wc)
          .get(p.outChannels)
          .get(p.filterHeight)
          .mul()
          .const(4 * filterWidth)
          .mul()
          .add(),
      );
    });
    b.inc(p.dy, { local: p.dyImage });
  });
  return b;
}
