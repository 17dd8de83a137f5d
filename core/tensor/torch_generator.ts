/**
 * `TorchGenerator`: the numbers of `torch.randn` / `torch.rand` with a CPU
 * `torch.Generator("cpu").manual_seed(seed)`, bit for bit, call after call (PyTorch 2.13).
 *
 * How torch draws a float32 normal tensor on the CPU
 * (aten/src/ATen/native/cpu/DistributionTemplates.h, `normal_kernel`):
 *
 * - fewer than 16 elements: one `at::normal_distribution<double>` sample per element
 *   (aten/src/ATen/core/DistributionsHelper.h): two 53-bit uniforms from `random64()`, a
 *   double Box–Muller whose second value is cached in the generator and used by the next
 *   element, even one of a later call; the double is then rounded to float32.
 * - 16 or more: `normal_fill` fills every element with a 24-bit uniform from `random()`, applies
 *   Box–Muller to each block of 16 (8 pairs: `u1 = data[j]`, `u2 = data[j + 8]`) and, when the
 *   size is not a multiple of 16, draws 16 fresh uniforms into the last 16 elements and
 *   transforms them again. That transform is float32 math whose bits depend on the kernel torch
 *   dispatches to:
 *   - `"avx2"`: `NormalFill16<float>` built on `log256_ps` / `sincos256_ps` from
 *     aten/src/ATen/native/cpu/avx_mathfun.h. This is what torch runs on every x86-64 CPU with
 *     AVX2, AVX-512 ones included: torch 2.13 registers no AVX-512 `normal_stub`, so the
 *     AVX512 capability falls back to the AVX2 kernel (checked against dumps made on an
 *     AVX-512 machine with no override, `ATEN_CPU_CAPABILITY=avx2` and `=avx512`).
 *     The wheel's compiler fused every multiply-add of those polynomials into an FMA; the port
 *     below follows the disassembly of `NormalFill16<float, true>::operator()`.
 *   - `"default"`: the scalar `NormalFill16` (`ATEN_CPU_CAPABILITY=default`, or a CPU without
 *     AVX2): `logf`, `sincosf` and `fmaf` from the C library. Ported here: glibc 2.28+
 *     `__logf` and `__sincosf` (sysdeps/ieee754/flt-32/e_logf.c, s_sincosf.c,
 *     sincosf_poly.h). x86-64 glibc loads one of two builds of them, `"fma"` (CPU with FMA and
 *     AVX2; GCC contracted every `a * b + c`) or `"sse2"` (plain C order); both are ported, and
 *     they agree on every argument this kernel can pass. Checked against glibc 2.36; other C
 *     libraries (musl, macOS) are not covered.
 *
 * `rand` is `uniform_kernel`: one 24-bit uniform per element, `(random() & 0xffffff) * 2^-24`.
 *
 * @module
 */

import { f32Bits as floatBits, f32FromBits as floatFromBits, fma, fmaf } from "../numerics/f32.ts";
import { Mt19937, type Mt19937State } from "./mt19937.ts";
import { shapeSize, Tensor } from "./tensor.ts";

const fround = Math.fround;

