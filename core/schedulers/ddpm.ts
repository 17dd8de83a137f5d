/**
 * DDPMScheduler: denoising diffusion probabilistic models (arXiv 2006.11239), an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_ddpm.py` in float32: every variance type (learned
 * ones split a 2x-channel model output as diffusers does), custom timesteps, and the noise
 * drawn with a torch-compatible generator in the same order as diffusers' `randn_tensor`.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { AlphaScheduler } from "./alpha_scheduler.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { clampF32 } from "../numerics/torch.ts";
import { type ClipConfig, clipOrThreshold, predictOriginalAndEpsilon } from "./prediction.ts";
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
 * The options of `DDPMScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DDPMConfig, DDPMScheduler } from "./ddpm.ts";
 * const c: Partial<DDPMConfig> = { varianceType: "fixed_large" };
 * assert.equal(new DDPMScheduler(c).config.varianceType, "fixed_large");
 * ```
 */
export type DDPMConfig = Pick<
  SchedulerConfig,
  | BetaOption
  | keyof ClipConfig
  | "varianceType"
  | "predictionType"
  | "timestepSpacing"
  | "stepsOffset"
  | "rescaleBetasZeroSnr"
>;

/**
 * `DDPMScheduler`'s class name and defaults, exactly as diffusers' `DDPMScheduler.__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDPM_SPEC } from "./ddpm.ts";
 * assert.equal(DDPM_SPEC.defaults.varianceType, "fixed_small");
 * ```
 */
export const DDPM_SPEC: SchedulerSpec<DDPMConfig> = schedulerSpec<DDPMConfig>("DDPMScheduler", {
  varianceType: "fixed_small",
  clipSample: true,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  clipSampleRange: 1.0,
  sampleMaxValue: 1.0,
  timestepSpacing: "leading",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
});

/**
 * Custom timesteps for {@link DDPMScheduler.setTimesteps}, as diffusers' `timesteps=[...]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CustomTimesteps, DDPMScheduler } from "./ddpm.ts";
 * const custom: CustomTimesteps = { timesteps: [999, 500, 0] };
 * const s = new DDPMScheduler();
 * s.setTimesteps(custom);
 * assert.deepEqual(s.timesteps, [999, 500, 0]);
 * ```
 */
export interface CustomTimesteps {
  /** Strictly descending integers below `numTrainTimesteps`. */
  timesteps: readonly number[];
}

/** torch's `clamp(min=1e-20)` bound, converted to float32. */
const MIN_VARIANCE = f32(1e-20);

