/**
 * What the discrete-time schedulers share, reproduced bit for bit from diffusers 0.42.1 and
 * torch 2.13 on CPU: float32 helpers (rounding, fused multiply-add), beta schedules, the
 * cumulative product of alphas, zero-terminal-SNR rescaling, numpy's `linspace`/`arange`/`round`
 * for timestep spacing, and the clip / dynamic-threshold steps applied to the predicted x0.
 *
 * Float32 emulation: every torch float32 operation is one `Math.fround` of the exact double
 * result (exact for + - * / and sqrt, since double holds the float32 result of each before
 * rounding); fused multiply-adds that torch's AVX2/AVX-512 kernels compile to are
 * {@link fmaF32}; Python floats and numpy float64 stay doubles.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { BetaSchedule, SchedulerConfig, TimestepSpacing } from "./config.ts";

/**
 * Rounds a double to the nearest float32 (ties to even): one float32 operation's rounding.
 *
 * @example
 * ```ts
 * import { f32 } from "./common.ts";
 * f32(0.1); // 0.10000000149011612
 * ```
 */
export const f32: (x: number) => number = Math.fround;

const F32_BOX = new Float32Array(1);
const I32_BOX = new Int32Array(F32_BOX.buffer);

/** The float32 next to float32 `x` in the direction of `toward` (x itself when equal). */
function nextFloat32Toward(x: number, toward: number): number {
  if (toward === x || Number.isNaN(toward)) return x;
  if (x === 0) return toward > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  F32_BOX[0] = x;
  I32_BOX[0] += (toward > x) === (x > 0) ? 1 : -1;
  return F32_BOX[0];
}

/**
 * The float32 fused multiply-add `round32(a * b + c)` with a single rounding, as the FMA
 * instructions that gcc contracts `c + a * b` into in torch's AVX2/AVX-512 CPU kernels.
 * Inputs must be float32 values. The product is exact in double; the double sum's rounding
 * error is recovered (TwoSum) to settle the one case where double rounding could differ.
 *
 * @example
 * ```ts
 * import { f32, fmaF32 } from "./common.ts";
 * const a = f32(1 + 2 ** -12); // a * a = 1 + 2^-11 + 2^-24 exactly
 * fmaF32(a, a, -f32(1 + 2 ** -11)); // 5.960464477539063e-8 (2^-24); rounding a * a first gives 0
 * ```
 */
export function fmaF32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const r = Math.fround(s);
  if (r === s || !Number.isFinite(s) || !Number.isFinite(r)) return r;
  // TwoSum: s + err === p + c exactly.
  const bv = s - p;
  const err = (p - (s - bv)) + (c - bv);
  if (err === 0) return r;
  const other = nextFloat32Toward(r, s);
  if (s - r !== other - s) return r; // s is not a float32 midpoint: r is right
  // s sits exactly on a midpoint: the exact value lies on err's side of it.
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

/**
 * torch's `clamp(x, lo, hi)` on float32: NaN stays NaN, and `hi` wins when `lo > hi`.
 *
 * @example
 * ```ts
 * import { clampF32 } from "./common.ts";
 * clampF32(3, -1, 1); // 1
 * ```
 */
export function clampF32(x: number, lo: number, hi: number): number {
  if (Number.isNaN(x) || Number.isNaN(lo) || Number.isNaN(hi)) return NaN;
  return Math.min(Math.max(x, lo), hi);
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU, bit-exact with torch 2.13's
 * `linspace_kernel` (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp) as built for AVX2 and
 * AVX-512: `step = (end - start) / (steps - 1)` in float32, the first half `start + step * i`
 * and the second half `end - step * (steps - 1 - i)`, each a fused multiply-add. (torch's
 * non-vectorized `ATEN_CPU_CAPABILITY=default` build rounds the product separately.)
 * `start` and `end` are Python floats, converted to float32 first.
 *
 * @example
 * ```ts
 * import { torchLinspaceF32 } from "./common.ts";
 * torchLinspaceF32(0.0001, 0.02, 1000)[999]; // 0.019999999552965164 (= f32(0.02))
 * ```
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  if (!Number.isSafeInteger(steps) || steps < 0) {
    throw new RangeError(`torchLinspaceF32: steps must be a non-negative integer, got ${steps}`);
  }
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? fmaF32(step, i, s) : fmaF32(-step, steps - i - 1, e);
  }
  return out;
}

