/**
 * QUADPACK's dqk21: the 21-point Gauss–Kronrod rule on one interval, with the error estimate
 * and the integrals of |f| and |f - mean| that dqagse needs, double precision, in the Fortran's
 * operation order.
 *
 * @module
 */

const EPMACH = 2 ** -52; // d1mach(4)
const UFLOW = 2 ** -1022; // d1mach(1)

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

/**
 * What {@link qk21} returns (dqk21's `result`, `abserr`, `resabs`, `resasc`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { qk21, type Qk21Result } from "./gauss_kronrod.ts";
 * const r: Qk21Result = qk21((x) => x, 0, 2);
 * assert.equal(r.result, 2);
 * ```
 */
export interface Qk21Result {
  /** The 21-point Kronrod estimate of the integral. */
  result: number;
  /** The error estimate (from the difference with the embedded 10-point Gauss rule). */
  abserr: number;
  /** The Kronrod estimate of the integral of |f|. */
  resabs: number;
  /** The Kronrod estimate of the integral of |f - result / (b - a)|. */
  resasc: number;
}

/**
 * QUADPACK dqk21: the 21-point Kronrod rule and its error estimate over [a, b]. Exact for
 * polynomials up to degree 31, so its error estimate there is rounding only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { qk21 } from "./gauss_kronrod.ts";
 * const r = qk21((x) => x ** 5, 0, 1);
 * assert.ok(Math.abs(r.result - 1 / 6) < 1e-15);
 * assert.ok(r.abserr < 1e-14);
 * ```
 */
export function qk21(f: (x: number) => number, a: number, b: number): Qk21Result {
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