/**
 * The DDPM ancestral sampler.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDPMScheduler } from "./ddpm.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = new DDPMScheduler();
 * s.setTimesteps(10);
 * const generator = new TorchGenerator(0);
 * let x = generator.randn([1, 3, 4, 4]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x, { generator }).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class DDPMScheduler extends AlphaScheduler<DDPMConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<DDPMConfig> = DDPM_SPEC;
  /** True after `setTimesteps({ timesteps })`. */
  customTimesteps = false;

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DDPMScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<DDPMConfig> = {}, options?: SchedulerOptions) {
    super(DDPM_SPEC, config, options);
    for (let t = this.config.numTrainTimesteps - 1; t >= 0; t--) this.timestepList.push(t);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * assert.equal(DDPMScheduler.fromConfig({ variance_type: "fixed_large" }).config.varianceType, "fixed_large");
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): DDPMScheduler {
    return fromDiffusersConfig(DDPMScheduler, json, source, math);
  }

  /**
   * diffusers' `DDPMScheduler.set_timesteps`: a step count (spaced by `timestep_spacing`) or
   * custom timesteps, validated as diffusers does (strictly descending, first below
   * `num_train_timesteps`), and also required to be non-negative integers.
   *
   * @throws {RangeError} on an invalid count or invalid custom timesteps.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * const s = new DDPMScheduler();
   * s.setTimesteps({ timesteps: [999, 500, 20, 0] });
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [750, 500, 250, 0]);
   * ```
   */
  setTimesteps(stepsOrTimesteps: number | CustomTimesteps): void {
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    const who = "DDPMScheduler.setTimesteps";
    if (typeof stepsOrTimesteps !== "number") {
      const ts = stepsOrTimesteps.timesteps;
      if (!Array.isArray(ts) || ts.length === 0) {
        throw new RangeError(`${who}: custom timesteps must be a non-empty array`);
      }
      for (let i = 0; i < ts.length; i++) {
        if (!Number.isSafeInteger(ts[i]) || ts[i] < 0) {
          throw new RangeError(
            `${who}: custom timesteps[${i}] = ${ts[i]} (expected a non-negative integer)`,
          );
        }
        if (i > 0 && ts[i] >= ts[i - 1]) {
          throw new RangeError(`${who}: custom timesteps must be in descending order`);
        }
      }
      if (ts[0] >= numTrainTimesteps) {
        throw new RangeError(
          `${who}: custom timesteps must start before num_train_timesteps (${numTrainTimesteps}), ` +
            `got ${ts[0]}`,
        );
      }
      this.timestepList = [...ts];
      this.customTimesteps = true;
      return;
    }
    const n = stepsOrTimesteps;
    this.timestepList = spacedTimesteps(numTrainTimesteps, n, timestepSpacing, stepsOffset);
    this.numInferenceSteps = n;
    this.customTimesteps = false;
  }

  /**
   * diffusers' `DDPMScheduler.previous_timestep`: the next entry of `timesteps` (-1 after
   * the last) once timesteps are set, else `t - 1`.
   *
   * @throws {RangeError} when timesteps are set and `t` is not one of them.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * const s = new DDPMScheduler();
   * s.setTimesteps(4);
   * assert.equal(s.previousTimestep(500), 250);
   * ```
   */
  previousTimestep(t: number): number {
    if (this.customTimesteps || this.numInferenceSteps) {
      const index = this.timestepList.indexOf(t);
      if (index < 0) {
        throw new RangeError(
          `DDPMScheduler: timestep ${t} is not in the current timesteps ` +
            `[${this.timestepList.slice(0, 8).join(", ")}${
              this.timestepList.length > 8 ? ", ..." : ""
            }]`,
        );
      }
      return index === this.timestepList.length - 1 ? -1 : this.timestepList[index + 1];
    }
    return t - 1;
  }

  /**
   * diffusers' `DDPMScheduler._get_variance` for timestep `t`: a float32 number for the fixed
   * variance types, a tensor for `learned` / `learned_range` (computed from
   * `predictedVariance`). Formulas (6)-(7) of the DDPM paper.
   *
   * @throws {Error} when a learned variance type gets no `predictedVariance`.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * const s = new DDPMScheduler();
   * const v = s.getVariance(999) as number; // beta-tilde of the last training step
   * assert.ok(v > 0 && v < 0.02);
   * ```
   */
  getVariance(t: number, predictedVariance?: Tensor): number | Tensor {
    const who = "DDPMScheduler.getVariance";
    const prevT = this.previousTimestep(t);
    const alphaProdT = this.alphaProdAt(t, who);
    const alphaProdTPrev = this.alphaProd(prevT, 1.0, who);
    const currentBetaT = f32(1 - f32(alphaProdT / alphaProdTPrev));
    let variance = f32(f32(f32(1 - alphaProdTPrev) / f32(1 - alphaProdT)) * currentBetaT);
    variance = clampF32(variance, MIN_VARIANCE, Infinity);
    switch (this.config.varianceType) {
      case "fixed_small":
        return variance;
      case "fixed_small_log":
        return this.math.exp(f32(0.5 * this.math.log(variance)));
      case "fixed_large":
        return currentBetaT;
      case "fixed_large_log":
        return this.math.log(currentBetaT);
      case "learned":
        return this.#requirePredicted(predictedVariance, who);
      case "learned_range": {
        const pv = this.#requirePredicted(predictedVariance, who).data;
        const minLog = this.math.log(variance);
        const maxLog = this.math.log(currentBetaT);
        const out = new Float32Array(pv.length);
        for (let i = 0; i < pv.length; i++) {
          const frac = f32(f32(pv[i] + 1) / 2);
          out[i] = f32(frac * maxLog) + f32(f32(1 - frac) * minLog);
        }
        return new Tensor(out, predictedVariance!.shape);
      }
    }
  }

  #requirePredicted(predictedVariance: Tensor | undefined, who: string): Tensor {
    if (predictedVariance === undefined) {
      throw new Error(
        `${who}: variance_type "${this.config.varianceType}" needs a model output with twice ` +
          `the sample's channels (the second half is the predicted variance)`,
      );
    }
    return predictedVariance;
  }

  /**
   * One DDPM step (diffusers' `DDPMScheduler.step`, formula (7) of the paper). For `t > 0` the
   * noise is `opts.varianceNoise` or `opts.generator.randn(shape)` (diffusers' `randn_tensor`
   * with the model output's shape after the learned-variance split). With variance type
   * `learned` / `learned_range` and a model output of twice the sample's channels, the output
   * is split along dimension 1 into the prediction and the variance.
   *
   * @throws {Error} on shape mismatches, an out-of-range timestep, or `t > 0` without a noise
   * source (there is no global generator here).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DDPMScheduler } from "./ddpm.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DDPMScheduler();
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, 0.2]), [1, 2]);
   * assert.deepEqual(s.step(eps, 0, x).prevSample.shape, [1, 2]); // t = 0 draws no noise
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "DDPMScheduler.step";
    const t = timestep;
    const prevT = this.previousTimestep(t);

    let output = modelOutput;
    let predictedVariance: Tensor | undefined;
    const learned = this.config.varianceType === "learned" ||
      this.config.varianceType === "learned_range";
    if (
      learned && modelOutput.shape.length >= 2 && sample.shape.length >= 2 &&
      modelOutput.shape[1] === sample.shape[1] * 2
    ) {
      [output, predictedVariance] = splitChannels(modelOutput, sample.shape[1]);
    }
    assertSameShape(output, sample, "model_output", "sample", who);

    // 1. alphas, betas
    const alphaProdT = this.alphaProdAt(t, who);
    const alphaProdTPrev = this.alphaProd(prevT, 1.0, who);
    const betaProdT = f32(1 - alphaProdT);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    const currentAlphaT = f32(alphaProdT / alphaProdTPrev);
    const currentBetaT = f32(1 - currentAlphaT);

    // 2. predicted x0, formula (15)
    const predicted = predictOriginalAndEpsilon(
      this.config.predictionType,
      output,
      sample,
      alphaProdT,
      this.math,
    );
    // 3. clip or threshold x0
    const predOriginalSample = clipOrThreshold(predicted.predOriginalSample, this.config);

    // 4. coefficients of x0 and x_t, formula (7)
    const x0Coeff = f32(f32(this.math.sqrt(alphaProdTPrev) * currentBetaT) / betaProdT);
    const sampleCoeff = f32(f32(this.math.sqrt(currentAlphaT) * betaProdTPrev) / betaProdT);

    // 5. predicted previous sample mu_t
    const x0 = predOriginalSample.data;
    const x = sample.data;
    const prev = new Float32Array(sample.size);
    for (let i = 0; i < prev.length; i++) {
      prev[i] = f32(x0Coeff * x0[i]) + f32(sampleCoeff * x[i]);
    }

    // 6. add noise
    if (t > 0) {
      const noise = stepNoise(output, opts, who, "a step at t > 0").data;
      const variance = this.getVariance(t, predictedVariance);
      const vt = this.config.varianceType;
      if (typeof variance === "number") {
        // fixed_small_log: variance * noise; others: variance ** 0.5 * noise
        const scale = vt === "fixed_small_log" ? variance : this.math.sqrt(variance);
        for (let i = 0; i < prev.length; i++) prev[i] = prev[i] + f32(scale * noise[i]);
      } else if (vt === "learned_range") {
        const v = variance.data;
        for (let i = 0; i < prev.length; i++) {
          prev[i] = prev[i] + f32(this.math.exp(f32(0.5 * v[i])) * noise[i]);
        }
      } else {
        const v = variance.data;
        for (let i = 0; i < prev.length; i++) {
          prev[i] = prev[i] + f32(this.math.sqrt(v[i]) * noise[i]);
        }
      }
    }
    return { prevSample: new Tensor(prev, sample.shape), predOriginalSample };
  }
}

/** `torch.split(x, channels, dim=1)` of a [B, 2C, ...] tensor into two [B, C, ...] tensors. */
function splitChannels(x: Tensor, channels: number): [Tensor, Tensor] {
  const [batch, twoC, ...rest] = x.shape;
  const inner = rest.reduce((a, b) => a * b, 1);
  const shape = [batch, channels, ...rest];
  const first = new Float32Array(batch * channels * inner);
  const second = new Float32Array(batch * (twoC - channels) * inner);
  for (let b = 0; b < batch; b++) {
    const base = b * twoC * inner;
    first.set(x.data.subarray(base, base + channels * inner), b * channels * inner);
    second.set(x.data.subarray(base + channels * inner, base + twoC * inner), b * channels * inner);
  }
  return [new Tensor(first, shape), new Tensor(second, shape)];
}
