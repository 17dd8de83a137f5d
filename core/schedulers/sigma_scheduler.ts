/**
 * The base of the schedulers that step in sigma space (LMSDiscrete, EulerDiscrete,
 * EulerAncestralDiscrete), on top of {@link SchedulerBase}: the sigma table, `init_noise_sigma`,
 * `scale_model_input`, the sigma `add_noise`, and diffusers' step-index API (`set_begin_index`,
 * `index_for_timestep`), which the three diffusers classes share line for line. The bookkeeping
 * itself is a {@link StepIndex} (step_index.ts) and the respacing `respaceSigmas` (sigmas.ts),
 * usable without this class.
 *
 * @module
 */
import { f32 } from "../numerics/f32.ts";
import { Tensor } from "../tensor/tensor.ts";
import { addNoiseBySigma } from "./add_noise.ts";
import type { BetaConfig } from "./betas.ts";
import type { ConfigField, PredictionType, SchedulerSpec, TimestepSpacing } from "./config.ts";
import {
  checkSigmaSpacing,
  initNoiseSigmaOf,
  sigmasFromAlphasCumprod,
  type SigmaSpacingOptions,
} from "./sigmas.ts";
import { indexForTimestep, StepIndex } from "./step_index.ts";
import { sigmaSchedulerTimesteps } from "./timesteps.ts";
import { SchedulerBase, type SchedulerOptions } from "./scheduler_base.ts";

/**
 * The sigma-spacing options that LMSDiscrete and EulerDiscrete have beyond
 * `use_karras_sigmas` (which every config knows).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ExtraSigmaOptions } from "./sigma_scheduler.ts";
 * const o: ExtraSigmaOptions = { useExponentialSigmas: true, useBetaSigmas: false };
 * assert.equal(o.useExponentialSigmas, true);
 * ```
 */
export interface ExtraSigmaOptions {
  /** Exponential sigma spacing (k-diffusion's `get_sigmas_exponential`). */
  useExponentialSigmas: boolean;
  /** Beta-distribution sigma spacing (arXiv 2407.12173); not supported here (needs scipy.stats). */
  useBetaSigmas: boolean;
}

/**
 * The config fields of {@link ExtraSigmaOptions}, for the specs of LMSDiscrete and
 * EulerDiscrete.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXTRA_SIGMA_FIELDS } from "./sigma_scheduler.ts";
 * assert.equal(EXTRA_SIGMA_FIELDS.useBetaSigmas.key, "use_beta_sigmas");
 * ```
 */
export const EXTRA_SIGMA_FIELDS: { readonly [K in keyof ExtraSigmaOptions]: ConfigField } = {
  useExponentialSigmas: { key: "use_exponential_sigmas", kind: "boolean" },
  useBetaSigmas: { key: "use_beta_sigmas", kind: "boolean" },
};

/**
 * The options a sigma scheduler needs beyond the betas: the spacing of its timesteps and
 * sigmas, and what the model predicts (the sigma-spacing options only where the class has them:
 * EulerAncestralDiscrete has none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SigmaSchedulerConfig } from "./sigma_scheduler.ts";
 * import type { EulerDiscreteConfig } from "./euler_discrete.ts";
 * const c: SigmaSchedulerConfig = {} as EulerDiscreteConfig;
 * assert.deepEqual(c, {});
 * ```
 */
export type SigmaSchedulerConfig = BetaConfig & Partial<SigmaSpacingOptions> & {
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  predictionType: PredictionType;
};

/**
 * What the start of a sigma scheduler's `set_timesteps` computes: the step count, the spaced
 * float32 timesteps, and the training sigma table (ascending in training timestep).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ScheduleStart } from "./sigma_scheduler.ts";
 * function steps(s: ScheduleStart): number { return s.timesteps.length; }
 * assert.equal(steps({ numInferenceSteps: 2, timesteps: [999, 0], table: new Float32Array(1000) }), 2);
 * ```
 */
export interface ScheduleStart {
  /** The number of inference steps asked for. */
  numInferenceSteps: number;
  /** The timesteps by `timestep_spacing` (float32 values, descending). */
  timesteps: number[];
  /** `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5`, float32. */
  table: Float32Array;
}

