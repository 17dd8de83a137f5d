/**
 * LCMScheduler: multi-step sampling of latent consistency models (arXiv 2310.04378), an exact
 * port of diffusers 0.42.1 `schedulers/scheduling_lcm.py` in float32. `setTimesteps(n)` takes
 * `n` evenly spaced indices of the `original_inference_steps`-long LCM schedule `k * i - 1`
 * (`k = num_train_timesteps // original_inference_steps`); each step predicts x0 (epsilon,
 * sample or v), clips or thresholds it, applies the consistency model's boundary condition
 * `denoised = c_out * x0 + c_skip * x_t` (`c_skip = 0.25 / (s^2 + 0.25)`, `c_out = s / (s^2 +
 * 0.25) ** 0.5`, `s = t * timestep_scaling`), then, at every step but the last, noises
 * `denoised` back to the next timestep with fresh noise: `x_prev = sqrt(a_prev) * denoised +
 * sqrt(1 - a_prev) * noise`.
 *
 * Options: the betas (incl. `trained_betas` and zero-terminal-SNR rescaling; LCM's defaults are
 * SD's scaled_linear 0.00085 .. 0.012), `original_inference_steps`, `timestep_scaling`,
 * `clip_sample` / `clip_sample_range`, dynamic thresholding, `set_alpha_to_one`, every
 * prediction type; `timestep_spacing` and `steps_offset` are kept in the config and read by
 * nothing, as in diffusers 0.42.1. `setTimesteps` takes `strength` and `originalInferenceSteps`
 * as diffusers' `set_timesteps` does; its custom `timesteps` argument has no counterpart here.
 *
 * The step follows diffusers' float32 torch arithmetic operation by operation with the timestep
 * a 0-d int64 tensor, as LCM's pipelines pass it (`scheduler.timesteps[i]`): `c_skip` and `c_out`
 * are float32 0-d tensors (`0.25 / x` is torch's `x.reciprocal() * 0.25`).
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { AlphaScheduler } from "./alpha_scheduler.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { type ClipConfig, clipOrThreshold, predictOriginalAndEpsilon } from "./prediction.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { StepIndex } from "./step_index.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `LCMScheduler`, as its diffusers `__init__` (0.42.1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LCMConfig, LCMScheduler } from "./lcm.ts";
 * const c: Partial<LCMConfig> = { originalInferenceSteps: 100, timestepScaling: 5 };
 * assert.equal(new LCMScheduler(c).config.originalInferenceSteps, 100);
 * ```
 */
export type LCMConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | keyof ClipConfig
    | "setAlphaToOne"
    | "stepsOffset"
    | "predictionType"
    | "timestepSpacing"
    | "rescaleBetasZeroSnr"
  >
  & {
    /** Length of the LCM schedule the inference timesteps are taken from (`original_inference_steps`). */
    originalInferenceSteps: number;
    /** The factor of the timestep in the boundary condition's `c_skip` / `c_out` (`timestep_scaling`). */
    timestepScaling: number;
  };

const BASE_SPEC = schedulerSpec<LCMConfig>("LCMScheduler", {
  originalInferenceSteps: 50,
  clipSample: false,
  clipSampleRange: 1.0,
  setAlphaToOne: true,
  stepsOffset: 0,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  timestepSpacing: "leading",
  timestepScaling: 10.0,
  rescaleBetasZeroSnr: false,
}, {
  originalInferenceSteps: { key: "original_inference_steps", kind: "int", min: 1 },
  timestepScaling: { key: "timestep_scaling", kind: "float" },
});

/**
 * `LCMScheduler`'s class name, defaults (diffusers' `__init__`, in its order: SD's
 * `scaled_linear` betas from 0.00085 to 0.012, unlike the other schedulers' `linear` 0.0001 ..
 * 0.02) and the fields of its own options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LCM_SPEC } from "./lcm.ts";
 * assert.equal(LCM_SPEC.defaults.betaSchedule, "scaled_linear");
 * assert.equal(LCM_SPEC.fields?.timestepScaling?.key, "timestep_scaling");
 * ```
 */
