/**
 * numpy 2.x as the schedulers see it on an x86-64 CPU: `np.linspace` and `np.arange` in
 * float64, `np.interp`, and the SIMD float32 `np.log` (AVX2+FMA3 / AVX-512F builds).
 *
 * @module
 */
import { f32, fmaf } from "./f32.ts";

/**
 * `np.linspace(start, stop, num)` in float64 (numpy 2.x `function_base.linspace`):
 * `arange(num) * step + start` with `step = (stop - start) / (num - 1)`, the last element set
 * to `stop`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { npLinspace } from "./numpy.ts";
 * assert.deepEqual(Array.from(npLinspace(0, 999, 4)), [0, 333, 666, 999]);
 * ```
 */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  if (!Number.isSafeInteger(num) || num < 0) {
    throw new RangeError(`npLinspace: num must be a non-negative integer, got ${num}`);
  }
  const out = new Float64Array(num);
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) {
      out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
    }
    out[num - 1] = stop;
  } else {
    for (let i = 0; i < num; i++) out[i] = i * delta + start;
  }
  return out;
}

/**
 * `np.arange(start, stop, step)` with float arguments, as numpy computes it: length
 * `ceil((stop - start) / step)`, then `start + i * delta` where `delta = (start + step) - start`
 * (numpy's `DOUBLE_fill`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { npArange } from "./numpy.ts";
 * // numpy: start + i * ((start + step) - start), not start + i * step
 * assert.deepEqual(Array.from(npArange(1000, 0, -1000 / 3)), [1000, 666.6666666666667, 333.3333333333335]);
 * ```
 */
export function npArange(start: number, stop: number, step: number): Float64Array {
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`npArange: step must be a finite non-zero number, got ${step}`);
  }
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const out = new Float64Array(len);
  if (len > 0) out[0] = start;
  if (len > 1) {
    const next = start + step;
    out[1] = next;
    const delta = next - start;
    for (let i = 2; i < len; i++) out[i] = start + i * delta;
  }
  return out;
}

/**
 * `np.interp(x, xp, fp)` in float64 (numpy's `arr_interp`, numpy/_core/src/multiarray/
 * compiled_base.c): `fp[0]` left of `xp[0]`, `fp[last]` right of `xp[last]`, else
 * `slope * (x - xp[j]) + fp[j]` with `slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])` for the `j`
 * with `xp[j] <= x < xp[j+1]` (and `fp[j]` exactly when `x == xp[j]`). `xp` must be increasing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { npInterp } from "./numpy.ts";
 * assert.deepEqual(Array.from(npInterp([0.5, 2, 9], [0, 1, 2], [10, 20, 40])), [15, 40, 40]);
 * ```
 */
export function npInterp(
  x: ArrayLike<number>,
  xp: ArrayLike<number>,
  fp: ArrayLike<number>,
): Float64Array {
  if (xp.length === 0 || xp.length !== fp.length) {
    throw new RangeError(
      `npInterp: xp and fp must be non-empty and of equal length, got ${xp.length} and ${fp.length}`,
    );
  }
  const n = xp.length;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) {
      out[i] = v;
    } else if (v < xp[0]) {
      out[i] = fp[0];
    } else if (v >= xp[n - 1]) {
      out[i] = fp[n - 1]; // numpy: right value above, fp[last] at xp[last]
    } else {
      let lo = 0; // largest j with xp[j] <= v
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (xp[mid] <= v) lo = mid;
        else hi = mid;
      }
      if (xp[lo] === v) {
        out[i] = fp[lo];
      } else {
        const slope = (fp[lo + 1] - fp[lo]) / (xp[lo + 1] - xp[lo]);
        let r = slope * (v - xp[lo]) + fp[lo];
        if (Number.isNaN(r)) {
          r = slope * (v - xp[lo + 1]) + fp[lo + 1];
          if (Number.isNaN(r) && fp[lo] === fp[lo + 1]) r = fp[lo];
        }
        out[i] = r;
      }
    }
  }
  return out;
}

// numpy's float32 log constants (numpy/_core/include/numpy/npy_math.h, NPY_COEFF_*_LOGf).
const LOG_P = [
  0.0,
  9.999999999999998702752e-01,
  2.112677543073053063722e+00,
  1.480000633576506585156e+00,
  3.808837741388407920751e-01,
  2.589979117907922693523e-02,
].map(f32);
const LOG_Q = [
  1.0,
  2.612677543073109236779e+00,
  2.453006071784736363091e+00,
  9.864942958519418960339e-01,
  1.546476374983906719538e-01,
  5.875095403124574342950e-03,
].map(f32);
const SQRT1_2_F32 = f32(0.707106781186547524400844362104849039);
const LOGE2_F32 = f32(0.693147180559945309417232121458176568);

/**
 * `np.log` of a float32 value as numpy 2.x computes it on x86-64 CPUs with AVX2+FMA3 or AVX-512F
 * (`simd_log_FLOAT`, numpy/_core/src/umath/loops_exponent_log.dispatch.c.src): mantissa in
 * [sqrt(1/2), sqrt(2)), a 5/5 rational approximation of log(1 + y) evaluated with fused
 * multiply-adds, plus exponent * ln 2. Up to 3.83 ulp from the true logarithm, so it differs
 * from `Math.fround(Math.log(x))` on a few percent of inputs; diffusers takes `np.log` of the
 * float32 sigma table (`log_sigmas`). Zero, negative, infinite and NaN inputs follow numpy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { npLogF32 } from "./numpy.ts";
 * assert.equal(npLogF32(1), 0);
 * assert.equal(npLogF32(Math.fround(14.6146)), 2.682021141052246);
 * ```
 */
export function npLogF32(x: number): number {
  const v = f32(x);
  if (Number.isNaN(v)) return NaN;
  if (v < 0) return NaN;
  if (v === 0) return -Infinity;
  if (v === Infinity) return Infinity;
  // frexp: v = m * 2^e with m in [0.5, 1) (exact, also for subnormals)
  let e = Math.floor(Math.log2(v)) + 1;
  let m = v / 2 ** e;
  if (m >= 1) {
    m /= 2;
    e += 1;
  } else if (m < 0.5) {
    m *= 2;
    e -= 1;
  }
  if (m <= SQRT1_2_F32) {
    m = m + m;
    e = e - 1;
  }
  const y = f32(m - 1);
  let num = fmaf(LOG_P[5], y, LOG_P[4]);
  num = fmaf(num, y, LOG_P[3]);
  num = fmaf(num, y, LOG_P[2]);
  num = fmaf(num, y, LOG_P[1]);
  num = fmaf(num, y, LOG_P[0]);
  let den = fmaf(LOG_Q[5], y, LOG_Q[4]);
  den = fmaf(den, y, LOG_Q[3]);
  den = fmaf(den, y, LOG_Q[2]);
  den = fmaf(den, y, LOG_Q[1]);
  den = fmaf(den, y, LOG_Q[0]);
  return fmaf(e, LOGE2_F32, f32(num / den));
}
