/**
 * DDIMScheduler: denoising diffusion implicit models (arXiv 2010.02502), an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_ddim.py` in float32 (eta 0 and eta > 0,
 * `use_clipped_model_output`, `variance_noise`, clipping and dynamic thresholding, every
 * prediction type and timestep spacing, zero-terminal-SNR betas).
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import {
  addNoiseF32,
  alphaAt,
  assertSameShape,
  clipSample,
  epsilonFromOriginal,
  f32,
  leadingTimesteps,
  linspaceTimesteps,
  noiseSchedule,
  predictOriginalAndEpsilon,
  sqrtF32,
  thresholdSample,
  trailingTimesteps,
} from "./common.ts";
import {
  type ConfigOrigin,
  parseSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
  type SchedulerSpec,
  toDiffusersConfig,
} from "./config.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/** The options of `DDIMScheduler`, as its diffusers `__init__`. */
export type DDIMConfig = Pick<
  SchedulerConfig,
  | "numTrainTimesteps"
  | "betaStart"
  | "betaEnd"
  | "betaSchedule"
  | "trainedBetas"
  | "clipSample"
  | "setAlphaToOne"
  | "stepsOffset"
  | "predictionType"
  | "thresholding"
  | "dynamicThresholdingRatio"
  | "clipSampleRange"
  | "sampleMaxValue"
  | "timestepSpacing"
  | "rescaleBetasZeroSnr"
>;

/**
 * `DDIMScheduler`'s class name and defaults, exactly as diffusers' `DDIMScheduler.__init__`.
 *
 * @example
 * ```ts
 * import { DDIM_SPEC } from "./ddim.ts";
 * DDIM_SPEC.defaults.clipSample; // true
 * ```
 */
export const DDIM_SPEC: SchedulerSpec<DDIMConfig> = {
  className: "DDIMScheduler",
  defaults: Object.freeze({
    numTrainTimesteps: 1000,
    betaStart: 0.0001,
    betaEnd: 0.02,
    betaSchedule: "linear",
    trainedBetas: null,
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
  }),
};

/**
 * The DDIM sampler. `step` reproduces diffusers' float32 arithmetic operation by operation, so
 * that replaying diffusers' model outputs gives diffusers' samples bit for bit.
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "./ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = DDIMScheduler.fromConfig({ beta_schedule: "scaled_linear", beta_start: 0.00085,
 *   beta_end: 0.012, steps_offset: 1, clip_sample: false });
 * s.setTimesteps(4); // s.timesteps: [751, 501, 251, 1]
 * let x = new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * ```
 */
