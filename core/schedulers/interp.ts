/**
 * The host-side numerics of the sigma schedulers (LMSDiscrete, EulerDiscrete) and the LDM-style
 * samplers, reproduced as numpy 2.4 / torch 2.13 compute them on an x86-64 CPU: `np.interp`,
 * numpy's SIMD float32 `np.log`, diffusers' `_sigma_to_t` and `_convert_to_karras`, the sigma
 * table `((1 - a) / a) ** 0.5`, and `torch.linspace` in float64.
 *
 * numpy works in float64 here (Python floats, `np.interp`, Karras' powers) except where an array
 * is float32, which this module says at each function.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { fma } from "../numerics/f32.ts";
import { f32, fmaF32, noisePerBatchItem, npArange, npLinspace, roundHalfEven } from "./common.ts";

/**
 * `np.interp(x, xp, fp)` in float64 (numpy's `arr_interp`, numpy/_core/src/multiarray/
 * compiled_base.c): `fp[0]` left of `xp[0]`, `fp[last]` right of `xp[last]`, else
 * `slope * (x - xp[j]) + fp[j]` with `slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])` for the `j`
 * with `xp[j] <= x < xp[j+1]` (and `fp[j]` exactly when `x == xp[j]`). `xp` must be increasing.
 *
 * @example
 * ```ts
 * import { npInterp } from "./interp.ts";
 * npInterp([0.5, 2, 9], [0, 1, 2], [10, 20, 40]); // Float64Array [15, 40, 40]
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
 * import { npLogF32 } from "./interp.ts";
 * npLogF32(1); // 0
 * npLogF32(Math.fround(14.6146)); // 2.682021141052246 (Math.log gives 2.6820211...)
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
  let num = fmaF32(LOG_P[5], y, LOG_P[4]);
  num = fmaF32(num, y, LOG_P[3]);
  num = fmaF32(num, y, LOG_P[2]);
  num = fmaF32(num, y, LOG_P[1]);
  num = fmaF32(num, y, LOG_P[0]);
  let den = fmaF32(LOG_Q[5], y, LOG_Q[4]);
  den = fmaF32(den, y, LOG_Q[3]);
  den = fmaF32(den, y, LOG_Q[2]);
  den = fmaF32(den, y, LOG_Q[1]);
  den = fmaF32(den, y, LOG_Q[0]);
  return fmaF32(e, LOGE2_F32, f32(num / den));
}

/**
 * The sigma table of the discrete schedulers, `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`
 * in float32 torch arithmetic (ascending in training timestep), its sqrt from `math` (default
 * IEEE).
 *
 * @example
 * ```ts
 * import { sigmasFromAlphasCumprod } from "./interp.ts";
 * sigmasFromAlphasCumprod(new Float32Array([0.5, 0.2]))[1]; // 2
 * ```
 */
export function sigmasFromAlphasCumprod(
  alphasCumprod: Float32Array,
  math: Float32Math = ieeeMath,
): Float32Array {
  return alphasCumprod.map((a) => math.sqrt(f32(f32(1 - a) / a)));
}