export const LCM_SPEC: SchedulerSpec<LCMConfig> = Object.freeze({
  ...BASE_SPEC,
  defaults: Object.freeze({
    ...BASE_SPEC.defaults,
    betaStart: 0.00085,
    betaEnd: 0.012,
    betaSchedule: "scaled_linear" as const,
  }),
});

/**
 * The extra arguments of diffusers' `LCMScheduler.set_timesteps`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LCMScheduler, type LCMSetTimestepsOptions } from "./lcm.ts";
 * const opts: LCMSetTimestepsOptions = { strength: 0.5 };
 * const s = new LCMScheduler();
 * s.setTimesteps(4, opts);
 * assert.deepEqual(s.timesteps, [499, 379, 259, 139]);
 * ```
 */
export interface LCMSetTimestepsOptions {
  /** Overrides the config's `original_inference_steps` for this schedule. */
  originalInferenceSteps?: number;
  /** The part of the LCM schedule kept, from its low end (img2img's strength); default 1. */
  strength?: number;
}

/**
 * What `LCMScheduler.step` returns: diffusers' `LCMSchedulerOutput` (`prev_sample`,
 * `denoised`), with `predOriginalSample` the same tensor as `denoised` (the x0 estimate LCM's
 * pipelines use and decode).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LCMScheduler, type LCMStepResult } from "./lcm.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = new LCMScheduler();
 * s.setTimesteps(1);
 * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
 * const r: LCMStepResult = s.step(x, s.timesteps[0], x);
 * assert.equal(r.prevSample, r.denoised); // the last step adds no noise
 * ```
 */
export interface LCMStepResult extends StepResult {
  /** `c_out * x0 + c_skip * x_t`: the consistency model's estimate of x0. */
  denoised: Tensor;
  /** The same tensor as `denoised`. */
  predOriginalSample: Tensor;
}

/**
 * diffusers' `get_scalings_for_boundary_condition_discrete(timestep)` with the timestep a 0-d
 * int64 tensor (as LCM's pipelines pass it), in float32: `s = t * timestep_scaling`, `c_skip =
 * (s^2 + 0.25).reciprocal() * 0.25`, `c_out = s / (s^2 + 0.25) ** 0.5` (`sigma_data` 0.5).
 *
 * @param timestep the training timestep
 * @param timestepScaling the config's `timestep_scaling` (used as float32, as torch does)
 * @param math float32 sqrt (default IEEE)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lcmBoundaryScalings } from "./lcm.ts";
 * assert.deepEqual(lcmBoundaryScalings(0, 10), { cSkip: 1, cOut: 0 });
 * const { cSkip, cOut } = lcmBoundaryScalings(999, 10);
 * assert.ok(cSkip < 1e-8 && Math.abs(cOut - 1) < 1e-7);
 * ```
 */
export function lcmBoundaryScalings(
  timestep: number,
  timestepScaling: number,
  math: Pick<Float32Math, "sqrt"> = ieeeMath,
): { cSkip: number; cOut: number } {
  const scaled = f32(f32(timestep) * f32(timestepScaling));
  const denom = f32(f32(scaled * scaled) + 0.25);
  const cSkip = f32(f32(1 / denom) * 0.25);
  const cOut = f32(scaled / math.sqrt(denom));
  return { cSkip, cOut };
}

