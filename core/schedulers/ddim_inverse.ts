/**
 * DDIMInverseScheduler: DDIM run backwards (x0 -> xT, for inversion), an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_ddim_inverse.py` in float32, with its own
 * `set_alpha_to_one` / `steps_offset` semantics and ascending timesteps.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";
import {
  addNoiseF32,
  alphaAt,
  assertSameShape,
  clipSample,
  f32,
  leadingTimesteps,
  noiseSchedule,
  predictOriginalAndEpsilon,
  sqrtF32,
  trailingTimesteps,
} from "./common.ts";
import {
  type ConfigOrigin,
  parseSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
  SchedulerConfigError,
  type SchedulerSpec,
  toDiffusersConfig,
} from "./config.ts";
import type { Scheduler, StepResult } from "./types.ts";

/** The options of `DDIMInverseScheduler`, as its diffusers `__init__`. */
export type DDIMInverseConfig = Pick<
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
  | "clipSampleRange"
  | "timestepSpacing"
  | "rescaleBetasZeroSnr"
>;

/**
 * `DDIMInverseScheduler`'s class name and defaults, exactly as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import { DDIM_INVERSE_SPEC } from "./ddim_inverse.ts";
 * DDIM_INVERSE_SPEC.defaults.setAlphaToOne; // true
 * ```
 */
export const DDIM_INVERSE_SPEC: SchedulerSpec<DDIMInverseConfig> = {
  className: "DDIMInverseScheduler",
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
    clipSampleRange: 1.0,
    timestepSpacing: "leading",
    rescaleBetasZeroSnr: false,
  }),
};

/**
 * DDIM inversion. Timesteps ascend; `step(modelOutput, t, x)` moves the sample from the noise
 * level of `t - N // n` (or `initialAlphaCumprod` below 0) up to that of `t`.
 *
 * @example
 * ```ts
 * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const inv = new DDIMInverseScheduler({ clipSample: false });
 * inv.setTimesteps(4); // inv.timesteps: [0, 250, 500, 750]
 * let x = new Tensor(new Float32Array([0.3, -0.2]), [1, 2]);
 * for (const t of inv.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = inv.step(eps, t, x).prevSample;
 * }
 * ```
 */
