/**
 * The float32 `logf` and `sincosf` that torch's CPU `normal_fill` kernels call, ported bit for
 * bit (see torch_generator.ts for which kernel runs where): avx_mathfun.h's `log256_ps` /
 * `sincos256_ps` one lane at a time, as the x86-64 wheel compiles them (every multiply-add
 * fused), and glibc 2.28+ `__logf` / `__sincosf` in their `"fma"` and `"sse2"` builds.
 *
 * @module
 */
import { f32Bits as floatBits, f32FromBits as floatFromBits, fma, fmaf } from "../numerics/f32.ts";

const fround = Math.fround;

/** Parses a C99 hexadecimal float literal such as `-0x1.57bf7808caadep-2` exactly. */
function hexDouble(literal: string): number {
  const m = /^(-?)0x([0-9a-f])\.?([0-9a-f]*)p([+-]?\d+)$/i.exec(literal);
  if (m === null) throw new Error(`normal_math.ts: bad hex float literal ${literal}`);
  const mantissa = parseInt(m[2] + m[3], 16); // at most 53 bits: exact
  const value = mantissa * 2 ** (Number(m[4]) - 4 * m[3].length);
  return m[1] === "-" ? -value : value;
}

// ------------------------------------------------------------------------------------------
// avx_mathfun.h (torch 2.13, as compiled in the x86-64 wheel), one lane at a time
// ------------------------------------------------------------------------------------------

// Constants as avx_mathfun.h declares them: double literals stored as float.
const ONE_F = 1;
const HALF_F = 0.5;
const MIN_NORM_POS = 2 ** -126;
const SQRTHF = fround(0.707106781186547524);
const LOG_P = [
  7.0376836292e-2,
  -1.1514610310e-1,
  1.1676998740e-1,
  -1.2420140846e-1,
  +1.4249322787e-1,
  -1.6668057665e-1,
  +2.0000714765e-1,
  -2.4999993993e-1,
  +3.3333331174e-1,
].map(fround);
const LOG_Q1 = fround(-2.12194440e-4);
const LOG_Q2 = fround(0.693359375);
const MINUS_DP1 = fround(-0.78515625);
const MINUS_DP2 = fround(-2.4187564849853515625e-4);
const MINUS_DP3 = fround(-3.77489497744594108e-8);
const SINCOF_P0 = fround(-1.9515295891e-4);
const SINCOF_P1 = fround(8.3321608736e-3);
const SINCOF_P2 = fround(-1.6666654611e-1);
const COSCOF_P0 = fround(2.443315711809948e-005);
const COSCOF_P1 = fround(-1.388731625493765e-003);
const COSCOF_P2 = fround(4.166664568298827e-002);
const FOPI = fround(1.27323954473516); // 4 / pi

/**
 * One lane of `log256_ps` (aten/src/ATen/native/cpu/avx_mathfun.h, the Cephes `logf`
 * polynomial) for a float32 `x > 0`, with the FMA contractions of the torch 2.13 x86-64 wheel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { avxLogf } from "./normal_math.ts";
 * assert.equal(avxLogf(1), 0);
 * assert.equal(avxLogf(0.5), -0.6931471824645996);
 * ```
 */
export function avxLogf(x: number): number {
  if (!(x > 0)) return NaN; // the invalid_mask lanes (x <= 0 or NaN)
  let v = Math.max(x, MIN_NORM_POS); // cut off denormals
  const bits = floatBits(v);
  // exponent and the mantissa scaled into [0.5, 1)
  let e = fround(fround((bits >>> 23) - 0x7f) + ONE_F);
  v = floatFromBits(((bits & 0x807fffff) | 0x3f000000) >>> 0);
  const small = v < SQRTHF;
  const tmp = small ? v : 0;
  v = fround(v - ONE_F);
  e = fround(e - (small ? ONE_F : 0));
  v = fround(v + tmp);
  const z = fround(v * v);
  let y = fmaf(LOG_P[0], v, LOG_P[1]);
  for (let k = 2; k < LOG_P.length; k++) y = fmaf(y, v, LOG_P[k]);
  const eq1 = fround(e * LOG_Q1);
  y = fround(y * v);
  y = fmaf(y, z, eq1); // y * z + e * q1
  y = fmaf(-z, HALF_F, y); // y - z * 0.5
  v = fround(v + y);
  return fmaf(e, LOG_Q2, v); // x + e * q2
}

