/**
 * LMSDiscreteScheduler: the linear multistep method in sigma space (k-diffusion's
 * `sample_lms`), an exact port of diffusers 0.42.1 `schedulers/scheduling_lms_discrete.py`:
 * sigma tables as EulerDiscrete's (linear interpolation, Karras or exponential sigmas), and
 * the multistep coefficients as the integrals of Lagrange basis polynomials that diffusers
 * computes with `scipy.integrate.quad` — reproduced here by a port of QUADPACK's QAGS
 * (21-point Gauss–Kronrod with bisection and Wynn's epsilon extrapolation), evaluating the
 * integrand in float32 as diffusers' torch tensors do, so that the coefficients come out as the
 * same doubles.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { Tensor } from "../tensor/tensor.ts";
import { assertSameShape, f32 } from "./common.ts";
import { type BetaOption, type SchedulerConfig, schedulerSpec } from "./config.ts";
import { npInterp } from "./interp.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions, SigmaScheduler } from "./sigma_scheduler.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

// ---------------------------------------------------------------------------------------------
// QUADPACK QAGS (Piessens, de Doncker-Kapenga, Überhuber, Kahaner 1983), as scipy.integrate.quad
// calls it: dqagse with dqk21, dqpsrt and dqelg, double precision, same operation order.

const EPMACH = 2 ** -52; // d1mach(4)
const UFLOW = 2 ** -1022; // d1mach(1)
const OFLOW = Number.MAX_VALUE; // d1mach(2)

// dqk21's nodes and weights (Fullerton's 80-digit values, as in the Fortran data statements).
const XGK = [
  0.995657163025808080735527280689003,
  0.973906528517171720077964012084452,
  0.930157491355708226001207180059508,
  0.865063366688984510732096688423493,
  0.780817726586416897063717578345042,
  0.679409568299024406234327365114874,
  0.562757134668604683339000099272694,
  0.433395394129247190799265943165784,
  0.294392862701460198131126603103866,
  0.148874338981631210884826001129720,
  0.0,
];
const WGK = [
  0.011694638867371874278064396062192,
  0.032558162307964727478818972459390,
  0.054755896574351996031381300244580,
  0.075039674810919952767043140916190,
  0.093125454583697605535065465083366,
  0.109387158802297641899210590325805,
  0.123491976262065851077958109831074,
  0.134709217311473325928054001771707,
  0.142775938577060080797094273138717,
  0.147739104901338491374841515972068,
  0.149445554002916905664936468389821,
];
const WG = [
  0.066671344308688137593568809893332,
  0.149451349150580593145776339657697,
  0.219086362515982043995534934228163,
  0.269266719309996355091226921569469,
  0.295524224714752870173892994651338,
];

interface Qk21Result {
  result: number;
  abserr: number;
  resabs: number;
  resasc: number;
}

/** QUADPACK dqk21: the 21-point Kronrod rule and its error estimate over [a, b]. */
function qk21(f: (x: number) => number, a: number, b: number): Qk21Result {
  const centr = 0.5 * (a + b);
  const hlgth = 0.5 * (b - a);
  const dhlgth = Math.abs(hlgth);
  const fv1 = new Array<number>(10);
  const fv2 = new Array<number>(10);
  let resg = 0.0;
  const fc = f(centr);
  let resk = WGK[10] * fc;
  let resabs = Math.abs(resk);
  for (let j = 1; j <= 5; j++) {
    const jtw = 2 * j; // Fortran index; arrays here are 0-based
    const absc = hlgth * XGK[jtw - 1];
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtw - 1] = fval1;
    fv2[jtw - 1] = fval2;
    const fsum = fval1 + fval2;
    resg = resg + WG[j - 1] * fsum;
    resk = resk + WGK[jtw - 1] * fsum;
    resabs = resabs + WGK[jtw - 1] * (Math.abs(fval1) + Math.abs(fval2));
  }
  for (let j = 1; j <= 5; j++) {
    const jtwm1 = 2 * j - 1;
    const absc = hlgth * XGK[jtwm1 - 1];
    const fval1 = f(centr - absc);
    const fval2 = f(centr + absc);
    fv1[jtwm1 - 1] = fval1;
    fv2[jtwm1 - 1] = fval2;
    const fsum = fval1 + fval2;
    resk = resk + WGK[jtwm1 - 1] * fsum;
    resabs = resabs + WGK[jtwm1 - 1] * (Math.abs(fval1) + Math.abs(fval2));
  }
  const reskh = resk * 0.5;
  let resasc = WGK[10] * Math.abs(fc - reskh);
  for (let j = 0; j < 10; j++) {
    resasc = resasc + WGK[j] * (Math.abs(fv1[j] - reskh) + Math.abs(fv2[j] - reskh));
  }
  const result = resk * hlgth;
  resabs = resabs * dhlgth;
  resasc = resasc * dhlgth;
  let abserr = Math.abs((resk - resg) * hlgth);
  if (resasc !== 0 && abserr !== 0) {
    abserr = resasc * Math.min(1, Math.pow(200 * abserr / resasc, 1.5));
  }
  if (resabs > UFLOW / (50 * EPMACH)) abserr = Math.max((EPMACH * 50) * resabs, abserr);
  return { result, abserr, resabs, resasc };
}

