/**
 * Maximum-likelihood fit of a three-parameter Weibull (scipy.stats.weibull_min: shape c,
 * location loc, scale), as `weibull_min.fit(data, c_init, optimizer=scipy.optimize.fmin)`
 * does with scipy 1.10+ and numpy 1.x, which is how IBM ART's CLEVER estimates the Lipschitz
 * constant:
 *  - start: c = c_init, scale = sqrt(var / (G(1+2/c) - G(1+1/c)^2)), loc = mean - scale G(1+1/c)
 *    (moment matching for the given shape; G is the gamma function);
 *  - objective: scipy's penalised negative log-likelihood (`_penalized_nnlf`): points outside
 *    the support, and non-finite log-densities, cost log(DBL_MAX) * 100 each instead of +inf;
 *  - optimiser: Nelder-Mead exactly as scipy.optimize.fmin (see nelder-mead.ts).
 * ART's data are float32 (maxima of float32 gradient norms), and numpy 1.x computes on a
 * float32 array with float64 scalars in float32: the mean and variance of the start, the
 * standardised points, their log-densities and their (pairwise) sum. That rounding steers
 * the simplex, and on the degenerate samples CLEVER produces (ties, spreads of 1e-7, norms
 * near 0) it decides where the fit stops, so it is reproduced here operation by operation
 * (Math.fround after each float32 step). Everything else is float64.
 */
import { nelderMead } from './nelder-mead.js';

export interface WeibullParams {
  c: number;
  loc: number;
  scale: number;
}

/** scipy's _LOGXMAX = log(numpy.finfo(float).max). */
const LOG_XMAX = Math.log(Number.MAX_VALUE);

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/**
 * The gamma function (Lanczos approximation, g = 7; relative error ~1e-15), exact at small
 * positive integers, where scipy's is exact too (c_init = 1 needs G(2) and G(3)).
 */
export function gamma(z: number): number {
  if (Number.isInteger(z) && z >= 1 && z <= 20) {
    let f = 1;
    for (let k = 2; k < z; k++) f *= k;
    return f;
  }
  if (z < 0.5) return Math.PI / (Math.sin(Math.PI * z) * gamma(1 - z));
  const x = z - 1;
  let a = LANCZOS[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (x + i);
  return Math.sqrt(2 * Math.PI) * t ** (x + 0.5) * Math.exp(-t) * a;
}

const f32 = Math.fround;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * numpy's float32 pairwise sum (`np.add.reduce` of a contiguous float32 array): blocks of
 * up to 128 summed with 8 accumulators, halves above that.
 */
export function sumFloat32(a: ArrayLike<number>, start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = start; i < start + n; i++) res = f32(res + (a[i] as number));
    return res;
  }
  if (n <= 128) {
    const r: number[] = [];
    for (let j = 0; j < 8; j++) r.push(a[start + j] as number);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f32((r[j] as number) + (a[start + i + j] as number));
    }
    const [r0, r1, r2, r3, r4, r5, r6, r7] = r as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    let res = f32(f32(f32(r0 + r1) + f32(r2 + r3)) + f32(f32(r4 + r5) + f32(r6 + r7)));
    for (; i < n; i++) res = f32(res + (a[start + i] as number));
    return res;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return f32(sumFloat32(a, start, half) + sumFloat32(a, start + half, n - half));
}

/**
 * Arithmetic of numpy 1.x on a float32 array with float64 scalars: float32 unless a scalar
 * lies outside float32's range, in which case numpy's value-based casting promotes to float64.
 */
function arithmetic(...scalars: number[]): (v: number) => number {
  return scalars.every((v) => !(Math.abs(v) > FLOAT32_MAX)) ? f32 : (v) => v;
}

/**
 * log density of the standard weibull_min, `log(c) + xlogy(c - 1, x) - x**c` (0 log 0 = 0),
 * in the arithmetic `r` of the points.
 */
export function weibullMinLogPdf(
  x: number,
  c: number,
  r: (v: number) => number = (v) => v,
): number {
  const cm1 = r(c - 1);
  const xlogy = cm1 === 0 ? 0 : r(cm1 * r(Math.log(x)));
  return r(r(r(Math.log(c)) + xlogy) - r(r(x) ** r(c)));
}

/** scipy's `rv_continuous._penalized_nnlf` for weibull_min at (c, loc, scale), float32 data. */
export function weibullMinPenalizedNnlf(params: WeibullParams, data: ArrayLike<number>): number {
  const { c, loc, scale } = params;
  if (!(c > 0) || !(scale > 0)) return Number.POSITIVE_INFINITY;
  const r = arithmetic(loc, scale, c);
  const logs: number[] = [];
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const x = r(r(r(data[i] as number) - r(loc)) / r(scale));
    if (!(x >= 0)) {
      bad++;
      continue;
    }
    const lp = weibullMinLogPdf(x, c, r);
    if (Number.isFinite(lp)) logs.push(lp);
    else bad++;
  }
  const total = r === f32 ? sumFloat32(logs) : logs.reduce((a, v) => a + v, 0);
  return -total + bad * LOG_XMAX * 100 + data.length * Math.log(scale);
}

/** scipy's starting point for `weibull_min.fit(data, cInit)`; mean and variance in float32. */
export function weibullMinFitStart(data: ArrayLike<number>, cInit: number): WeibullParams {
  const n = data.length;
  const x = Array.from(data, (v) => f32(v));
  const mean = f32(sumFloat32(x) / n);
  const variance = f32(sumFloat32(x.map((v) => f32(f32(v - mean) ** 2))) / n);
  const g1 = gamma(1 + 1 / cInit);
  const scale = Math.sqrt(variance / (gamma(1 + 2 / cInit) - g1 * g1));
  return { c: cInit, loc: mean - scale * g1, scale };
}

/** Maximum-likelihood (c, loc, scale) of weibull_min for `data`, shape guess `cInit`. */
export function fitWeibullMin(data: ArrayLike<number>, cInit = 1): WeibullParams {
  if (data.length === 0) throw new Error('cannot fit a Weibull distribution to no data');
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) throw new Error('the data contains non-finite values');
  }
  if (!(cInit > 0)) throw new Error(`the shape guess c_init must be > 0; got ${cInit}`);
  const start = weibullMinFitStart(data, cInit);
  const objective = ([c, loc, scale]: number[]): number =>
    weibullMinPenalizedNnlf({ c: c as number, loc: loc as number, scale: scale as number }, data);
  const { x } = nelderMead(objective, [start.c, start.loc, start.scale]);
  const [c, loc, scale] = x as [number, number, number];
  if (!(c > 0) || !(scale > 0)) {
    throw new Error('Weibull fit converged to parameters outside the allowed range');
  }
  return { c, loc, scale };
}
