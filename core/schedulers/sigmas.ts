/**
 * The sigma tables of the sigma schedulers (LMSDiscrete, EulerDiscrete) and what diffusers
 * derives from them: sigmas from `alphas_cumprod`, `_sigma_to_t`, Karras and exponential
 * respacing ({@link respaceSigmas}), `init_noise_sigma`, and the checks on the sigma-spacing
 * options.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { npLinspace, npLogF32 } from "../numerics/numpy.ts";

/**
 * The sigma table of the discrete schedulers, `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`
 * in float32 torch arithmetic (ascending in training timestep), its sqrt from `math` (default
 * IEEE).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sigmasFromAlphasCumprod } from "./sigmas.ts";
 * assert.equal(sigmasFromAlphasCumprod(new Float32Array([0.5, 0.2]))[1], 2);
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
 * import assert from "node:assert/strict";
 * import { sigmaToT } from "./sigmas.ts";
 * // halfway in log-sigma, off by float32 rounding of log(4)
 * assert.equal(sigmaToT(2, new Float32Array([0, Math.fround(Math.log(4))])), 0.49999999862608235);
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
 * import assert from "node:assert/strict";
 * import { karrasSigmas } from "./sigmas.ts";
 * assert.deepEqual(Array.from(karrasSigmas(0.03, 14.6, 3)), [14.599999999999993, 1.2837038631875841, 0.030000000000000016]);
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
 * diffusers' `_convert_to_exponential` (k-diffusion's `get_sigmas_exponential`):
 * `np.exp(np.linspace(log(sigma_max), log(sigma_min), n))` in float64 (`Math.exp`/`Math.log`;
 * numpy's SVML `exp` may differ in the last float64 bit on rare inputs).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exponentialSigmas } from "./sigmas.ts";
 * assert.deepEqual(Array.from(exponentialSigmas(0.1, 10, 3)), [10.000000000000002, 1, 0.10000000000000002]);
 * ```
 */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, n: number): Float64Array {
  return npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp);
}

/**
 * diffusers' `init_noise_sigma` property of the sigma schedulers: `sigmas.max()` for
 * `"linspace"` and `"trailing"` spacing, else `(max ** 2 + 1) ** 0.5`, in float32 (sqrt from
 * `math`, default IEEE).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { initNoiseSigmaOf } from "./sigmas.ts";
 * assert.equal(initNoiseSigmaOf(new Float32Array([3, 4, 0]), "linspace"), 4);
 * assert.equal(initNoiseSigmaOf(new Float32Array([3, 4, 0]), "leading"), 4.123105525970459);
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
 * The sigma-spacing options of LMSDiscrete and EulerDiscrete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SigmaSpacingOptions } from "./sigmas.ts";
 * const o: SigmaSpacingOptions = { useKarrasSigmas: true, useExponentialSigmas: false, useBetaSigmas: false };
 * assert.equal(o.useKarrasSigmas, true);
 * ```
 */
export interface SigmaSpacingOptions {
  /** Karras et al.'s sigmas (`use_karras_sigmas`). */
  readonly useKarrasSigmas: boolean;
  /** Exponentially spaced sigmas (`use_exponential_sigmas`). */
  readonly useExponentialSigmas: boolean;
  /** Beta-distributed sigmas (`use_beta_sigmas`; not reproduced, an error). */
  readonly useBetaSigmas: boolean;
}

/**
 * The checks diffusers' `__init__` makes on the sigma-spacing options: at most one of them.
 * Beta sigmas (arXiv 2407.12173, `scipy.stats.beta.ppf`) are not reproduced here.
 *
 * @throws {RangeError} naming `source` when more than one option is set, or `useBetaSigmas`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSigmaSpacing } from "./sigmas.ts";
 * checkSigmaSpacing({ useKarrasSigmas: true, useExponentialSigmas: false, useBetaSigmas: false }, "x");
 * assert.throws(() => checkSigmaSpacing({ useKarrasSigmas: true, useExponentialSigmas: true, useBetaSigmas: false }, "x"), /x: only one of/);
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
 * The sigma-respacing options of `set_timesteps` (diffusers' `use_karras_sigmas` /
 * `use_exponential_sigmas`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SigmaRespacing } from "./sigmas.ts";
 * const r: SigmaRespacing = { useKarrasSigmas: true, useExponentialSigmas: false };
 * assert.equal(r.useKarrasSigmas, true);
 * ```
 */
export interface SigmaRespacing {
  /** Karras et al.'s sigmas ({@link karrasSigmas}). */
  readonly useKarrasSigmas: boolean;
  /** Exponentially spaced sigmas ({@link exponentialSigmas}). */
  readonly useExponentialSigmas: boolean;
}

/**
 * `use_karras_sigmas` / `use_exponential_sigmas` in diffusers' `set_timesteps`
 * (scheduling_euler_discrete.py): `n` sigmas from `sigmaMax` down to `sigmaMin`
 * (`_convert_to_karras` / `_convert_to_exponential`) and their timesteps, `_sigma_to_t` over
 * numpy's float32 log of the training sigma `table`, as float32; `sigmas` and `timesteps`
 * unchanged when neither option is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { respaceSigmas } from "./sigmas.ts";
 * const table = new Float32Array([0.1, 1, 10]);
 * const plain = respaceSigmas({ useKarrasSigmas: false, useExponentialSigmas: false },
 *   [10, 0.1], [2, 0], table);
 * assert.deepEqual(plain, { sigmas: [10, 0.1], timesteps: [2, 0] });
 * const exp = respaceSigmas({ useKarrasSigmas: false, useExponentialSigmas: true },
 *   [10, 1, 0.1], [2, 1, 0], table);
 * assert.deepEqual(exp.timesteps.map(Math.round), [2, 1, 0]); // 1.39e-8, not 0, at the end
 * ```
 */
export function respaceSigmas(
  options: SigmaRespacing,
  sigmas: ArrayLike<number>,
  timesteps: number[],
  table: Float32Array,
  sigmaMin: number = sigmas[sigmas.length - 1],
  sigmaMax: number = sigmas[0],
): { sigmas: ArrayLike<number>; timesteps: number[] } {
  if (!options.useKarrasSigmas && !options.useExponentialSigmas) return { sigmas, timesteps };
  const n = timesteps.length;
  const respaced = options.useKarrasSigmas
    ? karrasSigmas(sigmaMin, sigmaMax, n)
    : exponentialSigmas(sigmaMin, sigmaMax, n);
  const logSigmas = table.map(npLogF32);
  return {
    sigmas: respaced,
    timesteps: Array.from(respaced, (s) => f32(sigmaToT(s, logSigmas))),
  };
}