/** The alpha-bar transforms of diffusers' `betas_for_alpha_bar`. */
export type AlphaTransform = "cosine" | "exp" | "laplace";

/**
 * diffusers' `betas_for_alpha_bar` (scheduling_ddpm.py): betas discretizing
 * `alpha_bar(t)`, computed in Python floats (double) and converted to float32 at the end.
 * `"cosine"` is the `squaredcos_cap_v2` (GLIDE) schedule.
 *
 * @example
 * ```ts
 * import { betasForAlphaBar } from "./common.ts";
 * betasForAlphaBar(1000)[999]; // 0.9990000128746033 (capped at max_beta)
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
 * import { rescaleZeroTerminalSnr, torchLinspaceF32 } from "./common.ts";
 * const betas = rescaleZeroTerminalSnr(torchLinspaceF32(0.0001, 0.02, 1000));
 * betas[999]; // 1
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
 * import { alphasFromBetas } from "./common.ts";
 * alphasFromBetas(new Float32Array([0.25]))[0]; // 0.75
 * ```
 */
export function alphasFromBetas(betas: Float32Array): Float32Array {
  return betas.map((b) => 1 - b);
}

/**
 * `torch.cumprod(x, dim=0)` of a float32 tensor on CPU: the running product is kept in double
 * (torch's `acc_type<float>` on CPU) and each prefix is rounded to float32.
 *
 * @example
 * ```ts
 * import { cumprodF32 } from "./common.ts";
 * cumprodF32(new Float32Array([0.5, 0.5, 2])); // Float32Array [0.5, 0.25, 0.5]
 * ```
 */
export function cumprodF32(values: Float32Array): Float32Array {
  const out = new Float32Array(values.length);
  let acc = 1;
  for (let i = 0; i < values.length; i++) {
    acc *= values[i];
    out[i] = acc;
  }
  return out;
}

/** The config options that determine the betas. */
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
 * import { makeBetas } from "./common.ts";
 * const betas = makeBetas({
 *   numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012,
 *   betaSchedule: "scaled_linear", trainedBetas: null,
 * });
 * betas.length; // 1000
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
 * import { noiseSchedule } from "./common.ts";
 * const { alphasCumprod } = noiseSchedule({
 *   numTrainTimesteps: 1000, betaStart: 0.0001, betaEnd: 0.02,
 *   betaSchedule: "linear", trainedBetas: null,
 * });
 * alphasCumprod[0]; // 0.9998999834060669
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
 * numpy's `round` (`np.round`, `ndarray.round`) and Python 3's `round`: to the nearest
 * integer, ties to even.
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./common.ts";
 * [roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(2.5), roundHalfEven(-0.5)]; // [0, 2, 2, -0]
 * ```
 */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // ties toward +infinity
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `np.linspace(start, stop, num)` in float64 (numpy 2.x `function_base.linspace`):
 * `arange(num) * step + start` with `step = (stop - start) / (num - 1)`, the last element set
 * to `stop`.
 *
 * @example
 * ```ts
 * import { npLinspace } from "./common.ts";
 * npLinspace(0, 999, 4); // Float64Array [0, 333, 666, 999]
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
 * import { npArange } from "./common.ts";
 * npArange(1000, 0, -1000 / 3); // Float64Array [1000, 666.66..., 333.33...]
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

/** The step-ratio part of a timestep-spacing problem, checked. */
function checkSteps(numTrainTimesteps: number, numInferenceSteps: number, who: string): void {
  if (!Number.isSafeInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new RangeError(
      `${who}: num_inference_steps must be a positive integer, got ${numInferenceSteps}`,
    );
  }
  if (numInferenceSteps > numTrainTimesteps) {
    throw new RangeError(
      `${who}: num_inference_steps (${numInferenceSteps}) cannot be larger than ` +
        `num_train_timesteps (${numTrainTimesteps})`,
    );
  }
}