export class DDIMInverseScheduler implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<DDIMInverseConfig> = DDIM_INVERSE_SPEC;
  /** diffusers' `order`: model evaluations per step. */
  readonly order = 1;
  /** The complete configuration (frozen). */
  readonly config: Readonly<DDIMInverseConfig>;
  /** Where the config came from: class name/version in the JSON, kept extra keys, warnings. */
  readonly configOrigin: ConfigOrigin;
  /** float32 betas. */
  readonly betas: Float32Array;
  /** float32 `1 - betas`. */
  readonly alphas: Float32Array;
  /** float32 cumulative product of `alphas`, bit-exact with diffusers' `alphas_cumprod`. */
  readonly alphasCumprod: Float32Array;
  /** The alpha product before the first step: 1, or `alphasCumprod[0]` (`set_alpha_to_one`). */
  readonly initialAlphaCumprod: number;
  /** Standard deviation of the initial noise. */
  readonly initNoiseSigma = 1.0;
  /** `null` until `setTimesteps`. */
  numInferenceSteps: number | null = null;
  #timesteps: number[];

  /**
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param origin set by {@link DDIMInverseScheduler.fromConfig}
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<DDIMInverseConfig> = {}, origin?: ConfigOrigin) {
    this.config = Object.freeze(resolveSchedulerConfig(DDIM_INVERSE_SPEC, config));
    this.configOrigin = origin ?? { extra: {}, warnings: [] };
    const schedule = noiseSchedule(this.config);
    this.betas = schedule.betas;
    this.alphas = schedule.alphas;
    this.alphasCumprod = schedule.alphasCumprod;
    this.initialAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    this.#timesteps = Array.from({ length: this.config.numTrainTimesteps }, (_, i) => i);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object. As diffusers, the deprecated
   * key `set_alpha_to_zero`, when not null, replaces `set_alpha_to_one` (with a warning).
   *
   * @throws {SchedulerConfigError} on a wrong type or an unknown enum value.
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * const inv = DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: false });
   * inv.config.setAlphaToOne; // false
   * ```
   */
  static fromConfig(json: unknown, source?: string): DDIMInverseScheduler {
    const parsed = parseSchedulerConfig(json, DDIM_INVERSE_SPEC, source);
    const deprecated = parsed.extra["set_alpha_to_zero"];
    if (deprecated !== undefined && deprecated !== null) {
      const label = source ?? "DDIMInverseScheduler config";
      if (typeof deprecated !== "boolean") {
        throw new SchedulerConfigError(
          label,
          "set_alpha_to_zero",
          `expected true or false, got ${JSON.stringify(deprecated)}`,
        );
      }
      parsed.config = { ...parsed.config, setAlphaToOne: deprecated };
      parsed.warnings = parsed.warnings.filter((w) => !w.includes('"set_alpha_to_zero"'));
      parsed.warnings.push(
        `${label}: "set_alpha_to_zero" is deprecated; its value ${deprecated} is used as ` +
          `set_alpha_to_one, as diffusers does`,
      );
    }
    return new DDIMInverseScheduler(parsed.config, parsed);
  }

  /** Warnings from reading the config. */
  get configWarnings(): readonly string[] {
    return this.configOrigin.warnings;
  }

  /**
   * The config as diffusers' `scheduler.config` JSON.
   *
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * new DDIMInverseScheduler().toDiffusersConfig()._class_name; // "DDIMInverseScheduler"
   * ```
   */
  toDiffusersConfig(): Record<string, unknown> {
    return toDiffusersConfig(DDIM_INVERSE_SPEC, this.config, this.configOrigin);
  }

  /** The timesteps of the current schedule, ascending (all training steps before `setTimesteps`). */
  get timesteps(): number[] {
    return [...this.#timesteps];
  }

  /**
   * diffusers' `DDIMInverseScheduler.set_timesteps`: the DDIM timesteps in ascending order
   * (`leading` with `steps_offset`, or `trailing`; `linspace` is not supported by diffusers).
   *
   * @throws {RangeError} on a bad step count or the `linspace` spacing.
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * const inv = new DDIMInverseScheduler({ timestepSpacing: "trailing" });
   * inv.setTimesteps(3);
   * inv.timesteps; // [332, 666, 999]
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { numTrainTimesteps, timestepSpacing, stepsOffset } = this.config;
    if (timestepSpacing === "leading") {
      this.#timesteps = leadingTimesteps(numTrainTimesteps, numInferenceSteps, stepsOffset)
        .reverse();
    } else if (timestepSpacing === "trailing") {
      this.#timesteps = trailingTimesteps(numTrainTimesteps, numInferenceSteps).reverse();
    } else {
      throw new RangeError(
        `DDIMInverseScheduler.setTimesteps: timestep_spacing "${timestepSpacing}" is not ` +
          `supported (expected "leading" or "trailing", as diffusers)`,
      );
    }
    this.numInferenceSteps = numInferenceSteps;
  }

  /**
   * Identity.
   *
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const x = Tensor.zeros([1]);
   * new DDIMInverseScheduler().scaleModelInput(x, 0) === x; // true
   * ```
   */
  scaleModelInput(sample: Tensor, _t?: number): Tensor {
    return sample;
  }

  /**
   * One inverse step (diffusers' `DDIMInverseScheduler.step`): the eta-0 DDIM update with the
   * roles of the two noise levels swapped. `opts` is accepted for the {@link Scheduler}
   * interface and ignored (inversion is deterministic).
   *
   * @throws {Error} before `setTimesteps`, on shape mismatches or an out-of-range timestep.
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const inv = new DDIMInverseScheduler();
   * inv.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5]), [1, 1]);
   * inv.step(new Tensor(new Float32Array([0.1]), [1, 1]), inv.timesteps[0], x).prevSample;
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor): StepResult {
    const who = "DDIMInverseScheduler.step";
    if (this.numInferenceSteps === null) {
      throw new Error(`${who}: number of inference steps is not set; call setTimesteps first`);
    }
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const N = this.config.numTrainTimesteps;
    // 1. the step goes from t - N // n ("timestep") up to t ("prev_timestep")
    const prevTimestep = timestep;
    const current = Math.min(timestep - Math.floor(N / this.numInferenceSteps), N - 1);
    // 2. alphas, betas
    const alphaProdT = current >= 0
      ? alphaAt(this.alphasCumprod, current, who)
      : this.initialAlphaCumprod;
    const alphaProdTPrev = alphaAt(this.alphasCumprod, prevTimestep, who);
    // 3. predicted x0 and epsilon, formula (12) of arXiv 2010.02502
    const predicted = predictOriginalAndEpsilon(
      this.config.predictionType,
      modelOutput,
      sample,
      alphaProdT,
    );
    let predOriginalSample = predicted.predOriginalSample;
    // 4. clip x0
    if (this.config.clipSample) {
      predOriginalSample = clipSample(predOriginalSample, this.config.clipSampleRange);
    }
    // 5. direction pointing to x_t; 6. x_t, formula (12)
    const dirCoeff = sqrtF32(f32(1 - alphaProdTPrev));
    const sqrtAPrev = sqrtF32(alphaProdTPrev);
    const x0 = predOriginalSample.data;
    const eps = predicted.predEpsilon.data;
    const prev = new Float32Array(sample.size);
    for (let i = 0; i < prev.length; i++) {
      prev[i] = f32(sqrtAPrev * x0[i]) + f32(dirCoeff * eps[i]);
    }
    return { prevSample: new Tensor(prev, sample.shape), predOriginalSample };
  }

  /**
   * Forward diffusion (diffusers' `DDPMScheduler.add_noise`; DDIMInverseScheduler itself has
   * none, provided here for the {@link Scheduler} interface).
   *
   * @example
   * ```ts
   * import { DDIMInverseScheduler } from "./ddim_inverse.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * new DDIMInverseScheduler().addNoise(Tensor.zeros([1, 2]), Tensor.zeros([1, 2]), 10);
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    return addNoiseF32(this.alphasCumprod, original, noise, t);
  }
}
