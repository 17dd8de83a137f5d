/**
 * QUADPACK's QAGS (Piessens, de Doncker-Kapenga, Überhuber, Kahaner 1983) as
 * `scipy.integrate.quad` calls it on a finite interval: dqagse with dqk21 (21-point
 * Gauss–Kronrod), dqpsrt (the error-ordered interval list) and dqelg (Wynn's epsilon
 * extrapolation), double precision, in the Fortran's operation order, so that it returns scipy's
 * doubles bit for bit when the integrand returns the same values.
 *
 * @module
 */
import { qk21 } from "./gauss_kronrod.ts";
const EPMACH = 2 ** -52; // d1mach(4)
const UFLOW = 2 ** -1022; // d1mach(1)
const OFLOW = Number.MAX_VALUE; // d1mach(2)

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
 * import assert from "node:assert/strict";
 * import { quadQags, type QuadResult } from "./quadpack.ts";
 * const r: QuadResult = quadQags((x) => 1 / Math.sqrt(x), 0, 1);
 * assert.deepEqual(Array.from([r.ier, r.last]), [0, 6]);
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
 * import assert from "node:assert/strict";
 * import { quadQags } from "./quadpack.ts";
 * assert.equal(quadQags((x) => x * x, 0, 3).result, 9.000000000000002);
 * assert.equal(quadQags((x) => Math.sqrt(x), 0, 1, { epsrel: 1e-10 }).ier, 0);
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