/** QUADPACK dqpsrt: keeps `iord` (1-based) ordered by decreasing error estimate. */
function qpsrt(
  limit: number,
  last: number,
  state: { maxerr: number; ermax: number; nrmax: number },
  elist: number[],
  iord: number[],
): void {
  let { maxerr, nrmax } = state;
  if (last <= 2) {
    iord[1] = 1;
    iord[2] = 2;
  } else {
    const errmax = elist[maxerr];
    if (nrmax !== 1) {
      const ido = nrmax - 1;
      for (let i = 1; i <= ido; i++) {
        const isucc = iord[nrmax - 1];
        if (errmax <= elist[isucc]) break;
        iord[nrmax] = isucc;
        nrmax = nrmax - 1;
      }
    }
    let jupbn = last;
    if (last > Math.trunc(limit / 2) + 2) jupbn = limit + 3 - last;
    const errmin = elist[last];
    const jbnd = jupbn - 1;
    const ibeg = nrmax + 1;
    let inserted = false;
    let i = ibeg;
    if (ibeg <= jbnd) {
      for (i = ibeg; i <= jbnd; i++) {
        const isucc = iord[i];
        if (errmax >= elist[isucc]) {
          inserted = true;
          break;
        }
        iord[i - 1] = isucc;
      }
    }
    if (!inserted) {
      iord[jbnd] = maxerr;
      iord[jupbn] = last;
    } else {
      // label 60: insert errmin by traversing the list bottom-up
      iord[i - 1] = maxerr;
      let k = jbnd;
      let placed = false;
      for (let j = i; j <= jbnd; j++) {
        const isucc = iord[k];
        if (errmin < elist[isucc]) {
          iord[k + 1] = last;
          placed = true;
          break;
        }
        iord[k + 1] = isucc;
        k = k - 1;
      }
      if (!placed) iord[i] = last;
    }
  }
  maxerr = iord[nrmax];
  state.maxerr = maxerr;
  state.ermax = elist[maxerr];
  state.nrmax = nrmax;
}