/** Parses a C99 hexadecimal float literal such as `-0x1.57bf7808caadep-2` exactly. */
function hexDouble(literal: string): number {
  const m = /^(-?)0x([0-9a-f])\.?([0-9a-f]*)p([+-]?\d+)$/i.exec(literal);
  if (m === null) throw new Error(`torch_generator.ts: bad hex float literal ${literal}`);
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
 * import { avxLogf } from "./torch_generator.ts";
 * avxLogf(1); // 0
 * avxLogf(0.5); // -0.6931471824645996
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
 * import { avxSincosf } from "./torch_generator.ts";
 * avxSincosf(0); // [0, 1]
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
 * import type { GlibcMathVariant } from "./torch_generator.ts";
 * const v: GlibcMathVariant = "fma";
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
 * import { glibcLogf } from "./torch_generator.ts";
 * glibcLogf(0.5, "fma"); // -0.6931471824645996
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
 * import { glibcSincosf } from "./torch_generator.ts";
 * glibcSincosf(0, "fma"); // [0, 1]
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

// ------------------------------------------------------------------------------------------
// TorchGenerator
// ------------------------------------------------------------------------------------------

/**
 * The CPU kernel whose bits a {@link TorchGenerator} reproduces for tensors of 16 or more
 * elements: `"avx2"` is what torch 2.13 runs on x86-64 CPUs with AVX2 (AVX-512 ones too;
 * `"avx512"` is accepted as a synonym), `"default"` the scalar kernel
 * (`ATEN_CPU_CAPABILITY=default`, CPUs without AVX2).
 *
 * @example
 * ```ts
 * import type { CpuCapability } from "./torch_generator.ts";
 * const c: CpuCapability = "avx2";
 * ```
 */
export type CpuCapability = "avx2" | "avx512" | "default";

/**
 * Options of {@link TorchGenerator}.
 *
 * @example
 * ```ts
 * import type { TorchGeneratorOptions } from "./torch_generator.ts";
 * const o: TorchGeneratorOptions = { cpuCapability: "default" };
 * ```
 */
export interface TorchGeneratorOptions {
  /** The kernel to reproduce (default `"avx2"`, torch's choice on x86-64 CPUs with AVX2). */
  cpuCapability?: CpuCapability;
}

/**
 * A snapshot of a {@link TorchGenerator}: its Mersenne Twister and the cached second sample of
 * the double Box–Muller (torch's `next_double_normal_sample`), or `null` when none is cached.
 *
 * @example
 * ```ts
 * import { TorchGenerator } from "./torch_generator.ts";
 * const g = new TorchGenerator(0);
 * g.randn([1]);
 * g.getState().nextDoubleNormal !== null; // true: the pair's second value waits in the cache
 * ```
 */
export interface TorchGeneratorState {
  /** The engine's state. */
  engine: Mt19937State;
  /** The cached normal sample (float64), or `null`. */
  nextDoubleNormal: number | null;
}

const CAPABILITIES: readonly string[] = ["avx2", "avx512", "default"];
const UINT64_MAX = (1n << 64n) - 1n;
const TWO_PI_F = fround(2 * Math.PI); // _mm256_set1_ps(2.0f * c10::pi<double>)
const TWO_PI = 2 * Math.PI; // 2.0f * c10::pi<double> in the scalar kernels, a double
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_POW_32 = 2 ** 32;

/**
 * The seed as torch's `Generator.manual_seed` stores it: an unsigned 64-bit integer, negative
 * seeds (down to -2^63) taken modulo 2^64.
 */
function seedToUint64(seed: number | bigint, where: string): bigint {
  let s: bigint;
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(
        `${where}: seed: got ${seed} (expected a safe integer, or a bigint for seeds beyond 2^53)`,
      );
    }
    s = BigInt(seed);
  } else if (typeof seed === "bigint") {
    s = seed;
  } else {
    throw new RangeError(`${where}: seed: got ${typeof seed} (expected a number or a bigint)`);
  }
  if (s < -(1n << 63n) || s > UINT64_MAX) {
    throw new RangeError(`${where}: seed: got ${s} (expected an integer in [-2^63, 2^64 - 1])`);
  }
  return s < 0n ? s + (1n << 64n) : s;
}