/**
 * diffusers' `_sigma_to_t` (scheduling_euler_discrete.py, also LMSDiscrete's): the fractional
 * training timestep of `sigma` by linear interpolation in log-sigma. `logSigmas` is numpy's
 * float32 `np.log(sigmas)` ({@link npLogF32} of each); `sigma` is a float64. `log(sigma)` is a
 * float64 `np.log` (here `Math.log`: numpy's SVML may differ in the last bit on rare inputs),
 * `low - high` a float32 subtraction, the rest float64.
 *
 * @example
 * ```ts
 * import { sigmaToT } from "./interp.ts";
 * sigmaToT(2, new Float32Array([0, Math.fround(Math.log(4))])); // 0.4999999986... (log 4 is float32)
 * ```
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array): number {
  const n = logSigmas.length;
  if (n < 2) throw new RangeError(`sigmaToT: need at least 2 log-sigmas, got ${n}`);
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // low_idx = argmax(cumsum(dists >= 0)): the last index with log_sigma - log_sigmas[i] >= 0
  let lowIdx = 0;
  for (let i = 0; i < n; i++) if (logSigma - logSigmas[i] >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, n - 2);
  const highIdx = lowIdx + 1;
  const low = logSigmas[lowIdx];
  const high = logSigmas[highIdx];
  let w = (low - logSigma) / f32(low - high);
  w = Math.min(Math.max(w, 0), 1); // np.clip
  return (1 - w) * lowIdx + w * highIdx;
}

/**
 * diffusers' `_convert_to_karras` (k-diffusion's `get_sigmas_karras`, rho = 7) in float64:
 * `(max^(1/7) + ramp * (min^(1/7) - max^(1/7))) ** 7` over `ramp = np.linspace(0, 1, n)`.
 * Powers are `Math.pow` (numpy's SVML `pow` may differ in the last float64 bit on rare inputs).
 *
 * @example
 * ```ts
 * import { karrasSigmas } from "./interp.ts";
 * karrasSigmas(0.03, 14.6, 3); // Float64Array [14.599999999999993, 1.2837038631875841, 0.030000000000000016]
 * ```
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  const rho = 7.0;
  const ramp = npLinspace(0, 1, n);
  const minInvRho = sigmaMin ** (1 / rho);
  const maxInvRho = sigmaMax ** (1 / rho);
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho);
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float64)` on CPU, as torch 2.13's
 * `linspace_kernel` (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp, AVX2/AVX-512 builds):
 * `step = (end - start) / (steps - 1)`, the first half `start + step * i`, the second half
 * `end - step * (steps - 1 - i)`, each one fused multiply-add. LDM's `make_beta_schedule` and
 * labml's `LatentDiffusion` build their betas with it.
 *
 * @example
 * ```ts
 * import { torchLinspaceF64 } from "./interp.ts";
 * torchLinspaceF64(0, 1, 5); // Float64Array [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function torchLinspaceF64(start: number, end: number, steps: number): Float64Array {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`torchLinspaceF64: steps must be a non-negative integer, got ${steps}`);
  }
  const out = new Float64Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fma(step, i, start) : fma(-step, steps - i - 1, end);
  }
  return out;
}

/**
 * The float32 timesteps of `LMSDiscreteScheduler.set_timesteps` and
 * `EulerDiscreteScheduler.set_timesteps` (descending): `"linspace"`:
 * `np.linspace(0, N - 1, n, dtype=float32)[::-1]`; `"leading"`:
 * `(arange(n) * (N // n)).round()[::-1]` as float32, plus `steps_offset`; `"trailing"`:
 * `np.arange(N, 0, -N / n).round()` as float32, minus 1.
 *
 * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
 * @example
 * ```ts
 * import { sigmaSchedulerTimesteps } from "./interp.ts";
 * sigmaSchedulerTimesteps(1000, 4, "linspace", 0); // [999, 666, 333, 0]
 * sigmaSchedulerTimesteps(1000, 4, "leading", 1); // [751, 501, 251, 1]
 * sigmaSchedulerTimesteps(1000, 3, "trailing", 0); // [999, 666, 332]
 * ```
 */
export function sigmaSchedulerTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: "linspace" | "leading" | "trailing",
  stepsOffset: number,
): number[] {
  if (!Number.isSafeInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new RangeError(
      `set_timesteps: num_inference_steps must be a positive integer, got ${numInferenceSteps}`,
    );
  }
  const n = numInferenceSteps;
  if (spacing === "linspace") {
    return Array.from(npLinspace(0, numTrainTimesteps - 1, n), f32).reverse();
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrainTimesteps / n);
    const out: number[] = [];
    for (let i = n - 1; i >= 0; i--) out.push(f32(f32(i * ratio) + stepsOffset));
    return out;
  }
  const ratio = numTrainTimesteps / n;
  return Array.from(npArange(numTrainTimesteps, 0, -ratio), (v) => f32(f32(roundHalfEven(v)) - 1));
}

/**
 * diffusers' `init_noise_sigma` property of the sigma schedulers: `sigmas.max()` for
 * `"linspace"` and `"trailing"` spacing, else `(max ** 2 + 1) ** 0.5`, in float32 (sqrt from
 * `math`, default IEEE).
 *
 * @example
 * ```ts
 * import { initNoiseSigmaOf } from "./interp.ts";
 * initNoiseSigmaOf(new Float32Array([3, 4, 0]), "linspace"); // 4
 * initNoiseSigmaOf(new Float32Array([3, 4, 0]), "leading"); // 4.123105525970459
 * ```
 */
export function initNoiseSigmaOf(
  sigmas: Float32Array,
  spacing: string,
  math: Float32Math = ieeeMath,
): number {
  let max = -Infinity;
  for (const s of sigmas) if (s > max || Number.isNaN(s)) max = s;
  if (spacing === "linspace" || spacing === "trailing") return max;
  return math.sqrt(f32(f32(max * max) + 1));
}

/**
 * diffusers' `index_for_timestep` of the sigma schedulers: the position of `t` (compared as
 * float32) in `timesteps`, taking the second match when there are several (so that a run that
 * starts mid-schedule does not skip a sigma).
 *
 * @throws {RangeError} when `t` is not one of `timesteps`.
 * @example
 * ```ts
 * import { indexForTimestep } from "./interp.ts";
 * indexForTimestep([999, 500, 500, 0], 500, "demo"); // 2
 * ```
 */
