/**
 * The frame of an elementwise float32 kernel out[i] = f(x[i]) (sign, tanh): four lanes at a
 * time, then the last 1-3 elements one lane at a time through the same vector code with
 * single-lane loads and stores. Pure: builds bytes only.
 */
import { Body, type Local, named } from './wasm-binary.js';

/** Parameters, in order: byte addresses of input and output, the element count. */
export const UNARY_PARAMS = ['x', 'out', 'count'] as const;

/**
 * `prepare` takes up to `v128Locals` locals of its own from `b` and returns the code of f:
 * given the local that holds a vector of x, it leaves f of it on the stack.
 */
export function unaryMapBody(v128Locals: number, prepare: (b: Body) => (x: Local) => void): Body {
  const b = new Body(UNARY_PARAMS.length, 2, v128Locals + 2);
  const p = named(UNARY_PARAMS, (i) => i);
  const [vectors, tail] = [b.i32(), b.i32()];
  const [x, y] = [b.v128(), b.v128()];
  const compute = prepare(b);
  const step = (lanes: 1 | 4) => {
    b.loadFrom(p.x, lanes).set(x);
    compute(x);
    b.set(y).storeTo(p.out, y, lanes);
    b.inc(p.x, 4 * lanes).inc(p.out, 4 * lanes);
  };
  b.assign(vectors, (e) => e.get(p.count).const(2).shrU());
  b.assign(tail, (e) => e.get(p.count).const(3).and32());
  b.repeat(vectors, vectors, () => step(4));
  b.repeat(tail, tail, () => step(1));
  return b;
}