/**
 * The `"leading"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `arange(n) * (N // n)` reversed, plus `steps_offset`.
 *
 * @example
 * ```ts
 * import { leadingTimesteps } from "./common.ts";
 * leadingTimesteps(1000, 4, 1); // [751, 501, 251, 1]
 * ```
 */
export function leadingTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset = 0,
): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "leading timesteps");
  const ratio = Math.floor(numTrainTimesteps / numInferenceSteps);
  const out: number[] = [];
  for (let i = numInferenceSteps - 1; i >= 0; i--) out.push(i * ratio + stepsOffset);
  return out;
}

/**
 * The `"trailing"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `round(np.arange(N, 0, -N / n)) - 1`.
 *
 * @example
 * ```ts
 * import { trailingTimesteps } from "./common.ts";
 * trailingTimesteps(1000, 3); // [999, 666, 332]
 * ```
 */
export function trailingTimesteps(numTrainTimesteps: number, numInferenceSteps: number): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "trailing timesteps");
  const ratio = numTrainTimesteps / numInferenceSteps;
  return Array.from(npArange(numTrainTimesteps, 0, -ratio), (v) => roundHalfEven(v) - 1);
}

/**
 * The `"linspace"` timesteps of DDIM/DDPM `set_timesteps`, descending:
 * `np.linspace(0, N - 1, n).round()` reversed.
 *
 * @example
 * ```ts
 * import { linspaceTimesteps } from "./common.ts";
 * linspaceTimesteps(1000, 3); // [999, 500, 0]
 * ```
 */
export function linspaceTimesteps(numTrainTimesteps: number, numInferenceSteps: number): number[] {
  checkSteps(numTrainTimesteps, numInferenceSteps, "linspace timesteps");
  return Array.from(npLinspace(0, numTrainTimesteps - 1, numInferenceSteps), roundHalfEven)
    .reverse();
}

/**
 * The timesteps of DDIM's and DDPM's `set_timesteps` (descending) for a `timestep_spacing`:
 * {@link linspaceTimesteps}, {@link leadingTimesteps} (with `steps_offset`) or
 * {@link trailingTimesteps}.
 *
 * @throws {RangeError} when `numInferenceSteps` is not a positive integer or exceeds
 * `numTrainTimesteps`.
 * @example
 * ```ts
 * import { spacedTimesteps } from "./common.ts";
 * spacedTimesteps(1000, 4, "leading", 1); // [751, 501, 251, 1]
 * ```
 */
export function spacedTimesteps(
  numTrainTimesteps: number,
  numInferenceSteps: number,
  spacing: TimestepSpacing,
  stepsOffset: number,
): number[] {
  if (spacing === "linspace") return linspaceTimesteps(numTrainTimesteps, numInferenceSteps);
  if (spacing === "leading") {
    return leadingTimesteps(numTrainTimesteps, numInferenceSteps, stepsOffset);
  }
  return trailingTimesteps(numTrainTimesteps, numInferenceSteps);
}

/**
 * torch's `clamp(-range, range)` of the predicted x0 (`clip_sample`), in float32.
 *
 * @example
 * ```ts
 * import { clipSample } from "./common.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * clipSample(new Tensor(new Float32Array([-3, 0.5, 2]), [3]), 1).data; // [-1, 0.5, 1]
 * ```
 */
export function clipSample(sample: Tensor, range: number): Tensor {
  const hi = f32(range);
  const lo = -hi;
  return new Tensor(sample.data.map((v) => clampF32(v, lo, hi)), sample.shape);
}

/**
 * `torch.quantile(values, q)` (linear interpolation) of float32 values, as torch 2.13 computes
 * it on CPU (Sorting.cpp `quantile_compute`): `q` becomes a float32 tensor,
 * `rank = q * (n - 1)` in float32, `weight = rank - floor(rank)`, and the two neighbours in
 * sorted order are joined with torch's `lerp` (fused multiply-add, from the end nearer the
 * weight). Any NaN gives NaN.
 *
 * @example
 * ```ts
 * import { torchQuantileF32 } from "./common.ts";
 * torchQuantileF32(new Float32Array([4, 1, 3, 2]), 0.5); // 2.5
 * ```
 */
