/**
 * DDIMScheduler: denoising diffusion implicit models (arXiv 2010.02502), an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_ddim.py` in float32 (eta 0 and eta > 0,
 * `use_clipped_model_output`, `variance_noise`, clipping and dynamic thresholding, every
 * prediction type and timestep spacing, zero-terminal-SNR betas).
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { halfAdd, halfDivScalar, halfScaledBy, halfSub } from "../tensor/half_ops.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { AlphaScheduler } from "./alpha_scheduler.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import {
  type ClipConfig,
  clipOrThreshold,
  clipSample as clipSample_,
  ddimPrevSample,
  epsilonFromOriginal,
  predictOriginalAndEpsilon,
} from "./prediction.ts";
import { f32 } from "../numerics/f32.ts";
import { spacedTimesteps } from "./timesteps.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `DDIMScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DDIMConfig, DDIMScheduler } from "./ddim.ts";
 * const c: Partial<DDIMConfig> = { clipSample: false, stepsOffset: 1 };
 * assert.equal(new DDIMScheduler(c).config.stepsOffset, 1);
 * ```
 */
export type DDIMConfig = Pick<
  SchedulerConfig,
  | BetaOption
  | keyof ClipConfig
  | "setAlphaToOne"
  | "stepsOffset"
  | "predictionType"
  | "timestepSpacing"
  | "rescaleBetasZeroSnr"
>;

/**
 * `DDIMScheduler`'s class name and defaults, exactly as diffusers' `DDIMScheduler.__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIM_SPEC } from "./ddim.ts";
 * assert.equal(DDIM_SPEC.defaults.clipSample, true);
 * ```
 */
export const DDIM_SPEC: SchedulerSpec<DDIMConfig> = schedulerSpec<DDIMConfig>("DDIMScheduler", {
  clipSample: true,
  setAlphaToOne: true,
  stepsOffset: 0,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: "leading",
  rescaleBetasZeroSnr: false,
});