/** QUADPACK dqelg: Wynn's epsilon algorithm on `epstab` (1-based, 52 + 1 slots). */
function qelg(
  nIn: number,
  epstab: number[],
  res3la: number[],
  counter: { nres: number },
): { n: number; result: number; abserr: number } {
  let n = nIn;
  counter.nres = counter.nres + 1;
  let abserr = OFLOW;
  let result = epstab[n];
  if (n < 3) {
    abserr = Math.max(abserr, 5 * EPMACH * Math.abs(result));
    return { n, result, abserr };
  }
  const limexp = 50;
  epstab[n + 2] = epstab[n];
  const newelm = Math.trunc((n - 1) / 2);
  epstab[n] = OFLOW;
  const num = n;
  let k1 = n;
  let converged = false;
  for (let i = 1; i <= newelm; i++) {
    const k2 = k1 - 1;
    const k3 = k1 - 2;
    let res = epstab[k1 + 2];
    const e0 = epstab[k3];
    const e1 = epstab[k2];
    const e2 = res;
    const e1abs = Math.abs(e1);
    const delta2 = e2 - e1;
    const err2 = Math.abs(delta2);
    const tol2 = Math.max(Math.abs(e2), e1abs) * EPMACH;
    const delta3 = e1 - e0;
    const err3 = Math.abs(delta3);
    const tol3 = Math.max(e1abs, Math.abs(e0)) * EPMACH;
    if (!(err2 > tol2 || err3 > tol3)) {
      // e0, e1 and e2 are equal to within machine accuracy: convergence
      result = res;
      abserr = err2 + err3;
      converged = true;
      break;
    }
    const e3 = epstab[k1];
    epstab[k1] = e1;
    const delta1 = e1 - e3;
    const err1 = Math.abs(delta1);
    const tol1 = Math.max(e1abs, Math.abs(e3)) * EPMACH;
    let omit = err1 <= tol1 || err2 <= tol2 || err3 <= tol3;
    let ss = 0;
    if (!omit) {
      ss = 1 / delta1 + 1 / delta2 - 1 / delta3;
      const epsinf = Math.abs(ss * e1);
      omit = !(epsinf > 1e-4);
    }
    if (omit) {
      n = i + i - 1;
      break;
    }
    res = e1 + 1 / ss;
    epstab[k1] = res;
    k1 = k1 - 2;
    const error = err2 + Math.abs(res - e2) + err3;
    if (error > abserr) continue;
    abserr = error;
    result = res;
  }
  if (!converged) {
    // label 50: shift the table
    if (n === limexp) n = 2 * Math.trunc(limexp / 2) - 1;
    let ib = num % 2 === 0 ? 2 : 1;
    const ie = newelm + 1;
    for (let i = 1; i <= ie; i++) {
      const ib2 = ib + 2;
      epstab[ib] = epstab[ib2];
      ib = ib2;
    }
    if (num !== n) {
      let indx = num - n + 1;
      for (let i = 1; i <= n; i++) {
        epstab[i] = epstab[indx];
        indx = indx + 1;
      }
    }
    if (counter.nres >= 4) {
      abserr = Math.abs(result - res3la[3]) + Math.abs(result - res3la[2]) +
        Math.abs(result - res3la[1]);
      res3la[1] = res3la[2];
      res3la[2] = res3la[3];
      res3la[3] = result;
    } else {
      res3la[counter.nres] = result;
      abserr = OFLOW;
    }
  }
  abserr = Math.max(abserr, 5 * EPMACH * Math.abs(result));
  return { n, result, abserr };
}

/**
 * What {@link quadQags} returns, as `scipy.integrate.quad(..., full_output=1)`.
 *
 * @example
 * ```ts
 * import { quadQags, type QuadResult } from "./lms_discrete.ts";
 * const r: QuadResult = quadQags((x) => 1 / Math.sqrt(x), 0, 1);
 * [r.ier, r.last]; // [0, 6]: bisected and extrapolated
 * ```
 */
export interface QuadResult {
  /** The integral estimate. */
  result: number;
  /** The absolute error estimate. */
  abserr: number;
  /** QUADPACK's `ier` (0: converged). */
  ier: number;
  /** Number of integrand evaluations. */
  neval: number;
  /** Number of subintervals used. */
  last: number;
}

/**
 * `scipy.integrate.quad(f, a, b, epsabs=1.49e-8, epsrel=1.49e-8, limit=50)` on a finite
 * interval: QUADPACK's QAGS (dqagse) in double precision with its operation order, so that it
 * returns scipy's doubles bit for bit when `f` returns the same values.
 *
 * @example
 * ```ts
 * import { quadQags } from "./lms_discrete.ts";
 * quadQags((x) => x * x, 0, 3).result; // 9.000000000000002, as scipy's quad
 * quadQags((x) => Math.sqrt(x), 0, 1, { epsrel: 1e-10 }).ier; // 0
 * ```
 */
