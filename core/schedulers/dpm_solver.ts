/**
 * The DPM-Solver arithmetic the DPM family (DPMSolverMultistep, DPMSolverSinglestep, DEIS, UniPC)
 * shares, each function mirroring the diffusers code named in its comment in float32 operation
 * order: the config aliases, log-SNR, `lambda_min_clipped`, timestep spacing, the sigma schedule,
 * the model-output conversion and the first- and second-order updates.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { npArange, npInterp, npLinspace, npLogF32 } from "../numerics/numpy.ts";
import { Tensor } from "../tensor/tensor.ts";
import { dpmAlphaSigma } from "./dpm_family.ts";
import { thresholdSample } from "./prediction.ts";
import { exponentialSigmas, karrasSigmas, sigmasFromAlphasCumprod, sigmaToT } from "./sigmas.ts";

import type { DPMAlgorithmType, DPMSolverMultistepConfig, DPMSolverType } from "./dpm_multistep.ts";

/**
 * What the DPM-Solver schedulers' `__init__` rewrites (`register_to_config`): `algorithm_type`
 * `deis` is `dpmsolver++`, the UniPC solver types `logrho` / `bh1` / `bh2` are `midpoint`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmConfigAliases } from "./dpm_solver.ts";
 * const c = dpmConfigAliases({ algorithmType: "deis" as "dpmsolver++", solverOrder: 3 });
 * assert.deepEqual(c, { algorithmType: "dpmsolver++", solverOrder: 3 });
 * ```
 */
export function dpmConfigAliases<
  C extends { algorithmType?: string; solverType?: DPMSolverType },
>(config: C): C {
  const out = { ...config };
  if ((out.algorithmType as string) === "deis") out.algorithmType = "dpmsolver++";
  if (["logrho", "bh1", "bh2"].includes(out.solverType as string)) out.solverType = "midpoint";
  return out;
}

/**
 * The log-SNR of a sigma as the DPM-Solver updates compute it, `torch.log(alpha_t) -
 * torch.log(sigma_t)` (float32), with its `alpha_t` and `sigma_t` ({@link dpmAlphaSigma}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmLambda } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * assert.equal(dpmLambda(1, ieeeMath).lambda, 0); // alpha_t = sigma_t
 * ```
 */
export function dpmLambda(
  sigma: number,
  math: Float32Math,
): { alpha: number; sigma: number; lambda: number } {
  const [a, s] = dpmAlphaSigma(sigma, math);
  return { alpha: a, sigma: s, lambda: f32(math.log(a) - math.log(s)) };
}

/**
 * `torch.searchsorted(torch.flip(lambda_t), lambda_min_clipped)` of the DPM-Solver schedulers'
 * `set_timesteps`: how many training timesteps have lambda(t) = log(alpha_t) - log(sigma_t)
 * (float32) below the clip; 0 for `-Infinity`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lambdaClippedIndex } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * const ac = new Float32Array([0.9, 0.5, 0.01]); // lambdas 1.1, 0, -2.3
 * assert.equal(lambdaClippedIndex(ac, -1, ieeeMath), 1);
 * assert.equal(lambdaClippedIndex(ac, -Infinity, ieeeMath), 0);
 * ```
 */
export function lambdaClippedIndex(
  alphasCumprod: Float32Array,
  clip: number,
  math: Float32Math,
): number {
  if (clip === -Infinity) return 0;
  let count = 0;
  for (const a of alphasCumprod) {
    const lambda = f32(math.log(math.sqrt(a)) - math.log(math.sqrt(f32(1 - a))));
    if (lambda < clip) count++;
  }
  return count;
}

/**
 * The timestep half of the DPM-Solver schedulers' `set_timesteps` (DPMSolverMultistep, DEIS):
 * the integer timesteps (descending) for a `timestep_spacing` over the first `last` training
 * timesteps (fewer than `numTrainTimesteps` under `lambda_min_clipped`): `"linspace"`
 * `np.linspace(0, last - 1, n + 1).round()[::-1][:-1]`, `"leading"`
 * `(np.arange(n + 1) * (last // (n + 1)))[::-1][:-1] + steps_offset`, `"trailing"`
 * `np.arange(last, 0, -N / n).round() - 1`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmTimesteps } from "./dpm_solver.ts";
 * assert.deepEqual(dpmTimesteps(1000, 1000, 4, "linspace", 0), [999, 749, 500, 250]);
 * assert.deepEqual(dpmTimesteps(1000, 1000, 4, "leading", 1), [801, 601, 401, 201]);
 * ```
 */
