/**
 * The wasm SIMD code of float32 sign (see ../sign.ts): 1 where x > 0, -1 where x < 0, and
 * +0 elsewhere (+-0 and NaN), from two lane masks. Pure: builds bytes only.
 */

import { unaryMapBody } from './unary-map.js';
import type { Body } from './wasm-binary.js';

export function signBody(): Body {
  return unaryMapBody(0, (b) => (x) => {
    b.get(x).zero().f32x4Gt().splatConst(1).and();
    b.zero().get(x).f32x4Gt().splatConst(-1).and();
    b.or();
  });
}