/**
 * One lane of `sincos256_ps` (aten/src/ATen/native/cpu/avx_mathfun.h, Cephes `sinf`/`cosf`
 * with the 3-part pi/4 reduction, accurate for |x| < 8192) as `[sin, cos]`, with the FMA
 * contractions of the torch 2.13 x86-64 wheel.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { avxSincosf } from "./normal_math.ts";
 * assert.deepEqual(Array.from(avxSincosf(0)), [0, 1]);
 * ```
 */
export function avxSincosf(x: number): [number, number] {
  const negative = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  // j = (int(|x| * 4/pi) + 1) & ~1 (cvttps2dq truncates)
  let j = Math.trunc(fround(ax * FOPI)) | 0;
  j = (j + 1) & ~1;
  const yj = fround(j);
  const swapSignSin = (j & 4) !== 0;
  const polyIsSin = (j & 2) === 0; // poly_mask: lanes where y2 (the sine polynomial) is sin
  // extended precision modular arithmetic: x = ((x - y * DP1) - y * DP2) - y * DP3
  let r = fmaf(yj, MINUS_DP1, ax);
  r = fmaf(MINUS_DP2, yj, r);
  r = fmaf(yj, MINUS_DP3, r);
  const signCos = (~(j - 2) & 4) !== 0;
  const signSin = negative !== swapSignSin;
  const z = fround(r * r);
  const halfZ = fround(z * HALF_F);
  // cosine polynomial: 1 - z/2 + z^2 * (c0 z^2 + c1 z + c2)
  let yc = fmaf(COSCOF_P0, z, COSCOF_P1);
  yc = fmaf(yc, z, COSCOF_P2);
  yc = fround(z * yc);
  yc = fmaf(z, yc, -halfZ);
  yc = fround(yc + ONE_F);
  // sine polynomial: x + x * z * (s0 z^2 + s1 z + s2)
  let ys = fmaf(SINCOF_P0, z, SINCOF_P1);
  ys = fmaf(ys, z, SINCOF_P2);
  ys = fround(z * ys);
  ys = fmaf(r, ys, r);
  // select through masks, as the vector code does (the adds and subtracts are exact)
  const ysin2 = polyIsSin ? ys : 0;
  const ysin1 = polyIsSin ? 0 : yc;
  const ycos1 = fround(yc - ysin1);
  const ycos2 = fround(ys - ysin2);
  let s = fround(ysin2 + ysin1);
  let c = fround(ycos2 + ycos1);
  if (signSin) s = -s;
  if (signCos) c = -c;
  return [s, c];
}

// ------------------------------------------------------------------------------------------
// glibc logf / sincosf (2.28+; data checked against glibc 2.36's __logf_data / __sincosf_table)
// ------------------------------------------------------------------------------------------

/**
 * The two x86-64 builds of glibc's float math: `"fma"` (chosen when the CPU has FMA and AVX2,
 * every `a * b + c` contracted) and `"sse2"` (the C expressions as written).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GlibcMathVariant } from "./normal_math.ts";
 * const v: GlibcMathVariant = "fma";
 * assert.equal(v, "fma");
 * ```
 */
export type GlibcMathVariant = "fma" | "sse2";

