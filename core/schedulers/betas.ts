/**
 * The noise schedule of the discrete-time schedulers, float32 as diffusers 0.42.1 computes it on
 * torch 2.13 CPU: beta schedules (`linear`, `scaled_linear`, `squaredcos_cap_v2`, trained betas),
 * `betas_for_alpha_bar`, `rescale_zero_terminal_snr`, `alphas = 1 - betas` and their cumulative
 * product, and the bounds-checked `alphas_cumprod[t]`.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { cumprodF32, torchLinspaceF32 } from "../numerics/torch.ts";
import type { BetaSchedule, SchedulerConfig } from "./config.ts";

/**
 * The alpha-bar transforms of diffusers' `betas_for_alpha_bar`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type AlphaTransform, betasForAlphaBar } from "./betas.ts";
 * const transform: AlphaTransform = "exp";
 * assert.equal(betasForAlphaBar(10, 0.999, transform).length, 10);
 * ```
 */
export type AlphaTransform = "cosine" | "exp" | "laplace";

/**
 * diffusers' `betas_for_alpha_bar` (scheduling_ddpm.py): betas discretizing
 * `alpha_bar(t)`, computed in Python floats (double) and converted to float32 at the end.
 * `"cosine"` is the `squaredcos_cap_v2` (GLIDE) schedule.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { betasForAlphaBar } from "./betas.ts";
 * assert.equal(betasForAlphaBar(1000)[999], 0.9990000128746033);
 * ```
 */