function checkShape(shape: readonly number[], where: string): number[] {
  if (!Array.isArray(shape)) {
    throw new RangeError(`${where}: shape: got ${String(shape)} (expected an array of extents)`);
  }
  shape.forEach((d, i) => {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${where}: shape[${i}]: got ${String(d)} (expected a non-negative integer)`,
      );
    }
  });
  return [...shape];
}

/**
 * A PyTorch CPU random generator: `new TorchGenerator(seed).randn(shape)` returns the float32
 * numbers of `torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed))`, and
 * later calls continue the same stream as torch does (including the cached Box–Muller value of
 * small draws). Used for initial latents and the noise of DDPM / DDIM (eta > 0) steps.
 *
 * @example
 * ```ts
 * import { TorchGenerator } from "./torch_generator.ts";
 * const g = new TorchGenerator(0);
 * g.randn([4]).data; // Float32Array [1.5409960746765137, -0.293428897857666, -2.1787893772125244, 0.5684312582015991]
 * const latents = g.randn([1, 4, 64, 64]); // continues the stream, as torch would
 * ```
 */
export class TorchGenerator {
  /** The kernel reproduced for draws of 16 or more elements. */
  readonly cpuCapability: CpuCapability;
  #engine: Mt19937;
  #nextDoubleNormal: number | null = null;

  /**
   * @param seed the `manual_seed` value: an integer in [-2^63, 2^64 - 1] (a bigint beyond 2^53)
   * @param options which torch CPU kernel to reproduce
   * @throws {RangeError} for a seed out of range or an unknown option value
   */
  constructor(seed: number | bigint, options: TorchGeneratorOptions = {}) {
    const where = "TorchGenerator";
    const capability = options.cpuCapability ?? "avx2";
    if (!CAPABILITIES.includes(capability)) {
      throw new RangeError(
        `${where}: options.cpuCapability: got ${String(capability)} ` +
          `(expected "avx2", "avx512" or "default")`,
      );
    }
    this.cpuCapability = capability;
    this.#engine = new Mt19937(seedToUint64(seed, where));
  }

  /**
   * The seed the generator was last seeded with, as torch's `initial_seed()` reports it
   * (negative seeds appear modulo 2^64).
   *
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * new TorchGenerator(-1).initialSeed; // 18446744073709551615n
   * ```
   */
  get initialSeed(): bigint {
    return this.#engine.seed;
  }

  /**
   * Reseeds in place like torch's `manual_seed` (the Box–Muller cache is cleared); returns
   * the generator.
   *
   * @throws {RangeError} for a seed out of range
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * const g = new TorchGenerator(1);
   * const a = g.randn([3]);
   * g.manualSeed(1).randn([3]).data[0] === a.data[0]; // true
   * ```
   */
  manualSeed(seed: number | bigint): this {
    this.#engine = new Mt19937(seedToUint64(seed, "TorchGenerator.manualSeed"));
    this.#nextDoubleNormal = null;
    return this;
  }

  /**
   * Standard normal float32 samples: `torch.randn(shape, generator=g)`.
   *
   * @throws {RangeError} when an extent is not a non-negative integer
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * new TorchGenerator(42).randn([2, 3]).shape; // [2, 3]
   * ```
   */
  randn(shape: readonly number[]): Tensor {
    const dims = checkShape(shape, "TorchGenerator.randn");
    const out = new Float32Array(shapeSize(dims));
    // normal_kernel: normal_fill for >= 16 contiguous elements, else normal_distribution<double>
    if (out.length >= 16) {
      this.#normalFill(out, 0, 1);
    } else {
      for (let i = 0; i < out.length; i++) out[i] = fround(this.#normalDouble() * 1 + 0);
    }
    return new Tensor(out, dims);
  }

  /**
   * Uniform float32 samples in [0, 1): `torch.rand(shape, generator=g)`.
   *
   * @throws {RangeError} when an extent is not a non-negative integer
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * new TorchGenerator(0).rand([2]).data; // Float32Array [0.49625658988952637, 0.7682217955589294]
   * ```
   */
  rand(shape: readonly number[]): Tensor {
    const dims = checkShape(shape, "TorchGenerator.rand");
    const out = new Float32Array(shapeSize(dims));
    for (let i = 0; i < out.length; i++) out[i] = this.#uniformFloat();
    return new Tensor(out, dims);
  }

  /**
   * A copy of the generator's state, to replay draws with {@link TorchGenerator.setState}.
   *
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * const g = new TorchGenerator(3);
   * const saved = g.getState();
   * const a = g.randn([5]);
   * g.setState(saved);
   * g.randn([5]).data[4] === a.data[4]; // true
   * ```
   */
  getState(): TorchGeneratorState {
    return { engine: this.#engine.getState(), nextDoubleNormal: this.#nextDoubleNormal };
  }

  /**
   * Restores a state taken with {@link TorchGenerator.getState} (the options stay as they are).
   *
   * @throws {RangeError} when the state is malformed
   * @example
   * ```ts
   * import { TorchGenerator } from "./torch_generator.ts";
   * const a = new TorchGenerator(5);
   * const b = new TorchGenerator(6);
   * b.setState(a.getState());
   * a.rand([1]).data[0] === b.rand([1]).data[0]; // true
   * ```
   */
  setState(state: TorchGeneratorState): void {
    const where = "TorchGenerator.setState";
    if (typeof state !== "object" || state === null) {
      throw new RangeError(`${where}: state: got ${String(state)} (expected an object)`);
    }
    const cached = state.nextDoubleNormal;
    if (cached !== null && typeof cached !== "number") {
      throw new RangeError(
        `${where}: state.nextDoubleNormal: got ${typeof cached} (expected a number or null)`,
      );
    }
    const engine = new Mt19937(0n);
    engine.setState(state.engine);
    this.#engine = engine;
    this.#nextDoubleNormal = cached;
  }

  /** uniform_real_distribution<float>(0, 1): a 24-bit uniform from one 32-bit draw (exact). */
  #uniformFloat(): number {
    return (this.#engine.nextUint32() & 0xffffff) * TWO_POW_M24;
  }

  /** uniform_real_distribution<double>(0, 1): a 53-bit uniform from random64() (exact). */
  #uniformDouble(): number {
    const [hi, lo] = this.#engine.nextUint64();
    return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_M53;
  }

  /**
   * normal_distribution<double>::operator() (DistributionsHelper.h): Box–Muller in double,
   * r * sin(theta) cached for the next call. Math.log1p / sin / cos stand for glibc's; they
   * differ from it by at most an ulp of float64, which the rounding to float32 absorbs except
   * with probability around 2^-28 per sample.
   */
  #normalDouble(): number {
    if (this.#nextDoubleNormal !== null) {
      const cached = this.#nextDoubleNormal;
      this.#nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.#uniformDouble();
    const u2 = this.#uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = TWO_PI * u1;
    this.#nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** normal_fill (cpu/DistributionTemplates.h) for a float32 buffer of >= 16 elements. */
  #normalFill(data: Float32Array, mean: number, std: number): void {
    const size = data.length;
    for (let i = 0; i < size; i++) data[i] = this.#uniformFloat();
    const fill16 = this.cpuCapability === "default" ? fill16Scalar : fill16Avx2;
    for (let i = 0; i < size - 15; i += 16) fill16(data, i, mean, std);
    if (size % 16 !== 0) {
      // recompute the last 16 values from fresh uniforms
      const off = size - 16;
      for (let i = 0; i < 16; i++) data[off + i] = this.#uniformFloat();
      fill16(data, off, mean, std);
    }
  }
}

/**
 * NormalFill16<float> scalar (the primary template) calling glibc logf / sincosf / fmaf. The
 * glibc "fma" and "sse2" builds agree on every argument this kernel can pass (all 2^24
 * uniforms, checked against glibc 2.36), so one port serves both.
 */
function fill16Scalar(data: Float32Array, off: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = fround(1 - data[off + j]);
    const u2 = data[off + j + 8];
    const radius = fround(Math.sqrt(fround(-2 * glibcLogf(u1, "fma"))));
    const theta = fround(TWO_PI * u2); // float(double 2 pi * u2)
    const [s, c] = glibcSincosf(theta, "fma");
    data[off + j] = fmaf(fround(radius * c), std, mean);
    data[off + j + 8] = fmaf(fround(radius * s), std, mean);
  }
}

/** NormalFill16<float, true> (the CPU_CAPABILITY_AVX2 specialization), lane by lane. */
function fill16Avx2(data: Float32Array, off: number, mean: number, std: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = fround(ONE_F - data[off + j]);
    const u2 = data[off + j + 8];
    const radius = fround(Math.sqrt(fround(-2 * avxLogf(u1))));
    const theta = fround(TWO_PI_F * u2);
    const [s, c] = avxSincosf(theta);
    data[off + j] = fmaf(fround(radius * c), std, mean);
    data[off + j + 8] = fmaf(fround(radius * s), std, mean);
  }
}