export function torchQuantileF32(values: Float32Array, q: number): number {
  if (values.length === 0) throw new RangeError("torchQuantileF32: empty input");
  if (values.some(Number.isNaN)) return NaN;
  const sorted = values.slice().sort();
  const last = sorted.length - 1;
  const rank = f32(f32(q) * last);
  const below = Math.trunc(rank);
  const above = Math.ceil(rank);
  const weight = f32(rank - below);
  const lo = sorted[below];
  const hi = sorted[above];
  const diff = f32(hi - lo);
  // torch's lerp (Lerp.h): weight < 0.5 ? self + weight * (end - self)
  //                                      : end - (end - self) * (1 - weight)
  return Math.abs(weight) < 0.5 ? fmaF32(weight, diff, lo) : fmaF32(-diff, f32(1 - weight), hi);
}

/**
 * diffusers' `_threshold_sample` (dynamic thresholding, Imagen arXiv 2205.11487), float32:
 * per batch item, `s = clamp(quantile(|x0|, ratio), 1, sampleMaxValue)`, then
 * `clamp(x0, -s, s) / s`.
 *
 * @example
 * ```ts
 * import { thresholdSample } from "./common.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([0.5, -3, 2, 1]), [1, 4]);
 * thresholdSample(x0, 0.995, 2).data; // s = 2: [0.25, -1, 1, 0.5]
 * ```
 */
export function thresholdSample(sample: Tensor, ratio: number, sampleMaxValue: number): Tensor {
  if (sample.shape.length < 2) {
    throw new RangeError(
      `thresholdSample: expected a [batch, channels, ...] sample, got shape [${sample.shape}]`,
    );
  }
  const batch = sample.shape[0];
  const row = batch === 0 ? 0 : sample.size / batch;
  const out = new Float32Array(sample.size);
  const maxValue = f32(sampleMaxValue);
  for (let b = 0; b < batch; b++) {
    const x = sample.data.subarray(b * row, (b + 1) * row);
    const s = clampF32(torchQuantileF32(x.map(Math.abs), ratio), 1, maxValue);
    for (let i = 0; i < row; i++) out[b * row + i] = clampF32(x[i], -s, s) / s;
  }
  return new Tensor(out, sample.shape);
}

/**
 * The options of the predicted-x0 clipping of DDIM's and DDPM's `step`.
 *
 * @example
 * ```ts
 * import type { ClipConfig } from "./common.ts";
 * const c: ClipConfig = { thresholding: false, dynamicThresholdingRatio: 0.995,
 *   sampleMaxValue: 1, clipSample: true, clipSampleRange: 1 };
 * ```
 */
export type ClipConfig = Pick<
  SchedulerConfig,
  "thresholding" | "dynamicThresholdingRatio" | "sampleMaxValue" | "clipSample" | "clipSampleRange"
>;

/**
 * "Clip or threshold predicted x_0", a step of diffusers' `DDIMScheduler.step` and
 * `DDPMScheduler.step`: {@link thresholdSample} with `thresholding`, else {@link clipSample}
 * with `clip_sample`, else x0 itself.
 *
 * @example
 * ```ts
 * import { clipOrThreshold } from "./common.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([-3, 0.5, 2]), [3]);
 * clipOrThreshold(x0, { thresholding: false, dynamicThresholdingRatio: 0.995,
 *   sampleMaxValue: 1, clipSample: true, clipSampleRange: 1 }).data; // [-1, 0.5, 1]
 * ```
 */
export function clipOrThreshold(predOriginal: Tensor, config: ClipConfig): Tensor {
  if (config.thresholding) {
    return thresholdSample(predOriginal, config.dynamicThresholdingRatio, config.sampleMaxValue);
  }
  if (config.clipSample) return clipSample(predOriginal, config.clipSampleRange);
  return predOriginal;
}