/**
 * What the schedulers over a float32 sigma table (the Euler family's {@link SigmaScheduler}, and
 * the DPM-Solver family's `DPMFamilyScheduler`) share on top of {@link SchedulerBase}: the table
 * (one sigma per timestep, then the final one) and diffusers' step-index API
 * (`step_index`, `begin_index`, `set_begin_index`), kept by a {@link StepIndex}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
 * import type { SigmaSchedulerConfig, SigmaTableScheduler } from "./sigma_scheduler.ts";
 * const s: SigmaTableScheduler<SigmaSchedulerConfig> = new EulerDiscreteScheduler();
 * s.setTimesteps(10);
 * assert.equal(s.sigmas.length, 11);
 * ```
 */
export abstract class SigmaTableScheduler<C extends BetaConfig> extends SchedulerBase<C> {
  /** The float32 sigmas of the schedule, then the final sigma; subclasses set it. */
  protected sigmaList: Float32Array = new Float32Array(0);
  /** diffusers' `_step_index` / `_begin_index`; subclasses reset it with each schedule. */
  protected readonly steps: StepIndex = new StepIndex();

  /** Abstract here: the subclass computes its sigmas and timesteps, then calls `setSchedule`. */
  abstract setTimesteps(numInferenceSteps: number): void;

  /** The float32 sigmas of the schedule, one more than the timesteps (the last is the final sigma). */
  get sigmas(): Float32Array {
    return this.sigmaList.slice();
  }

  /** Index of the next step into `timesteps` / `sigmas`; `null` before the first step. */
  get stepIndex(): number | null {
    return this.steps.stepIndex;
  }

  /** The first step's index when set by `setBeginIndex`. */
  get beginIndex(): number | null {
    return this.steps.beginIndex;
  }

  /**
   * diffusers' `set_begin_index`: where the first step starts (pipelines that start
   * mid-schedule, e.g. img2img, call it).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * s.setBeginIndex(3);
   * assert.equal(s.beginIndex, 3);
   * ```
   */
  setBeginIndex(beginIndex = 0): void {
    this.steps.setBeginIndex(beginIndex);
  }
}

/**
 * A scheduler over a float32 sigma table (one sigma per timestep, then the final one), with
 * diffusers' step index: found from the first timestep given to `scaleModelInput` or `step`
 * (or set by `setBeginIndex`), then advanced by one per step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
 * import type { SigmaScheduler, SigmaSchedulerConfig } from "./sigma_scheduler.ts";
 * const s: SigmaScheduler<SigmaSchedulerConfig> = new EulerDiscreteScheduler();
 * s.setTimesteps(10);
 * assert.equal(s.indexForTimestep(s.timesteps[2]), 2);
 * ```
 */
