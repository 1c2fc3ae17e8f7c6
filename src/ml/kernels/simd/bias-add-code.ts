/**
 * The wasm SIMD code of a bias add over the last axis (see ../bias-add.ts): out = x + tiled,
 * chunk by chunk, where `tiled` holds the bias repeated to a whole number of vectors. One
 * float32 add per element, as the backend's own kernel does. Pure: builds bytes only.
 */
import { Body, named } from './wasm-binary.js';

/** Parameters, in order: byte addresses, the number of chunks, vectors per chunk. */
export const BIAS_ADD_PARAMS = ['x', 'tiled', 'out', 'chunks', 'vectors'] as const;

export function biasAddBody(): Body {
  const b = new Body(BIAS_ADD_PARAMS.length, 3, 1);
  const p = named(BIAS_ADD_PARAMS, (i) => i);
  const [chunk, vector, bias] = [b.i32(), b.i32(), b.i32()];
  const sum = b.v128();
  b.repeat(chunk, p.chunks, () => {
    b.assign(bias, (e) => e.get(p.tiled));
    b.repeat(vector, p.vectors, () => {
      b.get(p.x).load().get(bias).load().f32x4Add().set(sum);
      b.get(p.out).get(sum).store();
      b.inc(p.x, 16).inc(bias, 16).inc(p.out, 16);
    });
  });
  return b;
}