/**
 * `alphas_cumprod[t]` with the bounds check Python's indexing would do (no negative indexing:
 * callers handle `t < 0` as diffusers does).
 *
 * @throws {RangeError} naming `who` when `t` is not an integer index into `alphasCumprod`.
 * @example
 * ```ts
 * import { alphaAt } from "./common.ts";
 * alphaAt(new Float32Array([0.9, 0.8]), 1, "DDIMScheduler.step"); // 0.800000011920929
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

/**
 * Throws unless `a` and `b` have the same shape.
 *
 * @throws {RangeError} naming `who` and both shapes.
 * @example
 * ```ts
 * import { assertSameShape } from "./common.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * assertSameShape(Tensor.zeros([2]), Tensor.zeros([2]), "model_output", "sample", "step");
 * ```
 */
export function assertSameShape(
  a: Tensor,
  b: Tensor,
  nameA: string,
  nameB: string,
  who: string,
): void {
  if (!a.sameShape(b)) {
    throw new RangeError(
      `${who}: ${nameA} has shape [${a.shape.join(", ")}] but ${nameB} has shape ` +
        `[${b.shape.join(", ")}] (expected equal shapes)`,
    );
  }
}

/**
 * The predicted x0 and noise of DDIM's step 3 (formula (12) of arXiv 2010.02502, as
 * diffusers' `DDIMScheduler.step`), float32, for each `prediction_type`:
 * epsilon: `x0 = (x - sqrt(1-a) * out) / sqrt(a)`, `eps = out`;
 * sample: `x0 = out`, `eps = (x - sqrt(a) * x0) / sqrt(1-a)`;
 * v_prediction: `x0 = sqrt(a) * x - sqrt(1-a) * out`, `eps = sqrt(a) * out + sqrt(1-a) * x`.
 *
 * @example
 * ```ts
 * import { predictOriginalAndEpsilon } from "./common.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = new Tensor(new Float32Array([1]), [1]);
 * const out = new Tensor(new Float32Array([0]), [1]);
 * predictOriginalAndEpsilon("epsilon", out, x, 0.25, ieeeMath).predOriginalSample.data; // [2]
 * ```
 */
export function predictOriginalAndEpsilon(
  predictionType: string,
  modelOutput: Tensor,
  sample: Tensor,
  alphaProdT: number,
  math: Float32Math,
): { predOriginalSample: Tensor; predEpsilon: Tensor } {
  const sqrtA = math.sqrt(alphaProdT);
  const sqrtB = math.sqrt(f32(1 - alphaProdT));
  const m = modelOutput.data;
  const x = sample.data;
  const n = x.length;
  const x0 = new Float32Array(n);
  let eps: Float32Array;
  if (predictionType === "epsilon") {
    for (let i = 0; i < n; i++) x0[i] = f32(x[i] - f32(sqrtB * m[i])) / sqrtA;
    eps = m;
  } else if (predictionType === "sample") {
    x0.set(m);
    eps = epsilonFromOriginal(x, x0, sqrtA, sqrtB);
  } else if (predictionType === "v_prediction") {
    eps = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      x0[i] = f32(sqrtA * x[i]) - f32(sqrtB * m[i]);
      eps[i] = f32(sqrtA * m[i]) + f32(sqrtB * x[i]);
    }
  } else {
    throw new RangeError(
      `prediction_type ${
        JSON.stringify(predictionType)
      } must be one of "epsilon", "sample", "v_prediction"`,
    );
  }
  return {
    predOriginalSample: new Tensor(x0, sample.shape),
    predEpsilon: new Tensor(eps, sample.shape),
  };
}

/**
 * The noise implied by x0: `(x - sqrt(a) * x0) / sqrt(1-a)` in float32, given `sqrt(a)` and
 * `sqrt(1-a)` (DDIM's `use_clipped_model_output` and `sample` prediction).
 *
 * @example
 * ```ts
 * import { epsilonFromOriginal } from "./common.ts";
 * epsilonFromOriginal(new Float32Array([1]), new Float32Array([1]), 0.5, 0.5); // [1]
 * ```
 */
export function epsilonFromOriginal(
  sample: Float32Array,
  predOriginal: Float32Array,
  sqrtAlphaProd: number,
  sqrtBetaProd: number,
): Float32Array {
  const out = new Float32Array(sample.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(sample[i] - f32(sqrtAlphaProd * predOriginal[i])) / sqrtBetaProd;
  }
  return out;
}