export function dpmTimesteps(
  numTrainTimesteps: number,
  last: number,
  n: number,
  spacing: "linspace" | "leading" | "trailing",
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") {
    return Array.from(npLinspace(0, last - 1, n + 1), roundHalfEven).reverse().slice(0, -1);
  }
  if (spacing === "leading") {
    const ratio = Math.floor(last / (n + 1));
    return Array.from({ length: n }, (_, i) => (n - i) * ratio + stepsOffset);
  }
  return Array.from(npArange(last, 0, -(numTrainTimesteps / n)), (v) => roundHalfEven(v) - 1);
}

/** The options of {@link dpmSigmaSchedule}: the DPM-Solver schedulers' sigma spacing. */
export interface DPMSigmaScheduleOptions {
  /** Karras sigmas (`use_karras_sigmas`). */
  useKarrasSigmas: boolean;
  /** Exponential sigmas (`use_exponential_sigmas`). */
  useExponentialSigmas: boolean;
  /** Uniform log-SNR sigmas (`use_lu_lambdas`, DPMSolverMultistep only). */
  useLuLambdas?: boolean;
  /** The sigma after the last step: 0, or the smallest training sigma. */
  finalSigmasType: "zero" | "sigma_min";
  /** Whether the Karras / Lu timesteps are rounded (`.round()`) before the int64 cast. */
  roundTimesteps: boolean;
}

/**
 * The sigma half of the DPM-Solver schedulers' `set_timesteps`: from the training sigmas and the
 * spaced integer `timesteps`, the sigmas (np.interp, or Karras / exponential / uniform log-SNR,
 * whose `_sigma_to_t` timesteps replace `timesteps`) and the final sigma, as float32.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmSigmaSchedule } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * const ac = new Float32Array(1000).map((_, i) => 1 - (i + 1) / 1001);
 * const s = dpmSigmaSchedule(ac, [999, 500], { useKarrasSigmas: false,
 *   useExponentialSigmas: false, finalSigmasType: "zero", roundTimesteps: true }, ieeeMath);
 * assert.deepEqual(s.timesteps, [999, 500]);
 * assert.equal(s.sigmas.length, 3);
 * assert.equal(s.sigmas[2], 0);
 * ```
 */
export function dpmSigmaSchedule(
  alphasCumprod: Float32Array,
  timesteps: number[],
  options: DPMSigmaScheduleOptions,
  math: Float32Math,
): { timesteps: number[]; sigmas: Float32Array } {
  const N = alphasCumprod.length;
  const n = timesteps.length;
  const table = sigmasFromAlphasCumprod(alphasCumprod, math); // float32, ascending
  const logSigmas = table.map(npLogF32);
  const round = options.roundTimesteps;
  const toT = (sigmas: Float64Array, rounded: boolean) =>
    Array.from(sigmas, (s) => {
      const t = sigmaToT(s, logSigmas);
      return Math.trunc(rounded ? roundHalfEven(t) : t); // .astype(int64)
    });
  let sigmas: ArrayLike<number>;
  if (options.useKarrasSigmas) {
    sigmas = karrasSigmas(table[0], table[N - 1], n);
    timesteps = toT(sigmas as Float64Array, round);
  } else if (options.useLuLambdas) {
    // _convert_to_lu over np.flip(log_sigmas) (rho 1: the float64 power is the identity)
    const lambdaMin = logSigmas[0];
    const lambdaMax = logSigmas[N - 1];
    const lambdas = npLinspace(0, 1, n).map((r) => lambdaMax + r * (lambdaMin - lambdaMax));
    sigmas = lambdas.map(Math.exp);
    timesteps = toT(sigmas as Float64Array, round);
  } else if (options.useExponentialSigmas) {
    sigmas = exponentialSigmas(table[0], table[N - 1], n);
    timesteps = toT(sigmas as Float64Array, false);
  } else {
    sigmas = npInterp(timesteps, Array.from(table, (_, i) => i), table);
  }
  const sigmaLast = options.finalSigmasType === "sigma_min"
    ? math.sqrt(f32(f32(1 - alphasCumprod[0]) / alphasCumprod[0]))
    : 0;
  const all = new Float32Array(sigmas.length + 1);
  all.set(Array.from(sigmas));
  all[sigmas.length] = sigmaLast;
  return { timesteps, sigmas: all };
}

/** The config fields {@link dpmConvertModelOutput} reads. */
export type DPMConvertOptions = Pick<
  DPMSolverMultistepConfig,
  | "algorithmType"
  | "predictionType"
  | "thresholding"
  | "dynamicThresholdingRatio"
  | "sampleMaxValue"