export function quadQags(
  f: (x: number) => number,
  a: number,
  b: number,
  opts: { epsabs?: number; epsrel?: number; limit?: number } = {},
): QuadResult {
  const epsabs = opts.epsabs ?? 1.49e-8;
  const epsrel = opts.epsrel ?? 1.49e-8;
  const limit = opts.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`quadQags: limit must be a positive integer, got ${limit}`);
  }
  // Fortran arrays, 1-based (index 0 unused)
  const alist = new Array<number>(limit + 1).fill(0);
  const blist = new Array<number>(limit + 1).fill(0);
  const rlist = new Array<number>(limit + 1).fill(0);
  const elist = new Array<number>(limit + 1).fill(0);
  const iord = new Array<number>(limit + 1).fill(0);
  const rlist2 = new Array<number>(53 + 2).fill(0);
  const res3la = [0, 0, 0, 0];
  let ier = 0;
  let last = 0;
  let result = 0.0;
  let abserr = 0.0;
  alist[1] = a;
  blist[1] = b;
  if (epsabs <= 0 && epsrel < Math.max(50 * EPMACH, 0.5e-28)) {
    return { result, abserr, ier: 6, neval: 0, last: 0 };
  }
  let ierro = 0;
  const first = qk21(f, a, b);
  result = first.result;
  abserr = first.abserr;
  const defabs = first.resabs;
  const resabs0 = first.resasc;
  const dres = Math.abs(result);
  let errbnd = Math.max(epsabs, epsrel * dres);
  last = 1;
  rlist[1] = result;
  elist[1] = abserr;
  iord[1] = 1;
  if (abserr <= 100 * EPMACH * defabs && abserr > errbnd) ier = 2;
  if (limit === 1) ier = 1;
  if (ier !== 0 || (abserr <= errbnd && abserr !== resabs0) || abserr === 0) {
    return { result, abserr, ier, neval: 42 * last - 21, last };
  }
  rlist2[1] = result;
  let errmax = abserr;
  let maxerr = 1;
  let area = result;
  let errsum = abserr;
  abserr = OFLOW;
  let nrmax = 1;
  const counter = { nres: 0 };
  let numrl2 = 2;
  let ktmin = 0;
  let extrap = false;
  let noext = false;
  let iroff1 = 0;
  let iroff2 = 0;
  let iroff3 = 0;
  let ksgn = -1;
  if (dres >= (1 - 50 * EPMACH) * defabs) ksgn = 1;
  let small = 0;
  let erlarg = 0;
  let ertest = 0;
  let correc = 0;
  // exit: 100 (final checks) or 115 (sum the subinterval results)
  let exit: 100 | 115 = 100;
  for (last = 2; last <= limit; last++) {
    const a1 = alist[maxerr];
    const b1 = 0.5 * (alist[maxerr] + blist[maxerr]);
    const a2 = b1;
    const b2 = blist[maxerr];
    const erlast = errmax;
    const left = qk21(f, a1, b1);
    const right = qk21(f, a2, b2);
    const area1 = left.result;
    const error1 = left.abserr;
    const defab1 = left.resasc;
    const area2 = right.result;
    const error2 = right.abserr;
    const defab2 = right.resasc;
    const area12 = area1 + area2;
    const erro12 = error1 + error2;
    errsum = errsum + erro12 - errmax;
    area = area + area12 - rlist[maxerr];
    if (!(defab1 === error1 || defab2 === error2)) {
      if (!(Math.abs(rlist[maxerr] - area12) > 1e-5 * Math.abs(area12) || erro12 < 0.99 * errmax)) {
        if (extrap) iroff2 = iroff2 + 1;
        if (!extrap) iroff1 = iroff1 + 1;
      }
      if (last > 10 && erro12 > errmax) iroff3 = iroff3 + 1;
    }
    rlist[maxerr] = area1;
    rlist[last] = area2;
    errbnd = Math.max(epsabs, epsrel * Math.abs(area));
    if (iroff1 + iroff2 >= 10 || iroff3 >= 20) ier = 2;
    if (iroff2 >= 5) ierro = 3;
    if (last === limit) ier = 1;
    if (
      Math.max(Math.abs(a1), Math.abs(b2)) <= (1 + 100 * EPMACH) * (Math.abs(a2) + 1000 * UFLOW)
    ) {
      ier = 4;
    }
    if (error2 > error1) {
      alist[maxerr] = a2;
      alist[last] = a1;
      blist[last] = b1;
      rlist[maxerr] = area2;
      rlist[last] = area1;
      elist[maxerr] = error2;
      elist[last] = error1;
    } else {
      alist[last] = a2;
      blist[maxerr] = b1;
      blist[last] = b2;
      elist[maxerr] = error1;
      elist[last] = error2;
    }
    const sorted = { maxerr, ermax: errmax, nrmax };
    qpsrt(limit, last, sorted, elist, iord);
    ({ maxerr, nrmax } = sorted);
    errmax = sorted.ermax;
    if (errsum <= errbnd) {
      exit = 115;
      break;
    }
    if (ier !== 0) break;
    if (last === 2) {
      // label 80
      small = Math.abs(b - a) * 0.375;
      erlarg = errsum;
      ertest = errbnd;
      rlist2[2] = area;
      continue;
    }
    if (noext) continue;
    erlarg = erlarg - erlast;
    if (Math.abs(b1 - a1) > small) erlarg = erlarg + erro12;
    if (!extrap) {
      if (Math.abs(blist[maxerr] - alist[maxerr]) > small) continue;
      extrap = true;
      nrmax = 2;
    }
    // label 40
    if (!(ierro === 3 || erlarg <= ertest)) {
      const id = nrmax;
      let jupbnd = last;
      if (last > 2 + Math.trunc(limit / 2)) jupbnd = limit + 3 - last;
      let largerFound = false;
      for (let k = id; k <= jupbnd; k++) {
        maxerr = iord[nrmax];
        errmax = elist[maxerr];
        if (Math.abs(blist[maxerr] - alist[maxerr]) > small) {
          largerFound = true;
          break;
        }
        nrmax = nrmax + 1;
      }
      if (largerFound) continue;
    }
    // label 60: perform extrapolation
    numrl2 = numrl2 + 1;
    rlist2[numrl2] = area;
    const eps = qelg(numrl2, rlist2, res3la, counter);
    numrl2 = eps.n;
    const reseps = eps.result;
    const abseps = eps.abserr;
    ktmin = ktmin + 1;
    if (ktmin > 5 && abserr < 1e-3 * errsum) ier = 5;
    if (abseps < abserr) {
      ktmin = 0;
      abserr = abseps;
      result = reseps;
      correc = erlarg;
      ertest = Math.max(epsabs, epsrel * Math.abs(reseps));
      if (abserr <= ertest) break;
    }
    // label 70
    if (numrl2 === 1) noext = true;
    if (ier === 5) break;
    maxerr = iord[1];
    errmax = elist[maxerr];
    nrmax = 1;
    extrap = false;
    small = small * 0.5;
    erlarg = errsum;
  }
  let sumRlist = exit === 115;
  if (!sumRlist) {
    // label 100: set final result and error estimate
    let goto: 110 | 115 | 130 = 110;
    if (abserr === OFLOW) {
      goto = 115;
    } else if (ier + ierro !== 0) {
      if (ierro === 3) abserr = abserr + correc;
      if (ier === 0) ier = 3;
      if (result !== 0 && area !== 0) {
        goto = abserr / Math.abs(result) > errsum / Math.abs(area) ? 115 : 110;
      } else if (abserr > errsum) {
        goto = 115;
      } else if (area === 0) {
        goto = 130;
      }
    }
    if (goto === 110) {
      // test on divergence
      if (!(ksgn === -1 && Math.max(Math.abs(result), Math.abs(area)) <= defabs * 0.01)) {
        if (0.01 > result / area || result / area > 100 || errsum > Math.abs(area)) ier = 6;
      }
    }
    sumRlist = goto === 115;
  }
  if (sumRlist) {
    result = 0;
    for (let k = 1; k <= last; k++) result = result + rlist[k];
    abserr = errsum;
  }
  if (ier > 2) ier = ier - 1;
  return { result, abserr, ier, neval: 42 * last - 21, last };
}

