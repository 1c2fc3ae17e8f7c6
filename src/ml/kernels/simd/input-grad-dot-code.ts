/**
 * The wasm SIMD code of the convolution input gradient for stride 1 and 5-10 input
 * channels (see conv2d-backprop-input.ts), gathered per input position over the taps that
 * reach it, with output channels as the lanes:
 *   dx[img, iy, ix, c] = sum_{kh,kw valid} sum_co W[kh, kw, c, co] * dy[img, oy, ox, co]
 * (oy = iy + top - kh, ox = ix + left - kw). Each dy vector loaded serves every input
 * channel; each channel's sum is one vector, added across lanes at the end. Only taps that
 * fall inside dy are visited (per-row and per-column tables from the caller give their
 * range), so none of the zero padding a forward-correlation formulation multiplies is
 * computed. Generated per (input channels, vectors, lanes of the last vector): pure.
 */
import { Body, type Local, named } from './wasm-binary.js';

/** Parameters, in order (byte addresses and byte strides). */
export const INPUT_GRAD_DOT_PARAMS = [
  'dy', // NHWC upstream gradient, first image
  'w', // filter [kh][kw][ci][co]
  'dx', // NHWC input gradient, written in order
  'rows', // int32 [inHeight][3]: dy byte offset of the first valid tap's row, w byte offset, taps
  'cols', // int32 [inWidth][3]: the same for columns
  'images',
  'inHeight',
  'inWidth',
  'dyImage', // bytes per image of dy
  'dyRow', // bytes per row of dy: outWidth * co * 4
  'wRow', // bytes per filter row: kw * ci * co * 4
] as const;

/** Vector registers the sums and dy vectors may take (the rest hold temporaries). */
export const MAX_REGISTERS = 13;

export function inputGradDotBody(channels: number, vectors: number, lastLanes: number): Body {
  const b = new Body(INPUT_GRAD_DOT_PARAMS.length, 11, channels + vectors);
  const p = named(INPUT_GRAD_DOT_PARAMS, (i) => i);
  const { img, iy, ix, kh, kw, prow, pcol, pdyR, pwR, pdy, pw } = named(
    ['img', 'iy', 'ix', 'kh', 'kw', 'prow', 'pcol', 'pdyR', 'pwR', 'pdy', 'pw'] as const,
    () => b.i32(),
  );
  const sums = Array.from({ length: channels }, () => b.v128());
  const d = Array.from({ length: vectors }, () => b.v128());
  const co4 = 4 * ((vectors - 1) * 4 + lastLanes); // bytes per dy position / filter channel
  const lanesOf = (v: number) => (v === vectors - 1 ? lastLanes : 4);

  /** Pushes W[c] . d over vectors lo..hi-1, summed as a balanced tree (short dependency
   * chains: the four products of a vector group are independent). */
  const dot = (c: number, lo: number, hi: number): void => {
    if (hi - lo === 1) {
      b.loadFrom(pw, lanesOf(lo), c * co4 + 16 * lo)
        .get(d[lo] as Local)
        .f32x4Mul();
      return;
    }
    const mid = (lo + hi) >> 1;
    dot(c, lo, mid);
    dot(c, mid, hi);
    b.f32x4Add();
  };

  const tap = () => {
    for (let v = 0; v < vectors; v++) b.loadFrom(pdy, lanesOf(v), 16 * v).set(d[v] as Local);
    for (let c = 0; c < channels; c++) {
      const sum = sums[c] as Local;
      b.get(sum);
      dot(c, 0, vectors);
      b.f32x4Add().set(sum);
    }
  };

  const position = () => {
    for (const sum of sums) b.zero().set(sum);
    // Start at the first valid tap: dy at (row offset + column offset), w likewise.
    b.assign(pdyR, (e) => e.get(p.dy).get(prow).loadI32(0).add().get(pcol).loadI32(0).add());
    b.assign(pwR, (e) => e.get(p.w).get(prow).loadI32(4).add().get(pcol).loadI32(4).add());
    b.assign(kh, (e) => e.get(prow).loadI32(8));
    b.repeat(kh, kh, () => {
      b.get(pdyR).set(pdy);
      b.get(pwR).set(pw);
      b.assign(kw, (e) => e.get(pcol).loadI32(8));
      b.repeat(kw, kw, () => {
        tap();
        // Next tap along the filter row: one dy position left, one filter position on.
        b.inc(pdy, -co4).inc(pw, channels * co4);
      });
      b.get(pdyR).get(p.dyRow).sub().set(pdyR);
      b.inc(pwR, { local: p.wRow });
    });
    for (let c = 0; c < channels; c++) {
      b.get(p.dx)
        .laneSum(sums[c] as Local)
        .storeF32(4 * c);
    }
    b.inc(p.dx, 4 * channels).inc(pcol, 12);
  };

  b.repeat(img, p.images, () => {
    b.get(p.rows).set(prow);
    b.repeat(iy, p.inHeight, () => {
      b.get(p.cols).set(pcol);
      b.repeat(ix, p.inWidth, position);
      b.inc(prow, 12);
    });
    b.inc(p.dy, { local: p.dyImage });
  });
  return b;
}
