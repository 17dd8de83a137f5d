/**
 * EulerAncestralDiscreteScheduler: ancestral sampling with Euler steps (k-diffusion's
 * `sample_euler_ancestral`), an exact port of diffusers 0.42.1
 * `schedulers/scheduling_euler_ancestral_discrete.py`: each step goes down from `sigma` to
 * `sigma_down` deterministically, then adds fresh noise of standard deviation `sigma_up`, where
 * `sigma_up^2 + sigma_down^2 = sigma_next^2` and `sigma_up = sigma_next * sqrt(1 - sigma_next^2 /
 * sigma^2)`. Options: the betas (incl. `trained_betas`, zero-terminal-SNR), `epsilon` /
 * `v_prediction`, `timestep_spacing` linspace / leading / trailing with `steps_offset`; the
 * step-index / begin-index state.
 *
 * Sigma and timestep tables are computed as numpy does (float64 `np.interp`, stored as float32),
 * the step in float32 operation by operation, as diffusers' torch code does.
 *
 * @module
 */
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { npInterp } from "../numerics/numpy.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { SigmaScheduler } from "./sigma_scheduler.ts";
import { sigmasFromAlphasCumprod } from "./sigmas.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `EulerAncestralDiscreteScheduler`, as its diffusers `__init__` (0.42.1): the
 * betas, `prediction_type`, `timestep_spacing`, `steps_offset`, `rescale_betas_zero_snr`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EulerAncestralDiscreteConfig } from "./euler_ancestral_discrete.ts";
 * const c: Partial<EulerAncestralDiscreteConfig> = { predictionType: "v_prediction" };
 * assert.equal(c.predictionType, "v_prediction");
 * ```
 */
export type EulerAncestralDiscreteConfig = Pick<
  SchedulerConfig,
  | BetaOption
  | "predictionType"
  | "timestepSpacing"
  | "stepsOffset"
  | "rescaleBetasZeroSnr"
>;

/**
 * `EulerAncestralDiscreteScheduler`'s class name and defaults (diffusers' `__init__`, in its
 * order).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EULER_ANCESTRAL_DISCRETE_SPEC } from "./euler_ancestral_discrete.ts";
 * assert.equal(EULER_ANCESTRAL_DISCRETE_SPEC.defaults.timestepSpacing, "linspace");
 * ```
 */
export const EULER_ANCESTRAL_DISCRETE_SPEC: SchedulerSpec<EulerAncestralDiscreteConfig> =
  schedulerSpec<EulerAncestralDiscreteConfig>("EulerAncestralDiscreteScheduler", {
    predictionType: "epsilon",
    timestepSpacing: "linspace",
    stepsOffset: 0,
    rescaleBetasZeroSnr: false,
  });

/**
 * The noise split of one ancestral step from `sigmaFrom` to `sigmaTo`, as diffusers computes it
 * in float32 (`sigma_up = (to^2 * (from^2 - to^2) / from^2) ** 0.5`, `sigma_down = (to^2 -
 * sigma_up^2) ** 0.5`): the step goes deterministically to `sigmaDown`, then adds noise times
 * `sigmaUp`, so that `sigmaDown^2 + sigmaUp^2 = sigmaTo^2`.
 *
 * @param sigmaFrom the current float32 sigma
 * @param sigmaTo the next float32 sigma (0 after the last step: both results are 0)
 * @param math float32 sqrt (default IEEE)
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ancestralSigmas } from "./euler_ancestral_discrete.ts";
 * const { sigmaUp, sigmaDown } = ancestralSigmas(2, 1);
 * assert.equal(sigmaUp, Math.fround(Math.sqrt(0.75)));
 * assert.ok(Math.abs(sigmaUp ** 2 + sigmaDown ** 2 - 1) < 1e-6);
 * assert.deepEqual(ancestralSigmas(2, 0), { sigmaUp: 0, sigmaDown: 0 });
 * ```
 */
export function ancestralSigmas(
  sigmaFrom: number,
  sigmaTo: number,
  math: Pick<Float32Math, "sqrt"> = ieeeMath,
): { sigmaUp: number; sigmaDown: number } {
  const to2 = f32(sigmaTo * sigmaTo);
  const from2 = f32(sigmaFrom * sigmaFrom);
  const sigmaUp = math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2));
  const sigmaDown = math.sqrt(f32(to2 - f32(sigmaUp * sigmaUp)));
  return { sigmaUp, sigmaDown };
}