// ---------------------------------------------------------------------------------------------

/**
 * The integrand of diffusers' `get_lms_coefficient` (its inner `lms_derivative`): the Lagrange
 * basis polynomial of node `sigmas[t - currentOrder]` among the nodes `sigmas[t - k]`,
 * k < order, evaluated as diffusers' torch code does: `tau` (a double) meets float32 0-d
 * tensors, so it is rounded to float32 and every `(tau - s_k) / (s_j - s_k)` factor and running
 * product is float32; with `order` 1 the product stays the Python float 1.0.
 *
 * @throws {RangeError} when the nodes `sigmas[t - order + 1 .. t + 1]` do not exist.
 * @example
 * ```ts
 * import { lmsIntegrand } from "./lms_discrete.ts";
 * const f = lmsIntegrand(new Float32Array([4, 2, 1]), 2, 1, 0); // nodes 2 and 4, basis of node 2
 * [f(2), f(3)]; // [1, 0.5]
 * ```
 */
export function lmsIntegrand(
  sigmas: Float32Array,
  order: number,
  t: number,
  currentOrder: number,
): (tau: number) => number {
  if (!Number.isSafeInteger(order) || order < 1 || t - (order - 1) < 0 || t + 1 >= sigmas.length) {
    throw new RangeError(
      `lmsIntegrand: order ${order} at step ${t} needs sigmas[${t - order + 1}..${t + 1}] ` +
        `(have ${sigmas.length})`,
    );
  }
  const sj = sigmas[t - currentOrder];
  return (tau: number): number => {
    let prod: number | null = null;
    const tau32 = f32(tau);
    for (let k = 0; k < order; k++) {
      if (k === currentOrder) continue;
      const sk = sigmas[t - k];
      const factor = f32(f32(tau32 - sk) / f32(sj - sk));
      prod = prod === null ? factor : f32(prod * factor);
    }
    return prod ?? 1.0;
  };
}