export function indexForTimestep(timesteps: readonly number[], t: number, who: string): number {
  const key = f32(t);
  const indices: number[] = [];
  for (let i = 0; i < timesteps.length; i++) if (timesteps[i] === key) indices.push(i);
  if (indices.length === 0) {
    throw new RangeError(
      `${who}: timestep ${t} is not in the schedule (expected one of scheduler.timesteps; ` +
        `call setTimesteps first, or pass the timesteps it gives)`,
    );
  }
  return indices[indices.length > 1 ? 1 : 0];
}

/**
 * The sigma-spacing options of LMSDiscrete and EulerDiscrete.
 *
 * @example
 * ```ts
 * import type { SigmaSpacingOptions } from "./interp.ts";
 * const o: SigmaSpacingOptions = { useKarrasSigmas: true, useExponentialSigmas: false, useBetaSigmas: false };
 * ```
 */
export interface SigmaSpacingOptions {
  readonly useKarrasSigmas: boolean;
  readonly useExponentialSigmas: boolean;
  readonly useBetaSigmas: boolean;
}

/**
 * The checks diffusers' `__init__` makes on the sigma-spacing options: at most one of them.
 * Beta sigmas (arXiv 2407.12173, `scipy.stats.beta.ppf`) are not reproduced here.
 *
 * @throws {RangeError} naming `source` when more than one option is set, or `useBetaSigmas`.
 * @example
 * ```ts
 * import { checkSigmaSpacing } from "./interp.ts";
 * checkSigmaSpacing({ useKarrasSigmas: true, useExponentialSigmas: false, useBetaSigmas: false }, "x");
 * ```
 */
export function checkSigmaSpacing(options: SigmaSpacingOptions, source: string): void {
  const chosen = [options.useBetaSigmas, options.useExponentialSigmas, options.useKarrasSigmas]
    .filter((b) => b).length;
  if (chosen > 1) {
    throw new RangeError(
      `${source}: only one of "use_beta_sigmas", "use_exponential_sigmas", "use_karras_sigmas" ` +
        `can be true`,
    );
  }
  if (options.useBetaSigmas) {
    throw new RangeError(
      `${source}: "use_beta_sigmas": not supported (diffusers computes it with ` +
        `scipy.stats.beta.ppf); expected false`,
    );
  }
}

/**
 * diffusers' `_convert_to_exponential` (k-diffusion's `get_sigmas_exponential`):
 * `np.exp(np.linspace(log(sigma_max), log(sigma_min), n))` in float64 (`Math.exp`/`Math.log`;
 * numpy's SVML `exp` may differ in the last float64 bit on rare inputs).
 *
 * @example
 * ```ts
 * import { exponentialSigmas } from "./interp.ts";
 * exponentialSigmas(0.1, 10, 3); // Float64Array [10.000000000000002, 1, 0.10000000000000002]
 * ```
 */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}

/**
 * What {@link addNoiseBySigma} reads of a sigma scheduler (EulerDiscrete and LMSDiscrete have it).
 *
 * @example
 * ```ts
 * import type { SigmaSchedulerState } from "./interp.ts";
 * const s: SigmaSchedulerState = { sigmas: new Float32Array([1, 0]), timesteps: [999], stepIndex: null, beginIndex: null };
 * ```
 */
export interface SigmaSchedulerState {
  /** float32 sigmas of the schedule. */
  readonly sigmas: Float32Array;
  /** The schedule's timesteps (float32 values). */
  readonly timesteps: readonly number[];
  /** Index of the next step, `null` before the first one. */
  readonly stepIndex: number | null;
  /** Set by `setBeginIndex`, else `null`. */
  readonly beginIndex: number | null;
}

/**
 * diffusers' `add_noise` of EulerDiscrete / LMSDiscrete: `original + noise * sigma` in float32,
 * the sigma of each batch item found by timestep (no begin index), else at the current step
 * index, else at the begin index.
 *
 * @throws {RangeError} on shape mismatches, a timestep count that is neither 1 nor the batch
 * size, or a timestep not in the schedule.
 * @example
 * ```ts
 * import { addNoiseBySigma } from "./interp.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const state = { sigmas: new Float32Array([2, 0]), timesteps: [999], stepIndex: null, beginIndex: null };
 * addNoiseBySigma(state, Tensor.zeros([1, 2]), new Tensor(new Float32Array([1, -1]), [1, 2]), 999).data;
 * // Float32Array [2, -2]
 * ```
 */
export function addNoiseBySigma(
  scheduler: SigmaSchedulerState,
  original: Tensor,
  noise: Tensor,
  t: number | readonly number[],
): Tensor {
  const { sigmas, timesteps } = scheduler;
  const indexOf = (time: number): number => {
    if (scheduler.beginIndex === null) return indexForTimestep(timesteps, time, "add_noise");
    return scheduler.stepIndex ?? scheduler.beginIndex;
  };
  return noisePerBatchItem(original, noise, t, (time) => {
    const sigma = sigmas[indexOf(time)];
    return (x0, n) => x0 + f32(n * sigma);
  });
}