// e_logf_data.c: {invc, logc} for 16 subintervals, ln2, and the log1p polynomial A[0..2]
const LOGF_TABLE: readonly (readonly [number, number])[] = [
  ["0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2"],
  ["0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2"],
  ["0x1.49539f0f010bp+0", "-0x1.01eae7f513a67p-2"],
  ["0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3"],
  ["0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3"],
  ["0x1.25e227b0b8eap+0", "-0x1.1aa2bc79c81p-3"],
  ["0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4"],
  ["0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4"],
  ["0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5"],
  ["0x1p+0", "0x0p+0"],
  ["0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5"],
  ["0x1.ca4b31f026aap-1", "0x1.c5e53aa362eb4p-4"],
  ["0x1.b2036576afce6p-1", "0x1.526e57720db08p-3"],
  ["0x1.9c2d163a1aa2dp-1", "0x1.bc2860d22477p-3"],
  ["0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2"],
  ["0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2"],
].map(([invc, logc]) => [hexDouble(invc), hexDouble(logc)] as const);
const LOGF_LN2 = hexDouble("0x1.62e42fefa39efp-1");
const LOGF_A0 = hexDouble("-0x1.00ea348b88334p-2");
const LOGF_A1 = hexDouble("0x1.5575b0be00b6ap-2");
const LOGF_A2 = hexDouble("-0x1.ffffef20a4123p-2");
const LOGF_OFF = 0x3f330000;

/**
 * glibc's `logf` (sysdeps/ieee754/flt-32/e_logf.c: table of 16 subintervals and a degree-4
 * polynomial evaluated in double) for a float32 `x`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { glibcLogf } from "./normal_math.ts";
 * assert.equal(glibcLogf(0.5, "fma"), -0.6931471824645996);
 * ```
 */
export function glibcLogf(x: number, variant: GlibcMathVariant): number {
  let ix = floatBits(x);
  if (ix === 0x3f800000) return 0;
  if (((ix - 0x00800000) >>> 0) >= 0x7f800000 - 0x00800000) {
    if (((ix << 1) >>> 0) === 0) return -Infinity;
    if (ix === 0x7f800000) return x;
    if ((ix & 0x80000000) !== 0 || ((ix << 1) >>> 0) >= 0xff000000) return NaN;
    ix = (floatBits(fround(x * 2 ** 23)) - (23 << 23)) >>> 0; // subnormal: normalize
  }
  // x = 2^k z, z in [OFF, 2 OFF) split into 16 subintervals with c near their centres
  const tmp = (ix - LOGF_OFF) >>> 0;
  const i = (tmp >>> 19) & 15;
  const k = (tmp | 0) >> 23;
  const iz = (ix - (tmp & 0xff800000)) >>> 0;
  const [invc, logc] = LOGF_TABLE[i];
  const z = floatFromBits(iz);
  // log(x) = log1p(z/c - 1) + log(c) + k ln2
  let y: number;
  if (variant === "fma") {
    const r = fma(z, invc, -1);
    const y0 = fma(k, LOGF_LN2, logc);
    const r2 = r * r;
    y = fma(LOGF_A1, r, LOGF_A2);
    y = fma(LOGF_A0, r2, y);
    y = fma(y, r2, y0 + r);
  } else {
    const r = z * invc - 1;
    const y0 = logc + k * LOGF_LN2;
    const r2 = r * r;
    y = LOGF_A1 * r + LOGF_A2;
    y = LOGF_A0 * r2 + y;
    y = y * r2 + (y0 + r);
  }
  return fround(y);
}

// s_sincosf_data.c / sincosf_poly.h: the sine and cosine polynomials (the second table computes
// -cos, for quadrants 2 and 3), 2/pi scaled by 2^24 (x86-64 has no TOINT_INTRINSICS) and pi/2.
interface SincosfTable {
  c0: number;
  c1: number;
  c2: number;
  c3: number;
  c4: number;
  s1: number;
  s2: number;
  s3: number;
}
const SINCOSF_C = [
  "0x1p0",
  "-0x1.ffffffd0c621cp-2",
  "0x1.55553e1068f19p-5",
  "-0x1.6c087e89a359dp-10",
  "0x1.99343027bf8c3p-16",
].map(hexDouble);
const SINCOSF_S = ["-0x1.555545995a603p-3", "0x1.1107605230bc4p-7", "-0x1.994eb3774cf24p-13"]
  .map(hexDouble);