export abstract class SigmaScheduler<C extends SigmaSchedulerConfig>
  extends SigmaTableScheduler<C> {
  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param spec the class's name and defaults
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options what the JSON carried besides options, and `math` (default IEEE)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   * @throws {RangeError} on more than one sigma-spacing option, or `useBetaSigmas`.
   */
  protected constructor(spec: SchedulerSpec<C>, config: Partial<C>, options?: SchedulerOptions) {
    super(spec, config, options);
    const c = this.config;
    checkSigmaSpacing({
      useKarrasSigmas: c.useKarrasSigmas ?? false,
      useExponentialSigmas: c.useExponentialSigmas ?? false,
      useBetaSigmas: c.useBetaSigmas ?? false,
    }, options?.source ?? `new ${spec.className}()`);
  }

  /** Standard deviation of the initial noise (diffusers' `init_noise_sigma` property). */
  get initNoiseSigma(): number {
    return initNoiseSigmaOf(this.sigmaList, this.config.timestepSpacing, this.math);
  }

  /**
   * diffusers' `index_for_timestep`: the position of `timestep` in `timesteps` (the second one
   * when it appears twice).
   *
   * @throws {RangeError} when `timestep` is not in the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * assert.equal(s.indexForTimestep(s.timesteps[3]), 3);
   * ```
   */
  indexForTimestep(timestep: number): number {
    return indexForTimestep(this.timestepList, timestep, this.className);
  }

  /**
   * diffusers' `scale_model_input`: `sample / (sigma ** 2 + 1) ** 0.5` (float32) with the sigma
   * of the current step (found from `t` on the first call).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * const scaled = s.scaleModelInput(new Tensor(new Float32Array([1]), [1]), s.timesteps[0]);
   * const sigma = s.sigmas[0];
   * assert.equal(scaled.data[0], Math.fround(1 / Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)))));
   * ```
   */
  scaleModelInput(sample: Tensor, t: number): Tensor {
    const sigma = this.sigmaList[this.steps.init(this.timestepList, t, this.className)];
    const denom = this.math.sqrt(f32(f32(sigma * sigma) + 1));
    return new Tensor(sample.data.map((v) => v / denom), sample.shape);
  }

  /**
   * diffusers' `add_noise` for sigma schedulers: `original + noise * sigma`, with the sigma of
   * `t` (one per batch item, or one for all) looked up as diffusers does: by timestep before
   * any `setBeginIndex`, else at the current step index (or the begin index).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * const noisy = s.addNoise(Tensor.zeros([1, 2]), new Tensor(new Float32Array([1, 1]), [1, 2]), s.timesteps[0]);
   * assert.deepEqual(Array.from(noisy.data), [s.sigmas[0], s.sigmas[0]]);
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    return addNoiseBySigma(this, original, noise, t);
  }

  /**
   * Step 1 of diffusers' LMS and Euler `step`, x0 from the model output (float32): `epsilon`:
   * `x - sigmaEps * out`; `v_prediction`: `out * (-sigma / (sigma^2 + 1)^0.5) + x / (sigma^2 +
   * 1)`; `sample`: `out`. Euler passes its `sigma_hat` as `epsilonSigma`.
   */
  protected predictOriginal(
    sample: Float32Array,
    modelOutput: Float32Array,
    sigma: number,
    epsilonSigma = sigma,
  ): Float32Array {
    const p = this.config.predictionType;
    if (p === "epsilon") return sample.map((v, i) => v - f32(epsilonSigma * modelOutput[i]));
    if (p === "v_prediction") {
      const s2p1 = f32(f32(sigma * sigma) + 1);
      const cOut = f32(-sigma / this.math.sqrt(s2p1));
      return sample.map((v, i) => f32(modelOutput[i] * cOut) + f32(v / s2p1));
    }
    return modelOutput.slice();
  }

  /**
   * The start of diffusers' `set_timesteps`: the float32 timesteps by `timestep_spacing` (with
   * `steps_offset`) and the training sigma table `((1 - a) / a) ** 0.5` (ascending); sets
   * `numInferenceSteps`.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   */
  protected startSchedule(numInferenceSteps: number): ScheduleStart {
    const c = this.config;
    const timesteps = sigmaSchedulerTimesteps(
      c.numTrainTimesteps,
      numInferenceSteps,
      c.timestepSpacing,
      c.stepsOffset,
    );
    this.numInferenceSteps = numInferenceSteps;
    return {
      numInferenceSteps,
      timesteps,
      table: sigmasFromAlphasCumprod(this.alphasCumprod, this.math),
    };
  }

  /**
   * The end of `set_timesteps`: installs `timesteps` and the float32 `sigmas` followed by
   * `finalSigma`, and resets the step and begin indices.
   */
  protected setSchedule(timesteps: number[], sigmas: ArrayLike<number>, finalSigma = 0): void {
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = finalSigma;
    this.timestepList = timesteps;
    this.sigmaList = all;
    this.steps.reset();
  }

  /**
   * The index of the step at `timestep` (diffusers' `_init_step_index` on the first step).
   *
   * @throws {RangeError} when the schedule has been stepped through, or `timestep` is not in it.
   */
  protected currentStepIndex(timestep: number, who: string): number {
    const index = this.steps.init(this.timestepList, timestep, this.className);
    if (index + 1 >= this.sigmaList.length) {
      throw new RangeError(
        `${who}: step ${index} is past the end of the schedule (${this.timestepList.length} ` +
          `steps); call setTimesteps again`,
      );
    }
    return index;
  }
}