/**
 * diffusers' `LMSDiscreteScheduler.get_lms_coefficient(order, t, current_order)`:
 * `scipy.integrate.quad(lms_derivative, sigmas[t], sigmas[t + 1], epsrel=1e-4)[0]` with the
 * integrand of {@link lmsIntegrand} and QUADPACK's QAGS ({@link quadQags}): the same double
 * as diffusers.
 *
 * @example
 * ```ts
 * import { lmsCoefficient } from "./lms_discrete.ts";
 * const sigmas = new Float32Array([14.6, 7.2, 3.1, 0]);
 * lmsCoefficient(sigmas, 1, 0, 0); // sigmas[1] - sigmas[0], as quad integrates 1
 * ```
 */
export function lmsCoefficient(
  sigmas: Float32Array,
  order: number,
  t: number,
  currentOrder: number,
): number {
  const f = lmsIntegrand(sigmas, order, t, currentOrder);
  return quadQags(f, sigmas[t], sigmas[t + 1], { epsrel: 1e-4 }).result;
}

/**
 * The options of `LMSDiscreteScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import type { LMSDiscreteConfig } from "./lms_discrete.ts";
 * const c: Partial<LMSDiscreteConfig> = { useKarrasSigmas: true, timestepSpacing: "leading" };
 * ```
 */
export type LMSDiscreteConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "useKarrasSigmas"
    | "predictionType"
    | "timestepSpacing"
    | "stepsOffset"
  >
  & ExtraSigmaOptions;

/**
 * `LMSDiscreteScheduler`'s class name, defaults (diffusers' `__init__`, in its order) and the
 * fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import { LMS_DISCRETE_SPEC } from "./lms_discrete.ts";
 * LMS_DISCRETE_SPEC.defaults.timestepSpacing; // "linspace"
 * ```
 */
export const LMS_DISCRETE_SPEC = schedulerSpec<LMSDiscreteConfig>(
  "LMSDiscreteScheduler",
  {
    useKarrasSigmas: false,
    useExponentialSigmas: false,
    useBetaSigmas: false,
    predictionType: "epsilon",
    timestepSpacing: "linspace",
    stepsOffset: 0,
  },
  EXTRA_SIGMA_FIELDS,
);

/**
 * Options of {@link LMSDiscreteScheduler.step}: diffusers' `order` (default 4).
 *
 * @example
 * ```ts
 * import type { LMSStepOptions } from "./lms_discrete.ts";
 * const opts: LMSStepOptions = { order: 2 };
 * ```
 */
export interface LMSStepOptions extends StepOptions {
  /** Order of the linear multistep method (1 to 4 in practice). */
  order?: number;
}

/**
 * The LMS sampler. `step` reproduces diffusers' float32 arithmetic and its quad-integrated
 * coefficients; `setTimesteps` reproduces its numpy sigma and timestep tables.
 *
 * @example
 * ```ts
 * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = LMSDiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012 });
 * s.setTimesteps(4);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const input = s.scaleModelInput(x, t);
 *   const eps = new Tensor(input.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * ```
 */