/**
 * The DDIM sampler. `step` reproduces diffusers' float32 arithmetic operation by operation, so
 * that replaying diffusers' model outputs gives diffusers' samples bit for bit.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = DDIMScheduler.fromConfig({ beta_schedule: "scaled_linear", beta_start: 0.00085,
 *   beta_end: 0.012, steps_offset: 1, clip_sample: false });
 * s.setTimesteps(4);
 * assert.deepEqual(s.timesteps, [751, 501, 251, 1]);
 * let x = new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class DDIMScheduler extends AlphaScheduler<DDIMConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<DDIMConfig> = DDIM_SPEC;
  /** The alpha product used after the last step: 1, or `alphasCumprod[0]` (`set_alpha_to_one`). */
  readonly finalAlphaCumprod: number;

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DDIMScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<DDIMConfig> = {}, options?: SchedulerOptions) {
    super(DDIM_SPEC, config, options);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    for (let t = this.config.numTrainTimesteps - 1; t >= 0; t--) this.timestepList.push(t);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * const pndm = { _class_name: "PNDMScheduler", skip_prk_steps: true, set_alpha_to_one: false };
   * const s = DDIMScheduler.fromConfig(pndm);
   * assert.equal(s.configWarnings.length, 2);
   * assert.match(s.configWarnings[0], /"skip_prk_steps" is not an option of DDIMScheduler/);
   * assert.match(s.configWarnings[1], /"clip_sample" is not set .*default true applies/);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): DDIMScheduler {
    return fromDiffusersConfig(DDIMScheduler, json, source, math);
  }

  /**
   * diffusers' `DDIMScheduler.set_timesteps`: `leading` (with `steps_offset`), `trailing` or
   * `linspace` spacing.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer or exceeds
   * `numTrainTimesteps`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * const s = new DDIMScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(3);
   * assert.deepEqual(Array.from(s.timesteps), [999, 666, 332]);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    this.timestepList = spacedTimesteps(
      numTrainTimesteps,
      numInferenceSteps,
      timestepSpacing,
      stepsOffset,
    );
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * diffusers' `DDIMScheduler._get_variance`:
   * `(1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)`, float32.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * assert.equal(new DDIMScheduler().getVariance(999, 979) > 0, true);
   * ```
   */
  getVariance(timestep: number, prevTimestep: number): number {
    const who = "DDIMScheduler.getVariance";
    const alphaProdT = this.alphaProdAt(timestep, who);
    const alphaProdTPrev = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const betaProdT = f32(1 - alphaProdT);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    return f32(f32(betaProdTPrev / betaProdT) * f32(1 - f32(alphaProdT / alphaProdTPrev)));
  }

  /**
   * One DDIM step (diffusers' `DDIMScheduler.step`, formulas (12) and (16) of the paper).
   * With `eta > 0` the noise is `opts.varianceNoise` or drawn with
   * `opts.generator.randn(modelOutput.shape)` (diffusers' `randn_tensor`); one of them is
   * required (there is no global generator here). With `opts.precision` `"float16"` the step
   * runs on half values in torch's CPU half arithmetic (epsilon, no clipping, eta 0).
   *
   * @throws {Error} before `setTimesteps`, when both or neither noise source is given with
   * `eta > 0`, on shape mismatches or an out-of-range timestep; a `RangeError` for a float16
   * step outside what it implements.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDIMScheduler } from "./ddim.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DDIMScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, 0.2]), [1, 2]);
   * const { prevSample, predOriginalSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, predOriginalSample?.shape], [[1, 2], [1, 2]]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "DDIMScheduler.step";
    const numInferenceSteps = this.requireInferenceSteps(who);
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    if (opts.precision === "float16") return this.#stepHalf(modelOutput, timestep, sample, opts);
    const eta = opts.eta ?? 0;

    // 1. previous step value (diffusers uses N // n whatever the spacing)
    const prevTimestep = timestep - Math.floor(this.config.numTrainTimesteps / numInferenceSteps);
    // 2. alphas, betas
    const alphaProdT = this.alphaProdAt(timestep, who);
    const alphaProdTPrev = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const betaProdT = f32(1 - alphaProdT);

    // 3. predicted x0 and epsilon, formula (12)
    let { predOriginalSample, predEpsilon } = predictOriginalAndEpsilon(
      this.config.predictionType,
      modelOutput,
      sample,
      alphaProdT,
      this.math,
    );

    // 4. clip or threshold x0
    predOriginalSample = clipOrThreshold(predOriginalSample, this.config);

    // 5. sigma_t(eta), formula (16): eta is a Python float times a float32 0-d tensor
    const variance = this.getVariance(timestep, prevTimestep);
    const stdDevT = f32(f32(eta) * this.math.sqrt(variance));

    if (opts.useClippedModelOutput) {
      predEpsilon = new Tensor(
        epsilonFromOriginal(
          sample.data,
          predOriginalSample.data,
          this.math.sqrt(alphaProdT),
          this.math.sqrt(betaProdT),
        ),
        sample.shape,
      );
    }

    // 6. direction pointing to x_t; 7. x_{t-1} without noise, formula (12)
    const dirCoeff = this.math.sqrt(f32(f32(1 - alphaProdTPrev) - f32(stdDevT * stdDevT)));
    const prev = ddimPrevSample(
      predOriginalSample.data,
      predEpsilon.data,
      this.math.sqrt(alphaProdTPrev),
      dirCoeff,
    );

    if (eta > 0) {
      const noise = stepNoise(modelOutput, opts, who, "eta > 0");
      for (let i = 0; i < prev.length; i++) prev[i] = prev[i] + f32(stdDevT * noise.data[i]);
    }
    return { prevSample: new Tensor(prev, sample.shape), predOriginalSample };
  }

  /**
   * diffusers' `step` on float16 tensors, as StableDiffusionPipeline runs it with float16 prompt
   * embeddings: the alphas stay float32 0-dim tensors, every tensor op is torch's CPU half
   * arithmetic (core/tensor/half_ops.ts). Implemented for prediction_type epsilon, eta 0, no
   * thresholding, and `clip_sample` with a range that is a half value (then clamping to the
   * range's float32 or half value gives the same half result, whichever torch uses).
   */
  #stepHalf(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions): StepResult {
    const who = "DDIMScheduler.step (float16)";
    const { predictionType, clipSample, clipSampleRange, thresholding } = this.config;
    const eta = opts.eta ?? 0;
    const range = Math.fround(clipSampleRange);
    const clipOk = !clipSample || Math.f16round(range) === range;
    if (predictionType !== "epsilon" || !clipOk || thresholding || eta !== 0) {
      throw new RangeError(
        `${who}: the float16 step is implemented for prediction_type "epsilon", eta 0, ` +
          `thresholding false and clip_sample false or with a half-valued clip_sample_range; ` +
          `got prediction_type ${JSON.stringify(predictionType)}, clip_sample ${clipSample} ` +
          `(range ${clipSampleRange}), thresholding ${thresholding}, eta ${eta}`,
      );
    }
    const numInferenceSteps = this.numInferenceSteps!;
    const prevTimestep = timestep - Math.floor(this.config.numTrainTimesteps / numInferenceSteps);
    const alphaProdT = this.alphaProdAt(timestep, who);
    const alphaProdTPrev = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const betaProdT = f32(1 - alphaProdT);
    // 3. pred_original_sample = (sample - beta_prod_t ** 0.5 * model_output) / alpha_prod_t ** 0.5
    let predOriginalSample = halfDivScalar(
      halfSub(sample, halfScaledBy(this.math.sqrt(betaProdT), modelOutput)),
      this.math.sqrt(alphaProdT),
    );
    // 4. pred_original_sample.clamp(-clip_sample_range, clip_sample_range): exact in half
    if (clipSample) predOriginalSample = clipSample_(predOriginalSample, range);
    // 5. std_dev_t = eta * variance ** 0.5 (float32 0-dim tensors)
    const variance = this.getVariance(timestep, prevTimestep);
    const stdDevT = f32(f32(eta) * this.math.sqrt(variance));
    // 6. (1 - alpha_prod_t_prev - std_dev_t**2) ** 0.5 * pred_epsilon; 7. alpha_prod_t_prev ** 0.5
    // * pred_original_sample + pred_sample_direction
    const dirCoeff = this.math.sqrt(f32(f32(1 - alphaProdTPrev) - f32(stdDevT * stdDevT)));
    const prevSample = halfAdd(
      halfScaledBy(this.math.sqrt(alphaProdTPrev), predOriginalSample),
      halfScaledBy(dirCoeff, modelOutput),
    );
    return { prevSample, predOriginalSample };
  }
}
