/**
 * The wasm SIMD code of float32 tanh (see ../tanh.ts), Cephes' tanhf four lanes at a time:
 *   |x| <  0.625: x + x^3 P(x^2), P of degree 4;
 *   |x| >= 0.625: 1 - 2 / (exp(2|x|) + 1), exp as Cephes' expf (2^n times a degree-6
 *   polynomial on [-ln2/2, ln2/2]), its argument capped at 88 where tanh is 1 in float32;
 * then the sign of x put back. Both branches run on every lane and a mask picks one, so
 * NaN, +-0 and +-Inf come out as tanh's. Cephes gives about 2 ulp at most; the test
 * measures it against Math.tanh. Pure: builds bytes only.
 */

import { unaryMapBody } from './unary-map.js';
import { type Body, named } from './wasm-binary.js';

/** Cephes tanhf: below this |x| the odd polynomial, above it the exp form. */
const SMALL_BOUND = 0.625;
/** Cephes tanhf's polynomial P, highest degree first. */
const TANH_P = [
  -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1,
];
/** exp(88) < FLT_MAX, and 1 - 2 / (exp(88) + 1) is 1 in float32 as tanh(44) is. */
const EXP_CAP = 88;
const LOG2E = Math.LOG2E;
/** ln 2 in two parts (Cephes' C1 + C2): n * C1 is exact for the n that occur. */
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;
/** Cephes expf's polynomial, highest degree first. */
const EXP_P = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
  5.0000001201e-1,
];
const SIGN_BIT = 0x80000000;
const FLOAT_BIAS = 127;
const MANTISSA_BITS = 23;

export function tanhBody(): Body {
  return unaryMapBody(6, (b) => {
    const { z, z2, t, n, r, big } = named(['z', 'z2', 't', 'n', 'r', 'big'] as const, () =>
      b.v128(),
    );
    return (x) => {
      /** Leaves P(v) on the stack, coefficients highest degree first (Horner). */
      const horner = (v: number, coefficients: readonly number[]) => {
        const [first, ...rest] = coefficients as [number, ...number[]];
        b.splatConst(first);
        for (const c of rest) b.get(v).f32x4Mul().splatConst(c).f32x4Add();
      };

      b.get(x).f32x4Abs().set(z);

      // big = 1 - 2 / (exp(t) + 1), t = min(2|x|, EXP_CAP); exp(t) = 2^n * exp(r).
      b.get(z).get(z).f32x4Add().splatConst(EXP_CAP).f32x4Pmin().set(t);
      b.get(t).splatConst(LOG2E).f32x4Mul().splatConst(0.5).f32x4Add().f32x4Floor().set(n);
      b.get(t).get(n).splatConst(LN2_HI).f32x4Mul().f32x4Sub();
      b.get(n).splatConst(LN2_LO).f32x4Mul().f32x4Sub().set(r);
      horner(r, EXP_P);
      b.get(r).get(r).f32x4Mul().f32x4Mul().get(r).f32x4Add().splatConst(1).f32x4Add();
      b.get(n).i32x4TruncSatF32x4S().splatBitsConst(FLOAT_BIAS).i32x4Add();
      b.const(MANTISSA_BITS).i32x4Shl().f32x4Mul().set(t);
      b.splatConst(1).splatConst(2).get(t).splatConst(1).f32x4Add().f32x4Div().f32x4Sub().set(big);

      // small = |x| + |x|^3 P(x^2)
      b.get(z).get(z).f32x4Mul().set(z2);
      horner(z2, TANH_P);
      b.get(z2).f32x4Mul().get(z).f32x4Mul().get(z).f32x4Add().set(r);

      // Pick by |x| (NaN takes the small branch, which keeps it NaN), then x's sign.
      b.get(big).get(r).get(z).splatConst(SMALL_BOUND).f32x4Ge().bitselect();
      b.get(x).splatBitsConst(SIGN_BIT).and().or();
    };
  });
}
