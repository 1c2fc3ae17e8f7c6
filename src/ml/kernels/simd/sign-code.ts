/**
 * The wasm SIMD code of float32 sign (see ../sign.ts): 1 where x > 0, -1 where x < 0, and
 * +0 elsewhere (+-0 and NaN), from two lane masks. Pure: builds bytes only.
 */
import { Body, named } from './wasm-binary.js';

/** Parameters, in order: byte addresses of input and output, the element count. */
export const SIGN_PARAMS = ['x', 'out', 'count'] as const;

export function signBody(): Body {
  const b = new Body(SIGN_PARAMS.length, 2, 2);
  const p = named(SIGN_PARAMS, (i) => i);
  const [vectors, tail] = [b.i32(), b.i32()];
  const [x, s] = [b.v128(), b.v128()];
  const step = (lanes: 1 | 4) => {
    b.loadFrom(p.x, lanes).set(x);
    b.get(x).zero().f32x4Gt().splatConst(1).and();
    b.zero().get(x).f32x4Gt().splatConst(-1).and();
    b.or().set(s);
    b.storeTo(p.out, s, lanes);
    b.inc(p.x, 4 * lanes).inc(p.out, 4 * lanes);
  };
  b.assign(vectors, (e) => e.get(p.count).const(2).shrU());
  b.assign(tail, (e) => e.get(p.count).const(3).and32());
  b.repeat(vectors, vectors, () => step(4));
  b.repeat(tail, tail, () => step(1));
  return b;
}
