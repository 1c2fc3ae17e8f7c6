/**
 * A minimal WebAssembly binary writer for the project's SIMD kernels: functions of i32
 * parameters (no results) over an imported memory `env.memory`, with i32 and v128 locals,
 * structured loops and the few scalar and SIMD instructions the kernels use. The kernels
 * are generated here at run time, specialised to a layer's shape, so the project needs no
 * compiler toolchain and ships no prebuilt binary. Pure: builds bytes, instantiates nothing.
 */

const I32 = 0x7f;
const V128 = 0x7b;
const SIMD = 0xfd;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A local variable index. Parameters come first, then i32 locals, then v128 locals. */
export type Local = number;

/** One local per name, each from `make` (given its position): `(i) => i` names the
 * parameters, `() => body.i32()` makes fresh locals. */
export function named<N extends string>(
  names: readonly N[],
  make: (i: number) => Local,
): Record<N, Local> {
  return Object.fromEntries(names.map((n, i) => [n, make(i)])) as Record<N, Local>;
}

/**
 * The body of one function, written as a stack machine. Memory offsets are in bytes and
 * are immediate (`offset`) where the instruction allows, which costs nothing at run time.
 */
export class Body {
  readonly bytes: number[] = [];
  private readonly i32Locals: number;
  private readonly v128Locals: number;
  private nextI32: number;
  private nextV128: number;

  constructor(
    readonly params: number,
    i32Locals: number,
    v128Locals: number,
  ) {
    this.i32Locals = i32Locals;
    this.v128Locals = v128Locals;
    this.nextI32 = params;
    this.nextV128 = params + i32Locals;
  }

  /** A fresh i32 local (of the `i32Locals` reserved). */
  i32(): Local {
    if (this.nextI32 >= this.params + this.i32Locals) throw new Error('out of i32 locals');
    return this.nextI32++;
  }

  /** A fresh v128 local (of the `v128Locals` reserved). */
  v128(): Local {
    if (this.nextV128 >= this.params + this.i32Locals + this.v128Locals) {
      throw new Error('out of v128 locals');
    }
    return this.nextV128++;
  }

  /** The local declarations and code of the function, as the code section wants them. */
  encode(): number[] {
    const decls: number[][] = [];
    if (this.i32Locals > 0) decls.push([...uleb(this.i32Locals), I32]);
    if (this.v128Locals > 0) decls.push([...uleb(this.v128Locals), V128]);
    const code = [...vec(decls), ...this.bytes, 0x0b];
    return [...uleb(code.length), ...code];
  }

  private op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  private simd(code: number, ...rest: number[]): this {
    return this.op(SIMD, ...uleb(code), ...rest);
  }

  get(l: Local): this {
    return this.op(0x20, ...uleb(l));
  }

  set(l: Local): this {
    return this.op(0x21, ...uleb(l));
  }

  const(v: number): this {
    return this.op(0x41, ...sleb(v));
  }

  add(): this {
    return this.op(0x6a);
  }

  sub(): this {
    return this.op(0x6b);
  }

  mul(): this {
    return this.op(0x6c);
  }

  /** i32.load from the address on the stack + offset. */
  loadI32(offset = 0): this {
    return this.op(0x28, 2, ...uleb(offset));
  }

  /** f32.store of the f32 on the stack at the address under it + offset. */
  storeF32(offset = 0): this {
    return this.op(0x38, 2, ...uleb(offset));
  }

  /** The sum of the four lanes of the vector on the stack, ((l0 + l1) + l2) + l3, as f32. */
  laneSum(of: Local): this {
    this.get(of).simd(0x1f, 0);
    for (let lane = 1; lane < 4; lane++) this.get(of).simd(0x1f, lane).op(0x92);
    return this;
  }

  and32(): this {
    return this.op(0x71);
  }

  shrU(): this {
    return this.op(0x76);
  }

  /** l = value of `emit` (which leaves one i32 on the stack). */
  assign(l: Local, emit: (b: this) => void): this {
    emit(this);
    return this.set(l);
  }

  /** l += v (a constant or another local). */
  inc(l: Local, by: number | { local: Local }): this {
    this.get(l);
    if (typeof by === 'number') this.const(by);
    else this.get(by.local);
    return this.add().set(l);
  }

  /** for (counter = count; counter > 0; counter--) body; skipped when count is 0. */
  repeat(counter: Local, count: Local, body: () => void): this {
    this.get(count).set(counter);
    this.op(0x02, 0x40); // block
    this.get(counter).op(0x45).op(0x0d, 0); // i32.eqz; br_if 0
    this.op(0x03, 0x40); // loop
    body();
    this.get(counter).const(1).op(0x6b).set(counter); // counter -= 1
    this.get(counter).op(0x0d, 0); // br_if 0 (continue while counter != 0)
    this.op(0x0b).op(0x0b); // end loop, end block
    return this;
  }

  /** v128.load from the address on the stack + offset. */
  load(offset = 0): this {
    return this.simd(0x00, 0, ...uleb(offset));
  }

  /** One f32 loaded into all four lanes. */
  loadSplat(offset = 0): this {
    return this.simd(0x09, 0, ...uleb(offset));
  }

