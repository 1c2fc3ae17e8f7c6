/**
 * Maximum-likelihood fit of a three-parameter Weibull (scipy.stats.weibull_min: shape c,
 * location loc, scale), as `weibull_min.fit(data, c_init, optimizer=scipy.optimize.fmin)`
 * does in current scipy, which is how IBM ART's CLEVER estimates the Lipschitz constant:
 *  - start: c = c_init, scale = sqrt(var / (G(1+2/c) - G(1+1/c)^2)), loc = mean - scale G(1+1/c)
 *    (moment matching for the given shape; G is the gamma function);
 *  - objective: scipy's penalised negative log-likelihood (`_penalized_nnlf`): points outside
 *    the support, and non-finite log-densities, cost log(DBL_MAX) * 100 each instead of +inf;
 *  - optimiser: Nelder-Mead exactly as scipy.optimize.fmin (see nelder-mead.ts).
 * Pure numeric code, float64 throughout.
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

/** The gamma function (Lanczos approximation, g = 7; relative error ~1e-15). */
export function gamma(z: number): number {
  if (z < 0.5) return Math.PI / (Math.sin(Math.PI * z) * gamma(1 - z));
  const x = z - 1;
  let a = LANCZOS[0] as number;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (x + i);
  return Math.sqrt(2 * Math.PI) * t ** (x + 0.5) * Math.exp(-t) * a;
}

/** log density of the standard weibull_min: log c + (c-1) log x - x^c (0 log 0 = 0). */
export function weibullMinLogPdf(x: number, c: number): number {
  const xlogy = c - 1 === 0 ? 0 : (c - 1) * Math.log(x);
  return Math.log(c) + xlogy - x ** c;
}

/** scipy's `rv_continuous._penalized_nnlf` for weibull_min at (c, loc, scale). */
export function weibullMinPenalizedNnlf(params: WeibullParams, data: ArrayLike<number>): number {
  const { c, loc, scale } = params;
  if (!(c > 0) || !(scale > 0)) return Number.POSITIVE_INFINITY;
  let total = 0;
  let bad = 0;
  for (let i = 0; i < data.length; i++) {
    const x = ((data[i] as number) - loc) / scale;
    if (!(x >= 0)) {
      bad++;
      continue;
    }
    const lp = weibullMinLogPdf(x, c);
    if (Number.isFinite(lp)) total += lp;
    else bad++;
  }
  return -total + bad * LOG_XMAX * 100 + data.length * Math.log(scale);
}

/** scipy's starting point for `weibull_min.fit(data, cInit)`. */
export function weibullMinFitStart(data: ArrayLike<number>, cInit: number): WeibullParams {
  const n = data.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += data[i] as number;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += ((data[i] as number) - mean) ** 2;
  variance /= n;
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