const SINCOSF_TABLES: readonly SincosfTable[] = [1, -1].map((sign) => ({
  c0: sign * SINCOSF_C[0],
  c1: sign * SINCOSF_C[1],
  c2: sign * SINCOSF_C[2],
  c3: sign * SINCOSF_C[3],
  c4: sign * SINCOSF_C[4],
  s1: SINCOSF_S[0],
  s2: SINCOSF_S[1],
  s3: SINCOSF_S[2],
}));
const SINCOSF_SIGN = [1, -1, -1, 1];
const SINCOSF_HPI_INV = hexDouble("0x1.45F306DC9C883p+23");
const SINCOSF_HPI = hexDouble("0x1.921FB54442D18p0");

/**
 * glibc's `sincosf` (sysdeps/ieee754/flt-32/s_sincosf.c with sincosf_poly.h) as `[sin, cos]`
 * for a float32 `|x| < 120` (the `reduce_fast` range; torch's kernel only passes [0, 2 pi]).
 *
 * @throws {RangeError} for |x| >= 120 or non-finite x, whose large-argument reduction is not
 * ported
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { glibcSincosf } from "./normal_math.ts";
 * assert.deepEqual(Array.from(glibcSincosf(0, "fma")), [0, 1]);
 * ```
 */
export function glibcSincosf(x: number, variant: GlibcMathVariant): [number, number] {
  const top = (floatBits(x) >>> 20) & 0x7ff;
  if (top < 0x3f4) { // |x| < pi/4
    if (top < 0x398) return [x, 1]; // |x| < 2^-12
    return sincosfPoly(x, x * x, SINCOSF_TABLES[0], 0, variant);
  }
  if (top < 0x42f) { // |x| < 120: reduce_fast
    const n = ((Math.trunc(x * SINCOSF_HPI_INV) | 0) + 0x800000) >> 24;
    const r = variant === "fma" ? fma(-n, SINCOSF_HPI, x) : x - n * SINCOSF_HPI;
    const s = SINCOSF_SIGN[n & 3];
    const p = SINCOSF_TABLES[(n & 2) === 0 ? 0 : 1];
    return sincosfPoly(r * s, r * r, p, n, variant);
  }
  throw new RangeError(
    `glibcSincosf: x: got ${x} (expected |x| < 120; large arguments are not supported)`,
  );
}

/** sincosf_poly (glibc 2.36 operation order; odd quadrants swap sine and cosine). */
function sincosfPoly(
  x: number,
  x2: number,
  p: SincosfTable,
  n: number,
  variant: GlibcMathVariant,
): [number, number] {
  const x3 = x2 * x;
  const x4 = x2 * x2;
  const x5 = x3 * x2;
  const x6 = x4 * x2;
  let s: number;
  let c: number;
  if (variant === "fma") {
    const c2 = fma(x2, p.c4, p.c3);
    const s1 = fma(x2, p.s3, p.s2);
    const c1 = fma(x2, p.c1, p.c0);
    s = fma(x5, s1, fma(x3, p.s1, x));
    c = fma(x6, c2, fma(x4, p.c2, c1));
  } else {
    const c2 = p.c3 + x2 * p.c4;
    const s1 = p.s2 + x2 * p.s3;
    const c1 = p.c0 + x2 * p.c1;
    s = (x + x3 * p.s1) + x5 * s1;
    c = (c1 + x4 * p.c2) + x6 * c2;
  }
  return (n & 1) === 0 ? [fround(s), fround(c)] : [fround(c), fround(s)];
}