export class LMSDiscreteScheduler extends SigmaScheduler<LMSDiscreteConfig> implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec = LMS_DISCRETE_SPEC;
  /** The coefficients of the last `step`, in `current_order` order (diffusers does not keep them). */
  lastCoefficients: number[] = [];
  #derivatives: Float32Array[] = [];

  /**
   * Sets `numTrainTimesteps` inference steps, as diffusers' `__init__` does.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `LMSDiscreteScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   * @throws {RangeError} on more than one sigma-spacing option, or `useBetaSigmas`.
   */
  constructor(config: Partial<LMSDiscreteConfig> = {}, options?: SchedulerOptions) {
    super(LMS_DISCRETE_SPEC, config, options);
    this.setTimesteps(this.config.numTrainTimesteps); // as diffusers' __init__
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = LMSDiscreteScheduler.fromConfig({ use_karras_sigmas: true });
   * s.config.useKarrasSigmas; // true
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): LMSDiscreteScheduler {
    return fromDiffusersConfig(LMSDiscreteScheduler, json, source, math);
  }

  /**
   * diffusers' `set_timesteps`: timesteps by `timestep_spacing`, sigmas by `np.interp` of the
   * training sigmas (Karras or exponential on request, with timesteps from `_sigma_to_t`), a
   * final 0, and a reset of the step index and the stored derivatives.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(4);
   * s.timesteps; // [999, 666, 333, 0]
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const start = this.startSchedule(numInferenceSteps);
    const { timesteps, table } = start;
    const interpolated = npInterp(timesteps, Array.from(table, (_, i) => i), table);
    const spaced = this.respaceSigmas(interpolated, start);
    this.setSchedule(spaced.timesteps, spaced.sigmas);
    this.#derivatives = [];
  }

  /**
   * diffusers' `get_lms_coefficient(order, t, current_order)` on this schedule's sigmas.
   *
   * @example
   * ```ts
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * s.getLmsCoefficient(2, 1, 0);
   * ```
   */
  getLmsCoefficient(order: number, t: number, currentOrder: number): number {
    return lmsCoefficient(this.sigmaList, order, t, currentOrder);
  }

  /**
   * One LMS step (diffusers' `LMSDiscreteScheduler.step`): `x0` from the prediction type, the
   * derivative `(x - x0) / sigma` appended to the last `order` ones, and
   * `x_prev = x + sum_k coeff_k * d_k` with the quad-integrated coefficients (Python floats,
   * applied to float32 tensors as float32).
   *
   * @throws {RangeError} on shape mismatches, a timestep not in the schedule, a step past the
   * end, or an `order` that is not a positive integer.
   * @example
   * ```ts
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([5, -5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.5, -0.4]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x, { order: 4 });
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    opts: LMSStepOptions = {},
  ): StepResult {
    const who = "LMSDiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const orderParam = opts.order ?? 4;
    if (!Number.isSafeInteger(orderParam) || orderParam < 1) {
      throw new RangeError(`${who}: order must be a positive integer, got ${orderParam}`);
    }
    const index = this.currentStepIndex(timestep, who);
    const sigma = this.sigmaList[index];
    const x = sample.data;
    const pred = this.predictOriginal(x, modelOutput.data, sigma);
    const derivative = x.map((v, i) => f32(v - pred[i]) / sigma);
    this.#derivatives.push(derivative);
    if (this.#derivatives.length > orderParam) this.#derivatives.shift();
    const order = Math.min(index + 1, orderParam);
    const coeffs: number[] = [];
    for (let k = 0; k < order; k++) coeffs.push(this.getLmsCoefficient(order, index, k));
    this.lastCoefficients = coeffs;
    // sum(coeff * derivative for coeff, derivative in zip(lms_coeffs, reversed(derivatives)))
    const n = Math.min(coeffs.length, this.#derivatives.length);
    const sum = new Float32Array(x.length);
    for (let k = 0; k < n; k++) {
      const c = f32(coeffs[k]);
      const d = this.#derivatives[this.#derivatives.length - 1 - k];
      for (let i = 0; i < sum.length; i++) {
        sum[i] = k === 0 ? f32(c * d[i]) : sum[i] + f32(c * d[i]);
      }
    }
    const prev = x.map((v, i) => v + sum[i]);
    this.advanceStepIndex();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