/**
 * DDIM's deterministic update, formula (12) of arXiv 2010.02502 (diffusers'
 * `DDIMScheduler.step` steps 6-7, CompVis' and labml's `get_x_prev_and_pred_x0`):
 * `sqrt(a_prev) * x0 + direction * eps` in float32, given `sqrt(a_prev)` and the direction
 * coefficient `sqrt(1 - a_prev - sigma^2)`.
 *
 * @example
 * ```ts
 * import { ddimPrevSample } from "./common.ts";
 * ddimPrevSample(new Float32Array([2]), new Float32Array([1]), 0.5, 0.25); // [1.25]
 * ```
 */
export function ddimPrevSample(
  predOriginal: Float32Array,
  epsilon: Float32Array,
  sqrtAlphaProdPrev: number,
  directionCoeff: number,
): Float32Array {
  const out = new Float32Array(predOriginal.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(sqrtAlphaProdPrev * predOriginal[i]) + f32(directionCoeff * epsilon[i]);
  }
  return out;
}

/**
 * diffusers' `DDPMScheduler.add_noise` (shared by DDIM, PNDM, ...), float32:
 * `sqrt(a[t]) * x0 + sqrt(1 - a[t]) * noise`. `timesteps` is one timestep for the whole
 * batch, or one per batch item (as diffusers broadcasts `alphas_cumprod[timesteps]` over
 * dimension 0).
 *
 * @throws {RangeError} on mismatched shapes, a timestep count that is neither 1 nor the batch
 * size, or a timestep outside the training range.
 * @example
 * ```ts
 * import { addNoiseF32 } from "./common.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * const noise = new Tensor(new Float32Array([0, 0]), [2, 1]);
 * addNoiseF32(new Float32Array([0.25, 0.5]), x0, noise, [0, 1], ieeeMath).data; // [0.5, 0.7071067690849304]
 * ```
 */
export function addNoiseF32(
  alphasCumprod: Float32Array,
  original: Tensor,
  noise: Tensor,
  timesteps: number | readonly number[],
  math: Float32Math,
): Tensor {
  return noisePerBatchItem(original, noise, timesteps, (t) => {
    const a = alphaAt(alphasCumprod, t, "add_noise");
    const sqrtA = math.sqrt(a);
    const sqrtB = math.sqrt(f32(1 - a));
    return (x0, n) => f32(sqrtA * x0) + f32(sqrtB * n);
  });
}

/**
 * The frame of diffusers' `add_noise` methods: checks that `original` and `noise` have one
 * shape and that `timesteps` is one timestep for the whole batch or one per batch item
 * (diffusers broadcasts the per-timestep coefficient over dimension 0), then writes each batch
 * item's elements as `mixFor(its timestep)(x0, noise)`, rounded to float32.
 *
 * @throws {RangeError} on mismatched shapes or a timestep count that is neither 1 nor the
 * batch size (and whatever `mixFor` throws).
 * @example
 * ```ts
 * import { noisePerBatchItem } from "./common.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x0 = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * const noise = new Tensor(new Float32Array([1, 1]), [2, 1]);
 * noisePerBatchItem(x0, noise, [1, 2], (t) => (x, n) => x + t * n).data; // [2, 3]
 * ```
 */
export function noisePerBatchItem(
  original: Tensor,
  noise: Tensor,
  timesteps: number | readonly number[],
  mixFor: (t: number) => (x0: number, noise: number) => number,
): Tensor {
  const who = "add_noise";
  assertSameShape(original, noise, "original_samples", "noise", who);
  const ts = typeof timesteps === "number" ? [timesteps] : timesteps;
  const batch = original.shape.length === 0 ? 1 : original.shape[0];
  if (ts.length !== 1 && ts.length !== batch) {
    throw new RangeError(
      `${who}: got ${ts.length} timesteps for a batch of ${batch} (expected 1 or ${batch})`,
    );
  }
  const per = batch === 0 ? 0 : original.size / batch;
  const out = new Float32Array(original.size);
  for (let b = 0; b < batch; b++) {
    const mix = mixFor(ts[ts.length === 1 ? 0 : b]);
    for (let i = b * per; i < (b + 1) * per; i++) out[i] = mix(original.data[i], noise.data[i]);
  }
  return new Tensor(out, original.shape);
}