>;

/**
 * diffusers' `convert_model_output` of the DPM-Solver schedulers: the x0 prediction
 * (`dpmsolver++`, `sde-dpmsolver++`) or the noise prediction (`dpmsolver`, `sde-dpmsolver`) from
 * the model output `m` at sample `x` and the step's `sigma`, float32, with dynamic thresholding
 * of x0 when configured.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmConvertModelOutput } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * const o = { algorithmType: "dpmsolver++", predictionType: "sample", thresholding: false,
 *   dynamicThresholdingRatio: 0.995, sampleMaxValue: 1 } as const;
 * const m = new Float32Array([0.25]);
 * assert.deepEqual(dpmConvertModelOutput(m, new Float32Array([1]), [1], 2, o, ieeeMath), m);
 * ```
 */
export function dpmConvertModelOutput(
  m: Float32Array,
  x: Float32Array,
  shape: readonly number[],
  sigma: number,
  c: DPMConvertOptions,
  math: Float32Math,
): Float32Array {
  const p = c.predictionType;
  const [at, st] = dpmAlphaSigma(sigma, math);
  const threshold = (x0: Float32Array) =>
    thresholdSample(new Tensor(x0, [...shape]), c.dynamicThresholdingRatio, c.sampleMaxValue)
      .data;
  if (c.algorithmType === "dpmsolver++" || c.algorithmType === "sde-dpmsolver++") {
    let x0: Float32Array;
    if (p === "epsilon") x0 = x.map((v, i) => f32(v - f32(st * m[i])) / at);
    else if (p === "sample") x0 = m.slice();
    else x0 = x.map((v, i) => f32(at * v) - f32(st * m[i]));
    return c.thresholding ? threshold(x0) : x0;
  }
  let eps: Float32Array;
  if (p === "epsilon") eps = m.slice();
  else if (p === "sample") eps = x.map((v, i) => f32(v - f32(at * m[i])) / st);
  else eps = m.map((v, i) => f32(at * v) + f32(st * x[i]));
  if (!c.thresholding) return eps;
  const x0 = threshold(x.map((v, i) => f32(v - f32(st * eps[i])) / at));
  return x.map((v, i) => f32(v - f32(at * x0[i])) / st);
}

/**
 * diffusers' `dpm_solver_first_order_update` (the same in the multistep and singlestep
 * DPM-Solvers): one first-order step of sample `x` with converted model output `m` from
 * `sigmaS` to `sigmaT`, float32 in diffusers' order; the SDE types add `noise`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmFirstOrderUpdate } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * // DPM-Solver++ to sigma 0 lands on the x0 prediction
 * const x0 = new Float32Array([0.5]);
 * const out = dpmFirstOrderUpdate(x0, new Float32Array([3]), 0, 2, "dpmsolver++", null, ieeeMath);
 * assert.deepEqual(out, x0);
 * ```
 */
export function dpmFirstOrderUpdate(
  m: Float32Array,
  x: Float32Array,
  sigmaT: number,
  sigmaS: number,
  algorithmType: DPMAlgorithmType,
  noise: Float32Array | null,
  math: Float32Math,
): Float32Array {
  const t = dpmLambda(sigmaT, math);
  const s = dpmLambda(sigmaS, math);
  const h = f32(t.lambda - s.lambda);
  const exp = (v: number) => math.exp(v);
  switch (algorithmType) {
    case "dpmsolver++": {
      const a = f32(t.sigma / s.sigma);
      const b = f32(t.alpha * f32(exp(-h) - 1));
      return x.map((v, i) => f32(a * v) - f32(b * m[i]));
    }
    case "dpmsolver": {
      const a = f32(t.alpha / s.alpha);
      const b = f32(t.sigma * f32(exp(h) - 1));
      return x.map((v, i) => f32(a * v) - f32(b * m[i]));
    }
    case "sde-dpmsolver++": {
      const e2 = exp(f32(-2 * h));
      const a = f32(f32(t.sigma / s.sigma) * exp(-h));
      const b = f32(t.alpha * f32(1 - e2));
      const k = f32(t.sigma * math.sqrt(f32(1 - e2)));
      return x.map((v, i) => f32(f32(a * v) + f32(b * m[i])) + f32(k * noise![i]));
    }
    case "sde-dpmsolver": {
      const a = f32(t.alpha / s.alpha);
      const b = f32(2 * f32(t.sigma * f32(exp(h) - 1)));
      const k = f32(t.sigma * math.sqrt(f32(exp(f32(2 * h)) - 1)));
      return x.map((v, i) => f32(f32(a * v) - f32(b * m[i])) + f32(k * noise![i]));
    }
  }
}