/**
 * The latent consistency model sampler. `step` reproduces diffusers' float32 arithmetic
 * operation by operation and draws its noise (at every step but the last, as diffusers does)
 * from `opts.generator` (torch.randn's numbers) or takes `opts.varianceNoise`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LCMScheduler } from "./lcm.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const s = LCMScheduler.fromConfig({ original_inference_steps: 50 });
 * s.setTimesteps(4);
 * assert.deepEqual(s.timesteps, [999, 759, 499, 259]);
 * const generator = new TorchGenerator(0);
 * let x = generator.randn([1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x, { generator }).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class LCMScheduler extends AlphaScheduler<LCMConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<LCMConfig> = LCM_SPEC;
  /** The alpha product used below timestep 0: 1, or `alphasCumprod[0]` (`set_alpha_to_one`). */
  readonly finalAlphaCumprod: number;
  readonly #steps = new StepIndex();

  /**
   * Creates the instance; its timesteps are the training ones, descending, until
   * `setTimesteps` (diffusers' `__init__`).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `LCMScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt comes from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<LCMConfig> = {}, options?: SchedulerOptions) {
    super(LCM_SPEC, config, options);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
    for (let t = this.config.numTrainTimesteps - 1; t >= 0; t--) this.timestepList.push(t);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}):
   * unknown keys are kept and reported in `configWarnings`, wrong types are errors.
   *
   * @throws {SchedulerConfigError} naming `source` and the field.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LCMScheduler } from "./lcm.ts";
   * const s = LCMScheduler.fromConfig({ skip_prk_steps: true });
   * assert.equal(s.configWarnings.length, 1);
   * assert.throws(() => LCMScheduler.fromConfig({ timestep_scaling: "10" }, "a.json"),
   *   /a\.json: "timestep_scaling"/);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): LCMScheduler {
    return fromDiffusersConfig(LCMScheduler, json, source, math);
  }

  /** Index of the next step into `timesteps` (diffusers' `step_index`); `null` before the first step. */
  get stepIndex(): number | null {
    return this.#steps.stepIndex;
  }

  /** The first step's index when set by {@link LCMScheduler.setBeginIndex}, else `null`. */
  get beginIndex(): number | null {
    return this.#steps.beginIndex;
  }

  /**
   * diffusers' `set_begin_index`: the index of the first step (pipelines that start
   * mid-schedule call it); `setTimesteps` clears it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LCMScheduler } from "./lcm.ts";
   * const s = new LCMScheduler();
   * s.setTimesteps(4);
   * s.setBeginIndex(2);
   * assert.equal(s.beginIndex, 2);
   * ```
   */
  setBeginIndex(beginIndex = 0): void {
    this.#steps.setBeginIndex(beginIndex);
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps, original_inference_steps=, strength=)`:
   * the LCM schedule `(1 .. int(original_steps * strength)) * k - 1` with `k =
   * num_train_timesteps // original_steps`, reversed, at the indices
   * `floor(np.linspace(0, len, n, endpoint=False))`. Resets the step and begin indices.
   *
   * @throws {RangeError} with diffusers' checks: `numInferenceSteps` not a positive integer or
   * above `num_train_timesteps` or `original_inference_steps`; `original_inference_steps` above
   * `num_train_timesteps`; fewer LCM timesteps (`original_steps * strength`) than steps.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LCMScheduler } from "./lcm.ts";
   * const s = new LCMScheduler();
   * s.setTimesteps(2);
   * assert.deepEqual(s.timesteps, [999, 499]);
   * s.setTimesteps(3, { originalInferenceSteps: 100 });
   * assert.deepEqual(s.timesteps, [999, 669, 339]);
   * assert.throws(() => s.setTimesteps(60), /`original_steps x strength`: 50 x 1 is smaller/);
   * ```
   */
  setTimesteps(numInferenceSteps: number, options: LCMSetTimestepsOptions = {}): void {
    const who = "LCMScheduler.setTimesteps";
    const n = numInferenceSteps;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(`${who}: numInferenceSteps must be a positive integer, got ${n}`);
    }
    const N = this.config.numTrainTimesteps;
    const originalSteps = options.originalInferenceSteps ?? this.config.originalInferenceSteps;
    const strength = options.strength ?? 1.0;
    if (!Number.isInteger(originalSteps) || originalSteps < 1) {
      throw new RangeError(
        `${who}: originalInferenceSteps must be a positive integer, got ${originalSteps}`,
      );
    }
    if (!(strength >= 0 && strength <= 1)) {
      throw new RangeError(`${who}: strength must be in [0, 1], got ${strength}`);
    }
    if (originalSteps > N) {
      throw new RangeError(
        `${who}: \`original_steps\`: ${originalSteps} cannot be larger than ` +
          `num_train_timesteps: ${N}`,
      );
    }
    // lcm_origin_timesteps = np.asarray(range(1, int(original_steps * strength) + 1)) * k - 1
    const k = Math.floor(N / originalSteps);
    const count = Math.trunc(originalSteps * strength);
    const origin: number[] = [];
    for (let i = count; i >= 1; i--) origin.push(i * k - 1); // already reversed
    if (n > N) {
      throw new RangeError(
        `${who}: \`num_inference_steps\`: ${n} cannot be larger than num_train_timesteps: ${N}`,
      );
    }
    if (Math.floor(origin.length / n) < 1) {
      throw new RangeError(
        `${who}: the combination of \`original_steps x strength\`: ${originalSteps} x ${strength} ` +
          `is smaller than \`num_inference_steps\`: ${n}`,
      );
    }
    if (n > originalSteps) {
      throw new RangeError(
        `${who}: \`num_inference_steps\`: ${n} cannot be larger than ` +
          `\`original_inference_steps\`: ${originalSteps}`,
      );
    }
    // np.floor(np.linspace(0, len, num=n, endpoint=False)): i * (len / n) in float64
    const step = origin.length / n;
    this.timestepList = Array.from({ length: n }, (_, i) => origin[Math.floor(i * step)]);
    this.numInferenceSteps = n;
    this.#steps.reset();
  }

  /**
   * One LCM step (diffusers' `LCMScheduler.step`): x0 from the model output, clipped or
   * thresholded, the boundary condition `denoised = c_out * x0 + c_skip * x_t`
   * ({@link lcmBoundaryScalings}), then `x_prev = sqrt(a_prev) * denoised + sqrt(1 - a_prev) *
   * noise` where `a_prev` is the next timestep's alpha product, or `x_prev = denoised` at the
   * last step (which draws no noise). The noise is `opts.varianceNoise` or
   * `opts.generator.randn(modelOutput.shape)`.
   *
   * @throws {Error} before `setTimesteps`; when a step other than the last has neither noise
   * source, or both; on shape mismatches; when `timestep` is not in the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LCMScheduler } from "./lcm.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LCMScheduler();
   * s.setTimesteps(2);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, 0.2]), [1, 2]);
   * assert.throws(() => s.step(eps, s.timesteps[0], x), /needs a generator or varianceNoise/);
   * const zero = Tensor.zeros([1, 2]);
   * const { prevSample, denoised } = s.step(eps, s.timesteps[0], x, { varianceNoise: zero });
   * assert.deepEqual([prevSample.shape, denoised.shape], [[1, 2], [1, 2]]);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    opts: StepOptions = {},
  ): LCMStepResult {
    const who = "LCMScheduler.step";
    const numInferenceSteps = this.requireInferenceSteps(who);
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const index = this.#steps.init(this.timestepList, timestep, who);

    // 1. the previous step's timestep (the current one after the last step)
    const prevIndex = index + 1;
    const prevTimestep = prevIndex < this.timestepList.length
      ? this.timestepList[prevIndex]
      : timestep;
    // 2. alphas, betas
    const alphaProdT = this.alphaProdAt(timestep, who);
    const alphaProdTPrev = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const betaProdTPrev = f32(1 - alphaProdTPrev);
    // 3. the boundary condition scalings
    const { cSkip, cOut } = lcmBoundaryScalings(timestep, this.config.timestepScaling, this.math);
    // 4. predicted x0 ("parameterization" of the model output)
    const predicted = predictOriginalAndEpsilon(
      this.config.predictionType,
      modelOutput,
      sample,
      alphaProdT,
      this.math,
    ).predOriginalSample;
    // 5. clip or threshold x0
    const x0 = clipOrThreshold(predicted, this.config).data;
    // 6. denoised = c_out * x0 + c_skip * x_t
    const x = sample.data;
    const denoisedData = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) denoisedData[i] = f32(cOut * x0[i]) + f32(cSkip * x[i]);
    const denoised = new Tensor(denoisedData, sample.shape);
    // 7. multi-step noise injection at every step but the last
    let prevSample = denoised;
    if (index !== numInferenceSteps - 1) {
      const noise = stepNoise(modelOutput, opts, who, "every step but the last").data;
      const sqrtA = this.math.sqrt(alphaProdTPrev);
      const sqrtB = this.math.sqrt(betaProdTPrev);
      const prev = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) {
        prev[i] = f32(sqrtA * denoisedData[i]) + f32(sqrtB * noise[i]);
      }
      prevSample = new Tensor(prev, sample.shape);
    }
    this.#steps.advance();
    return { prevSample, predOriginalSample: denoised, denoised };
  }
}