  /** The first `lanes` (1..4) f32 at the address, the other lanes zero; reads no further. */
  loadLanes(lanes: number, offset = 0): this {
    if (lanes === 4) return this.load(offset);
    if (lanes === 1) return this.simd(0x5c, 0, ...uleb(offset)); // v128.load32_zero
    if (lanes === 2) return this.simd(0x5d, 0, ...uleb(offset)); // v128.load64_zero
    throw new Error('loadLanes: 3 lanes need loadThreeLanes');
  }

  store(offset = 0): this {
    return this.simd(0x0b, 0, ...uleb(offset));
  }

  zero(): this {
    return this.simd(0x0c, ...new Array(16).fill(0));
  }

  /** A vector of four copies of the f32 `value`. */
  splatConst(value: number): this {
    return this.splatBitsConst(new Uint32Array(Float32Array.of(value).buffer)[0] as number);
  }

  /** The first `lanes` (1..4) f32 of the vector (on the stack above the address) stored. */
  storeLanes(lanes: number, offset = 0): this {
    if (lanes === 4) return this.store(offset);
    if (lanes === 1) return this.simd(0x5a, 0, ...uleb(offset), 0); // v128.store32_lane 0
    if (lanes === 2) return this.simd(0x5b, 0, ...uleb(offset), 0); // v128.store64_lane 0
    throw new Error('storeLanes: 3 lanes take two stores');
  }

  /** v128.store32_lane of lane `lane`. */
  storeLane(lane: number, offset = 0): this {
    return this.simd(0x5a, 0, ...uleb(offset), lane);
  }

  /** Lane-wise a == b, all ones or all zeros. */
  f32x4Eq(): this {
    return this.simd(0x41);
  }

  f32x4Gt(): this {
    return this.simd(0x44);
  }

  /** Lane-wise a < b ? b : a: a running maximum that, as `v > best` does, skips NaN. */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }

  and(): this {
    return this.simd(0x4e);
  }

  /** a & ~b. */
  andNot(): this {
    return this.simd(0x4f);
  }

  or(): this {
    return this.simd(0x50);
  }

  f32x4Add(): this {
    return this.simd(0xe4);
  }

  f32x4Sub(): this {
    return this.simd(0xe5);
  }

  f32x4Mul(): this {
    return this.simd(0xe6);
  }

  f32x4Div(): this {
    return this.simd(0xe7);
  }

  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }

  /** A vector of four copies of the 32-bit pattern `bits`. */
  splatBitsConst(bits: number): this {
    const lane = [...new Uint8Array(Uint32Array.of(bits >>> 0).buffer)];
    return this.simd(0x0c, ...lane, ...lane, ...lane, ...lane);
  }

  /** Lane-wise a >= b, all ones or all zeros (false where either is NaN). */
  f32x4Ge(): this {
    return this.simd(0x46);
  }

  /** Lane-wise b < a ? b : a (as f32x4Pmax, a NaN in `a` is kept). */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }

  f32x4Abs(): this {
    return this.simd(0xe0);
  }

  f32x4Floor(): this {
    return this.simd(0x68);
  }

  /** (a & mask) | (b & ~mask), with a, b, mask pushed in that order. */
  bitselect(): this {
    return this.simd(0x52);
  }

  /** f32 lanes to i32 lanes, truncated toward zero (saturating; NaN -> 0). */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }

  i32x4Add(): this {
    return this.simd(0xae);
  }

  /** Each i32 lane of the vector shifted left by the i32 pushed after it. */
  i32x4Shl(): this {
    return this.simd(0xab);
  }

  /** The f32 whose bits are the i32 on the stack, in all four lanes. */
  splatBits(): this {
    return this.op(0xbe).simd(0x13); // f32.reinterpret_i32; f32x4.splat
  }

  /** The first `lanes` (1..4) f32 at address local `at` + offset, the other lanes zero. */
  loadFrom(at: Local, lanes: number, offset = 0): this {
    if (lanes !== 3) return this.get(at).loadLanes(lanes, offset);
    return this.get(at)
      .get(at)
      .loadLanes(2, offset)
      .loadLane(2, offset + 8);
  }

  /** Stores the first `lanes` (1..4) f32 of local `value` at address local `at` + offset. */
  storeTo(at: Local, value: Local, lanes: number, offset = 0): this {
    if (lanes !== 3) return this.get(at).get(value).storeLanes(lanes, offset);
    this.get(at).get(value).storeLanes(2, offset);
    return this.get(at)
      .get(value)
      .storeLane(2, offset + 8);
  }

  /** v128.load32_lane: replaces lane `lane` of the vector on the stack (under the address). */
  loadLane(lane: number, offset = 0): this {
    return this.simd(0x56, 0, ...uleb(offset), lane);
  }
}

export interface FunctionDef {
  name: string;
  body: Body;
}

/** A module importing `env.memory` and exporting `functions`, each of i32 params only. */
export function moduleBytes(functions: readonly FunctionDef[]): Uint8Array {
  const arities = [...new Set(functions.map((f) => f.body.params))];
  const types = arities.map((n) => [0x60, ...vec(new Array(n).fill([I32])), 0]);
  const memoryImport = [...name('env'), ...name('memory'), 0x02, 0x00, 0x00];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([memoryImport])),
    ...section(3, vec(functions.map((f) => uleb(arities.indexOf(f.body.params))))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map((f) => f.body.encode()))),
  ];
  return Uint8Array.from(bytes);
}