/**
 * The second-order DPM-Solver update the multistep and singlestep schedulers share
 * (`multistep_dpm_solver_second_order_update` / `singlestep_dpm_solver_second_order_update`),
 * float32 in diffusers' order: from `x` at `base` (lambda, alpha, sigma) to `t` over
 * `h = lambda_t - lambda_base`, with `D0 = d0` and `D1 = (m0 - m1) / r0`, `r0 = h0 / h`; the
 * multistep solver steps from the newest output (`base` s0, `d0` m0, `h0 = lambda_s0 -
 * lambda_s1`), the singlestep one from the older (`base` s1, `d0` m1, same `h0`). `midpoint` or
 * `heun` solver type; the SDE types add `noise`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmFirstOrderUpdate, dpmLambda, dpmSecondOrderUpdate } from "./dpm_solver.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * // two equal outputs: D1 = 0 and the step is the first-order one
 * const m = new Float32Array([0.5]), x = new Float32Array([3]);
 * const [t, s0] = [dpmLambda(1, ieeeMath), dpmLambda(2, ieeeMath)];
 * const h = t.lambda - s0.lambda, h0 = s0.lambda - dpmLambda(4, ieeeMath).lambda;
 * const second = dpmSecondOrderUpdate(x, t, s0, h, h0, m, m, m, "dpmsolver++", false, null, ieeeMath);
 * assert.deepEqual(second, dpmFirstOrderUpdate(m, x, 1, 2, "dpmsolver++", null, ieeeMath));
 * ```
 */
export function dpmSecondOrderUpdate(
  x: Float32Array,
  t: { alpha: number; sigma: number },
  base: { alpha: number; sigma: number },
  h: number,
  h0: number,
  m0: Float32Array,
  m1: Float32Array,
  d0: Float32Array,
  algorithmType: DPMAlgorithmType,
  heun: boolean,
  noise: Float32Array | null,
  math: Float32Math,
): Float32Array {
  const r0 = f32(h0 / h);
  const inv = f32(1 / r0);
  const d1 = m0.map((v, i) => f32(inv * f32(v - m1[i])));
  const exp = (v: number) => math.exp(v);
  switch (algorithmType) {
    case "dpmsolver++": {
      const a = f32(t.sigma / base.sigma);
      const em1 = f32(exp(-h) - 1);
      const b = f32(t.alpha * em1);
      if (heun) {
        const g = f32(t.alpha * f32(f32(em1 / h) + 1));
        return x.map((v, i) => f32(f32(a * v) - f32(b * d0[i])) + f32(g * d1[i]));
      }
      const g = f32(0.5 * b);
      return x.map((v, i) => f32(f32(a * v) - f32(b * d0[i])) - f32(g * d1[i]));
    }
    case "dpmsolver": {
      const a = f32(t.alpha / base.alpha);
      const ep1 = f32(exp(h) - 1);
      const b = f32(t.sigma * ep1);
      const g = heun ? f32(t.sigma * f32(f32(ep1 / h) - 1)) : f32(0.5 * b);
      return x.map((v, i) => f32(f32(a * v) - f32(b * d0[i])) - f32(g * d1[i]));
    }
    case "sde-dpmsolver++": {
      const e2 = exp(f32(-2 * h));
      const a = f32(f32(t.sigma / base.sigma) * exp(-h));
      const om = f32(1 - e2);
      const b = f32(t.alpha * om);
      const g = heun ? f32(t.alpha * f32(f32(om / f32(-2 * h)) + 1)) : f32(0.5 * b);
      const k = f32(t.sigma * math.sqrt(om));
      return x.map((v, i) =>
        f32(f32(f32(a * v) + f32(b * d0[i])) + f32(g * d1[i])) + f32(k * noise![i])
      );
    }
    case "sde-dpmsolver": {
      const a = f32(t.alpha / base.alpha);
      const ep1 = f32(exp(h) - 1);
      const b = f32(2 * f32(t.sigma * ep1));
      const g = heun ? f32(2 * f32(t.sigma * f32(f32(ep1 / h) - 1))) : f32(t.sigma * ep1);
      const k = f32(t.sigma * math.sqrt(f32(exp(f32(2 * h)) - 1)));
      return x.map((v, i) =>
        f32(f32(f32(a * v) - f32(b * d0[i])) - f32(g * d1[i])) + f32(k * noise![i])
      );
    }
  }
}
