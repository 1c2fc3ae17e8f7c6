/**
 * Derivative-free minimisation by the Nelder-Mead simplex method, step for step as
 * scipy.optimize.fmin (scipy's `_minimize_neldermead`, non-adaptive): initial simplex x0 plus
 * 5% of each non-zero coordinate (0.00025 for zero ones), reflection 1, expansion 2,
 * contraction 0.5, shrink 0.5, stop when both the simplex spread <= xtol and the spread of
 * values <= ftol (absolute), or after maxiter iterations / maxfun evaluations (200 * N each).
 * IBM ART fits CLEVER's Weibull with this optimiser. Pure; never throws on infinite values.
 */

export interface NelderMeadOptions {
  xtol?: number;
  ftol?: number;
  maxiter?: number;
  maxfun?: number;
}

export interface NelderMeadResult {
  x: number[];
  fun: number;
  iterations: number;
  evaluations: number;
}

export function nelderMead(
  f: (x: number[]) => number,
  x0: readonly number[],
  options: NelderMeadOptions = {},
): NelderMeadResult {
  const n = x0.length;
  const xtol = options.xtol ?? 1e-4;
  const ftol = options.ftol ?? 1e-4;
  const maxiter = options.maxiter ?? 200 * n;
  const maxfun = options.maxfun ?? 200 * n;
  let evaluations = 0;
  // scipy refuses the call past maxfun by raising, which abandons the rest of the iteration
  // (a shrink may have moved vertices whose values it never updated).
  const evaluate = (x: number[]): number => {
    if (evaluations >= maxfun) throw OUT_OF_EVALUATIONS;
    evaluations++;
    return f(x);
  };

  let sim: number[][] = [x0.slice()];
  for (let k = 0; k < n; k++) {
    const y = x0.slice();
    y[k] = y[k] !== 0 ? 1.05 * (y[k] as number) : 0.00025;
    sim.push(y);
  }
  let fsim = sim.map(() => Number.POSITIVE_INFINITY);
  try {
    for (let i = 0; i <= n; i++) fsim[i] = evaluate(sim[i] as number[]);
  } catch (e) {
    if (e !== OUT_OF_EVALUATIONS) throw e;
  }
  const sortSimplex = (): void => {
    const order = fsim.map((v, i) => [v, i] as const).sort((a, b) => compare(a[0], b[0]));
    sim = order.map(([, i]) => sim[i] as number[]);
    fsim = order.map(([v]) => v);
  };
  sortSimplex();

  const combine = (a: number, u: number[], b: number, v: number[]): number[] =>
    u.map((ui, j) => a * ui + b * (v[j] as number));

  let iterations = 1;
  while (evaluations < maxfun && iterations < maxiter) {
    const best = sim[0] as number[];
    let spreadX = 0;
    let spreadF = 0;
    for (let i = 1; i <= n; i++) {
      const s = sim[i] as number[];
      for (let j = 0; j < n; j++)
        spreadX = Math.max(spreadX, Math.abs((s[j] as number) - (best[j] as number)));
      spreadF = Math.max(spreadF, Math.abs((fsim[0] as number) - (fsim[i] as number)));
    }
    // NaN spreads (infinite values) compare false, as in numpy, and the search goes on.
    if (spreadX <= xtol && spreadF <= ftol) break;

    try {
      step(best);
      iterations++;
    } catch (e) {
      if (e !== OUT_OF_EVALUATIONS) throw e;
    }
    sortSimplex();
  }
  return { x: (sim[0] as number[]).slice(), fun: fsim[0] as number, iterations, evaluations };

  function step(best: number[]): void {
    const worst = sim[n] as number[];
    // Summed, then divided, as numpy's add.reduce(sim[:-1], 0) / N rounds.
    const xbar = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++)
        xbar[j] = (xbar[j] as number) + ((sim[i] as number[])[j] as number);
    }
    for (let j = 0; j < n; j++) xbar[j] = (xbar[j] as number) / n;
    const xr = combine(2, xbar, -1, worst);
    const fxr = evaluate(xr);
    let shrink = false;
    if (fxr < (fsim[0] as number)) {
      const xe = combine(3, xbar, -2, worst);
      const fxe = evaluate(xe);
      if (fxe < fxr) replaceWorst(xe, fxe);
      else replaceWorst(xr, fxr);
    } else if (fxr < (fsim[n - 1] as number)) {
      replaceWorst(xr, fxr);
    } else if (fxr < (fsim[n] as number)) {
      const xc = combine(1.5, xbar, -0.5, worst);
      const fxc = evaluate(xc);
      if (fxc <= fxr) replaceWorst(xc, fxc);
      else shrink = true;
    } else {
      const xcc = combine(0.5, xbar, 0.5, worst);
      const fxcc = evaluate(xcc);
      if (fxcc < (fsim[n] as number)) replaceWorst(xcc, fxcc);
      else shrink = true;
    }
    if (shrink) {
      for (let i = 1; i <= n; i++) {
        const s = sim[i] as number[];
        sim[i] = s.map((v, j) => (best[j] as number) + 0.5 * (v - (best[j] as number)));
        fsim[i] = evaluate(sim[i] as number[]);
      }
    }
  }

  function replaceWorst(x: number[], fx: number): void {
    sim[n] = x;
    fsim[n] = fx;
  }
}

const OUT_OF_EVALUATIONS = new Error('Nelder-Mead: out of function evaluations');

/** Ascending order with NaN last (numpy's argsort puts NaN at the end). */
function compare(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