export class DDIMScheduler implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<DDIMConfig> = DDIM_SPEC;
  /** diffusers' `order`: model evaluations per step. */
  readonly order = 1;
  /** The complete configuration (frozen). */
  readonly config: Readonly<DDIMConfig>;
  /** Where the config came from: class name/version in the JSON, kept extra keys, warnings. */
  readonly configOrigin: ConfigOrigin;
  /** float32 betas, as diffusers' `self.betas`. */
  readonly betas: Float32Array;
  /** float32 `1 - betas`. */
  readonly alphas: Float32Array;
  /** float32 cumulative product of `alphas`, bit-exact with diffusers' `alphas_cumprod`. */
  readonly alphasCumprod: Float32Array;
  /** The alpha product used after the last step: 1, or `alphasCumprod[0]` (`set_alpha_to_one`). */
  readonly finalAlphaCumprod: number;
  /** Standard deviation of the initial noise. */
  readonly initNoiseSigma = 1.0;
  /** `null` until `setTimesteps`. */
  numInferenceSteps: number | null = null;
  #timesteps: number[];

  /**
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param origin set by {@link DDIMScheduler.fromConfig}: what the JSON carried besides options
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<DDIMConfig> = {}, origin?: ConfigOrigin) {
    this.config = Object.freeze(resolveSchedulerConfig(DDIM_SPEC, config));
    this.configOrigin = origin ?? { extra: {}, warnings: [] };
    const schedule = noiseSchedule(this.config);
    this.betas = schedule.betas;
    this.alphas = schedule.alphas;
    this.alphasCumprod = schedule.alphasCumprod;
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    this.#timesteps = [];
    for (let t = this.config.numTrainTimesteps - 1; t >= 0; t--) this.#timesteps.push(t);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object (snake_case keys).
   *
   * @param json the parsed JSON
   * @param source the file name, for errors and warnings
   * @throws {SchedulerConfigError} on a wrong type or an unknown enum value.
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * const s = DDIMScheduler.fromConfig({ _class_name: "PNDMScheduler", skip_prk_steps: true });
   * s.configWarnings; // one line: "skip_prk_steps" is not an option of DDIMScheduler
   * ```
   */
  static fromConfig(json: unknown, source?: string): DDIMScheduler {
    const parsed = parseSchedulerConfig(json, DDIM_SPEC, source);
    return new DDIMScheduler(parsed.config, parsed);
  }

  /** Warnings from reading the config (unknown keys, options of other classes). */
  get configWarnings(): readonly string[] {
    return this.configOrigin.warnings;
  }

  /**
   * The config as diffusers' `scheduler.config` JSON (snake_case, `_class_name` first).
   *
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * new DDIMScheduler().toDiffusersConfig().clip_sample; // true
   * ```
   */
  toDiffusersConfig(): Record<string, unknown> {
    return toDiffusersConfig(DDIM_SPEC, this.config, this.configOrigin);
  }

  /** The timesteps of the current schedule, descending (all training steps before `setTimesteps`). */
  get timesteps(): number[] {
    return [...this.#timesteps];
  }

  /**
   * diffusers' `DDIMScheduler.set_timesteps`: `leading` (with `steps_offset`), `trailing` or
   * `linspace` spacing.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer or exceeds
   * `numTrainTimesteps`.
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * const s = new DDIMScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(3);
   * s.timesteps; // [999, 666, 332]
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    if (timestepSpacing === "linspace") {
      this.#timesteps = linspaceTimesteps(numTrainTimesteps, numInferenceSteps);
    } else if (timestepSpacing === "leading") {
      this.#timesteps = leadingTimesteps(numTrainTimesteps, numInferenceSteps, stepsOffset);
    } else {
      this.#timesteps = trailingTimesteps(numTrainTimesteps, numInferenceSteps);
    }
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * Identity (DDIM does not scale the model input).
   *
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const x = Tensor.zeros([1, 4, 8, 8]);
   * new DDIMScheduler().scaleModelInput(x, 999) === x; // true
   * ```
   */
  scaleModelInput(sample: Tensor, _t?: number): Tensor {
    return sample;
  }

  /**
   * diffusers' `DDIMScheduler._get_variance`:
   * `(1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)`, float32.
   *
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * new DDIMScheduler().getVariance(999, 979) > 0; // true
   * ```
   */
  getVariance(timestep: number, prevTimestep: number): number {
    const who = "DDIMScheduler.getVariance";
    const alphaProdT = alphaAt(this.alphasCumprod, timestep, who);
    const alphaProdTPrev = prevTimestep >= 0
      ? alphaAt(this.alphasCumprod, prevTimestep, who)
      : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    return f32(f32(betaProdTPrev / betaProdT) * f32(1 - f32(alphaProdT / alphaProdTPrev)));
  }

  /**
   * One DDIM step (diffusers' `DDIMScheduler.step`, formulas (12) and (16) of the paper).
   * With `eta > 0` the noise is `opts.varianceNoise` or drawn with
   * `opts.generator.randn(modelOutput.shape)` (diffusers' `randn_tensor`); one of them is
   * required (there is no global generator here).
   *
   * @throws {Error} before `setTimesteps`, when both or neither noise source is given with
   * `eta > 0`, on shape mismatches or an out-of-range timestep.
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DDIMScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, 0.2]), [1, 2]);
   * const { prevSample, predOriginalSample } = s.step(eps, s.timesteps[0], x);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "DDIMScheduler.step";
    if (this.numInferenceSteps === null) {
      throw new Error(`${who}: number of inference steps is not set; call setTimesteps first`);
    }
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const eta = opts.eta ?? 0;

    // 1. previous step value (diffusers uses N // n whatever the spacing)
    const prevTimestep = timestep -
      Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps);
    // 2. alphas, betas
    const alphaProdT = alphaAt(this.alphasCumprod, timestep, who);
    const alphaProdTPrev = prevTimestep >= 0
      ? alphaAt(this.alphasCumprod, prevTimestep, who)
      : this.finalAlphaCumprod;
    const betaProdT = f32(1 - alphaProdT);

    // 3. predicted x0 and epsilon, formula (12)
    let { predOriginalSample, predEpsilon } = predictOriginalAndEpsilon(
      this.config.predictionType,
      modelOutput,
      sample,
      alphaProdT,
    );

    // 4. clip or threshold x0
    if (this.config.thresholding) {
      predOriginalSample = thresholdSample(
        predOriginalSample,
        this.config.dynamicThresholdingRatio,
        this.config.sampleMaxValue,
      );
    } else if (this.config.clipSample) {
      predOriginalSample = clipSample(predOriginalSample, this.config.clipSampleRange);
    }

    // 5. sigma_t(eta), formula (16): eta is a Python float times a float32 0-d tensor
    const variance = this.getVariance(timestep, prevTimestep);
    const stdDevT = f32(f32(eta) * sqrtF32(variance));

    if (opts.useClippedModelOutput) {
      predEpsilon = new Tensor(
        epsilonFromOriginal(
          sample.data,
          predOriginalSample.data,
          sqrtF32(alphaProdT),
          sqrtF32(betaProdT),
        ),
        sample.shape,
      );
    }

    // 6. direction pointing to x_t; 7. x_{t-1} without noise, formula (12)
    const dirCoeff = sqrtF32(f32(f32(1 - alphaProdTPrev) - f32(stdDevT * stdDevT)));
    const sqrtAPrev = sqrtF32(alphaProdTPrev);
    const x0 = predOriginalSample.data;
    const eps = predEpsilon.data;
    const prev = new Float32Array(sample.size);
    for (let i = 0; i < prev.length; i++) {
      prev[i] = f32(sqrtAPrev * x0[i]) + f32(dirCoeff * eps[i]);
    }

    if (eta > 0) {
      const noise = this.#varianceNoise(modelOutput, opts, who);
      for (let i = 0; i < prev.length; i++) prev[i] = prev[i] + f32(stdDevT * noise.data[i]);
    }
    return { prevSample: new Tensor(prev, sample.shape), predOriginalSample };
  }

  #varianceNoise(modelOutput: Tensor, opts: StepOptions, who: string): Tensor {
    if (opts.varianceNoise !== undefined && opts.generator !== undefined) {
      throw new Error(
        `${who}: cannot pass both generator and varianceNoise; leave one of them undefined`,
      );
    }
    if (opts.varianceNoise !== undefined) {
      assertSameShape(opts.varianceNoise, modelOutput, "variance_noise", "model_output", who);
      return opts.varianceNoise;
    }
    if (opts.generator === undefined) {
      throw new Error(`${who}: eta > 0 needs a generator or varianceNoise (no global RNG here)`);
    }
    return opts.generator.randn(modelOutput.shape);
  }

  /**
   * Forward diffusion `sqrt(a_t) * x0 + sqrt(1 - a_t) * noise` (diffusers' `add_noise`);
   * `t` is one timestep or one per batch item.
   *
   * @example
   * ```ts
   * import { DDIMScheduler } from "./ddim.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const x0 = new Tensor(new Float32Array([1, 2]), [1, 2]);
   * const noisy = new DDIMScheduler().addNoise(x0, Tensor.zeros([1, 2]), 0);
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    return addNoiseF32(this.alphasCumprod, original, noise, t);
  }
}