export function betasForAlphaBar(
  numDiffusionTimesteps: number,
  maxBeta = 0.999,
  alphaTransformType: AlphaTransform = "cosine",
): Float32Array {
  let alphaBar: (t: number) => number;
  if (alphaTransformType === "cosine") {
    alphaBar = (t) => {
      const c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
      return c * c; // Python's c ** 2: correctly rounded, as c * c
    };
  } else if (alphaTransformType === "laplace") {
    alphaBar = (t) => {
      const lmb = -0.5 * Math.sign(0.5 - t || 1) * Math.log(1 - 2 * Math.abs(0.5 - t) + 1e-6);
      const snr = Math.exp(lmb);
      return Math.sqrt(snr / (1 + snr));
    };
  } else {
    alphaBar = (t) => Math.exp(t * -12.0);
  }
  const betas = new Float32Array(numDiffusionTimesteps);
  for (let i = 0; i < numDiffusionTimesteps; i++) {
    const t1 = i / numDiffusionTimesteps;
    const t2 = (i + 1) / numDiffusionTimesteps;
    betas[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
  }
  return betas;
}

/**
 * diffusers' `rescale_zero_terminal_snr` (scheduling_ddim.py, Algorithm 1 of arXiv 2305.08891)
 * in float32: betas rescaled so that the last alphas_cumprod is exactly 0. `math` gives the
 * float32 sqrt (default IEEE).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rescaleZeroTerminalSnr } from "./betas.ts";
 * import { torchLinspaceF32 } from "../numerics/torch.ts";
 * const betas = rescaleZeroTerminalSnr(torchLinspaceF32(0.0001, 0.02, 1000));
 * assert.equal(betas[999], 1);
 * ```
 */
export function rescaleZeroTerminalSnr(
  betas: Float32Array,
  math: Float32Math = ieeeMath,
): Float32Array {
  const n = betas.length;
  const alphasCumprod = cumprodF32(alphasFromBetas(betas));
  const sqrtBar = alphasCumprod.map((a) => math.sqrt(a)); // alphas_cumprod.sqrt()
  const first = sqrtBar[0];
  const last = sqrtBar[n - 1];
  const scale = f32(first / f32(first - last)); // 0-d float32 tensors
  for (let i = 0; i < n; i++) sqrtBar[i] = f32(f32(sqrtBar[i] - last) * scale);
  const bar = sqrtBar.map((v) => v * v); // alphas_bar_sqrt ** 2
  const out = new Float32Array(n);
  out[0] = f32(1 - bar[0]);
  for (let i = 1; i < n; i++) out[i] = f32(1 - f32(bar[i] / bar[i - 1]));
  return out;
}

/**
 * `1.0 - betas` in float32 (diffusers' `self.alphas`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphasFromBetas } from "./betas.ts";
 * assert.equal(alphasFromBetas(new Float32Array([0.25]))[0], 0.75);
 * ```
 */
export function alphasFromBetas(betas: Float32Array): Float32Array {
  return betas.map((b) => 1 - b);
}

/**
 * The config options that determine the betas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type BetaConfig, makeBetas } from "./betas.ts";
 * const c: BetaConfig = { numTrainTimesteps: 10, betaStart: 0.1, betaEnd: 0.2, betaSchedule: "linear", trainedBetas: null };
 * assert.equal(makeBetas(c)[9], Math.fround(0.2));
 * ```
 */
export type BetaConfig =
  & Pick<SchedulerConfig, "numTrainTimesteps" | "betaStart" | "betaEnd" | "trainedBetas">
  & { betaSchedule: BetaSchedule; rescaleBetasZeroSnr?: boolean };

/**
 * The betas of a DDIM/DDPM-style `__init__`: `trained_betas` as float32 when given, else the
 * `beta_schedule` (`linear`: torch.linspace; `scaled_linear`: torch.linspace of the square roots,
 * squared; `squaredcos_cap_v2`: {@link betasForAlphaBar}), then zero-terminal-SNR rescaling when
 * `rescaleBetasZeroSnr` (its sqrt from `math`, default IEEE).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeBetas } from "./betas.ts";
 * const betas = makeBetas({
 *   numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012,
 *   betaSchedule: "scaled_linear", trainedBetas: null,
 * });
 * assert.equal(betas.length, 1000);
 * ```
 */
export function makeBetas(config: BetaConfig, math: Float32Math = ieeeMath): Float32Array {
  let betas: Float32Array;
  if (config.trainedBetas !== null) {
    betas = Float32Array.from(config.trainedBetas);
  } else if (config.betaSchedule === "linear") {
    betas = torchLinspaceF32(config.betaStart, config.betaEnd, config.numTrainTimesteps);
  } else if (config.betaSchedule === "scaled_linear") {
    // Python's beta ** 0.5 (glibc pow, correctly rounded) is Math.sqrt; tensor ** 2 is b * b.
    betas = torchLinspaceF32(
      Math.sqrt(config.betaStart),
      Math.sqrt(config.betaEnd),
      config.numTrainTimesteps,
    ).map((b) => b * b);
  } else if (config.betaSchedule === "squaredcos_cap_v2") {
    betas = betasForAlphaBar(config.numTrainTimesteps);
  } else {
    throw new RangeError(`beta_schedule ${JSON.stringify(config.betaSchedule)} is not supported`);
  }
  return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(betas, math) : betas;
}

/**
 * The noise schedule of a scheduler: `betas`, `alphas = 1 - betas` and
 * `alphasCumprod = cumprod(alphas)`, all float32 exactly as diffusers' tensors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noiseSchedule } from "./betas.ts";
 * const { alphasCumprod } = noiseSchedule({
 *   numTrainTimesteps: 1000, betaStart: 0.0001, betaEnd: 0.02,
 *   betaSchedule: "linear", trainedBetas: null,
 * });
 * assert.equal(alphasCumprod[0], 0.9998999834060669);
 * ```
 */
export function noiseSchedule(
  config: BetaConfig,
  math: Float32Math = ieeeMath,
): { betas: Float32Array; alphas: Float32Array; alphasCumprod: Float32Array } {
  const betas = makeBetas(config, math);
  const alphas = alphasFromBetas(betas);
  return { betas, alphas, alphasCumprod: cumprodF32(alphas) };
}

/**
 * `alphas_cumprod[t]` with the bounds check Python's indexing would do (no negative indexing:
 * callers handle `t < 0` as diffusers does).
 *
 * @throws {RangeError} naming `who` when `t` is not an integer index into `alphasCumprod`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { alphaAt } from "./betas.ts";
 * assert.equal(alphaAt(new Float32Array([0.9, 0.8]), 1, "DDIMScheduler.step"), 0.800000011920929);
 * ```
 */
export function alphaAt(alphasCumprod: Float32Array, t: number, who: string): number {
  if (!Number.isInteger(t) || t < 0 || t >= alphasCumprod.length) {
    throw new RangeError(
      `${who}: timestep ${t} is outside the ${alphasCumprod.length} training timesteps ` +
        `(expected an integer in [0, ${alphasCumprod.length - 1}])`,
    );
  }
  return alphasCumprod[t];
}
