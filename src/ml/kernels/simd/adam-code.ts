/**
 * The wasm SIMD code of one Adam update of a variable (see ../adam-update.ts), the same
 * float32 operations in the same order as the op-by-op update in src/ml/optimizers.ts:
 *   m' = m*beta1 + g*(1-beta1);  v' = v*beta2 + (g*g)*(1-beta2);
 *   p' = p - (m'*lrT) / (sqrt(v') + epsilon)
 * so the results are bitwise the same (wasm float ops are IEEE single, without fused
 * multiply-add). Four lanes at a time; a tail of 1-3 elements one lane at a time through
 * the same vector code with single-lane loads and stores. Pure: builds bytes only.
 */
import { Body, type Local, named } from './wasm-binary.js';

/** Parameters, in order: byte addresses, the element count, then the six constants as
 * the bit patterns of their float32 values. */
export const ADAM_PARAMS = [
  'p',
  'm',
  'v',
  'g',
  'pOut',
  'mOut',
  'vOut',
  'count',
  'beta1',
  'oneMinusBeta1',
  'beta2',
  'oneMinusBeta2',
  'lrT',
  'epsilon',
] as const;

export function adamBody(): Body {
  const b = new Body(ADAM_PARAMS.length, 2, 9);
  const p = named(ADAM_PARAMS, (i) => i);
  const [vectors, tail] = [b.i32(), b.i32()];
  const { b1, c1, b2, c2, lr, eps, m, v, t } = named(
    ['b1', 'c1', 'b2', 'c2', 'lr', 'eps', 'm', 'v', 't'] as const,
    () => b.v128(),
  );
  const consts: [Local, Local][] = [
    [b1, p.beta1],
    [c1, p.oneMinusBeta1],
    [b2, p.beta2],
    [c2, p.oneMinusBeta2],
    [lr, p.lrT],
    [eps, p.epsilon],
  ];
  for (const [local, param] of consts) b.get(param).splatBits().set(local);

  const pointers = [p.p, p.m, p.v, p.g, p.pOut, p.mOut, p.vOut];
  const update = (lanes: 1 | 4) => {
    const load = (at: Local) => b.loadFrom(at, lanes);
    // m' = m*b1 + g*c1
    load(p.m).get(b1).f32x4Mul();
    load(p.g).get(c1).f32x4Mul();
    b.f32x4Add().set(m);
    // v' = v*b2 + (g*g)*c2
    load(p.v).get(b2).f32x4Mul();
    load(p.g);
    load(p.g).f32x4Mul().get(c2).f32x4Mul();
    b.f32x4Add().set(v);
    // p' = p - (m'*lrT) / (sqrt(v') + eps)
    load(p.p);
    b.get(m).get(lr).f32x4Mul();
    b.get(v).f32x4Sqrt().get(eps).f32x4Add();
    b.f32x4Div().f32x4Sub().set(t);
    b.storeTo(p.pOut, t, lanes);
    b.storeTo(p.mOut, m, lanes);
    b.storeTo(p.vOut, v, lanes);
    for (const ptr of pointers) b.inc(ptr, 4 * lanes);
  };

  b.assign(vectors, (e) => e.get(p.count).const(2).shrU());
  b.assign(tail, (e) => e.get(p.count).const(3).and32());
  b.repeat(vectors, vectors, () => update(4));
  b.repeat(tail, tail, () => update(1));
  return b;
}