/**
 * Euler ancestral sampling in sigma space. `step` reproduces diffusers' float32 arithmetic
 * operation by operation and draws its noise (every step, the last included, as diffusers does)
 * from `opts.generator` (torch.randn's numbers) or takes `opts.varianceNoise`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EulerAncestralDiscreteScheduler } from "./euler_ancestral_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const s = EulerAncestralDiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, timestep_spacing: "leading", steps_offset: 1 });
 * s.setTimesteps(4);
 * const generator = new TorchGenerator(0);
 * let x = generator.randn([1, 1, 2, 2]);
 * x = new Tensor(x.data.map((v) => v * s.initNoiseSigma), x.shape);
 * for (const t of s.timesteps) {
 *   const input = s.scaleModelInput(x, t);
 *   const eps = new Tensor(input.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x, { generator }).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class EulerAncestralDiscreteScheduler extends SigmaScheduler<EulerAncestralDiscreteConfig>
  implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<EulerAncestralDiscreteConfig> = EULER_ANCESTRAL_DISCRETE_SPEC;

  /**
   * With `rescaleBetasZeroSnr` the last `alphasCumprod` is 2^-24, as diffusers sets it.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `EulerAncestralDiscreteScheduler.fromConfig` (what the JSON carried
   *   besides options), and `math`: where float32 sqrt comes from (default `ieeeMath`)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<EulerAncestralDiscreteConfig> = {}, options?: SchedulerOptions) {
    super(EULER_ANCESTRAL_DISCRETE_SPEC, config, options);
    if (this.config.rescaleBetasZeroSnr) {
      // diffusers: "Close to 0 without being 0 so first sigma is not inf"
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    // __init__: the training sigmas, descending, then 0; timesteps N-1 .. 0
    const n = this.config.numTrainTimesteps;
    this.setSchedule(
      Array.from({ length: n }, (_, i) => n - 1 - i),
      sigmasFromAlphasCumprod(this.alphasCumprod, this.math).reverse(),
    );
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}):
   * unknown keys are kept and reported in `configWarnings`, wrong types are errors.
   *
   * @throws {SchedulerConfigError} naming `source` and the field.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerAncestralDiscreteScheduler } from "./euler_ancestral_discrete.ts";
   * const s = EulerAncestralDiscreteScheduler.fromConfig({ use_karras_sigmas: false });
   * assert.equal(s.configWarnings.length, 1);
   * assert.throws(() => EulerAncestralDiscreteScheduler.fromConfig({ steps_offset: "1" }, "a.json"),
   *   /a\.json: "steps_offset"/);
   * ```
   */
  static fromConfig(
    json: unknown,
    source?: string,
    math?: Float32Math,
  ): EulerAncestralDiscreteScheduler {
    return fromDiffusersConfig(EulerAncestralDiscreteScheduler, json, source, math);
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: float32 timesteps by `timestep_spacing`,
   * sigmas by `np.interp` of the training sigmas (float64, stored as float32), then 0; resets
   * the step and begin indices.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerAncestralDiscreteScheduler } from "./euler_ancestral_discrete.ts";
   * const s = new EulerAncestralDiscreteScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [999, 749, 499, 249]);
   * assert.equal(s.sigmas.length, 5);
   * assert.equal(s.sigmas[4], 0);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const { timesteps, table } = this.startSchedule(numInferenceSteps);
    const sigmas = npInterp(timesteps, Array.from(table, (_, i) => i), table);
    this.setSchedule(timesteps, sigmas);
  }

  /**
   * One ancestral Euler step (diffusers' `EulerAncestralDiscreteScheduler.step`):
   * `x0 = x - sigma * eps` (or from v), `d = (x - x0) / sigma`, `x' = x + d * (sigma_down -
   * sigma)`, then `x_prev = x' + noise * sigma_up` ({@link ancestralSigmas}), with the noise from
   * `opts.varianceNoise` or `opts.generator.randn(modelOutput.shape)`, drawn at every step.
   *
   * @throws {Error} when neither noise source is given, or both are; with `prediction_type`
   * "sample" (diffusers raises NotImplementedError); on shape mismatches; when `t` is not in the
   * schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerAncestralDiscreteScheduler } from "./euler_ancestral_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerAncestralDiscreteScheduler();
   * s.setTimesteps(2);
   * const x = new Tensor(new Float32Array([5, -5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.5, -0.4]), [1, 2]);
   * const zero = new Tensor(new Float32Array(2), [1, 2]);
   * const { prevSample, predOriginalSample } = s.step(eps, s.timesteps[0], x, { varianceNoise: zero });
   * assert.deepEqual([prevSample.shape, predOriginalSample?.shape], [[1, 2], [1, 2]]);
   * assert.throws(() => s.step(eps, s.timesteps[1], x), /needs a generator or varianceNoise/);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    opts: StepOptions = {},
  ): StepResult {
    const who = "EulerAncestralDiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    if (this.config.predictionType === "sample") {
      throw new Error(`${who}: prediction_type not implemented yet: sample (as in diffusers)`);
    }
    const index = this.currentStepIndex(timestep, who);
    const sigma = this.sigmaList[index];
    const x = sample.data;
    // 1. x0 from the sigma-scaled model output
    const pred = this.predictOriginal(x, modelOutput.data, sigma);
    const { sigmaUp, sigmaDown } = ancestralSigmas(sigma, this.sigmaList[index + 1], this.math);
    // 2. the ODE derivative, the Euler step down to sigma_down, then the ancestral noise
    const dt = f32(sigmaDown - sigma);
    const noise = stepNoise(modelOutput, opts, who, "every step").data;
    const prev = x.map((v, i) => {
      const down = f32(v + f32(f32(f32(v - pred[i]) / sigma) * dt));
      return down + f32(noise[i] * sigmaUp);
    });
    this.steps.advance();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
