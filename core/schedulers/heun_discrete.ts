/**
 * HeunDiscreteScheduler: Heun's method in sigma space (Karras et al. 2022, Algorithm 1, k-diffusion's
 * `sample_heun`), an exact port of diffusers 0.42.1 `schedulers/scheduling_heun_discrete.py`.
 * A second-order scheduler (`order` 2): `setTimesteps(n)` repeats every timestep and sigma after
 * the first (`repeat_interleave(2)`), so the loop makes `2 * n - 1` model calls, one per entry
 * of `timesteps`, as diffusers' pipelines do; the calls alternate an Euler step (which stores its
 * derivative, `dt` and sample) and the Heun correction (which averages the two derivatives and
 * restarts from the stored sample); the last step is a lone Euler step to sigma 0.
 *
 * Options: the betas (incl. `trained_betas`; not the `"exp"` schedule), `epsilon` /
 * `v_prediction` / `sample`, `clip_sample` with `clip_sample_range`, `use_karras_sigmas`,
 * `use_exponential_sigmas` (`use_beta_sigmas` is refused), `timestep_spacing` linspace /
 * leading / trailing with `steps_offset`; the step-index / begin-index state.
 *
 * Sigma and timestep tables are computed as numpy does (float64 `np.interp`, Karras /
 * exponential sigmas, stored as float32), the step in float32 operation by operation, as
 * diffusers' torch code does.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { npInterp } from "../numerics/numpy.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { SchedulerConfigError } from "./config_json.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions, SigmaScheduler } from "./sigma_scheduler.ts";
import { respaceSigmas } from "./sigmas.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `HeunDiscreteScheduler`, as its diffusers `__init__` (0.42.1): the betas,
 * `prediction_type`, the sigma spacings, `clip_sample`, `clip_sample_range`, `timestep_spacing`,
 * `steps_offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { HeunDiscreteConfig } from "./heun_discrete.ts";
 * const c: Partial<HeunDiscreteConfig> = { useKarrasSigmas: true, clipSample: true };
 * assert.equal(c.clipSample, true);
 * ```
 */
export type HeunDiscreteConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "predictionType"
    | "useKarrasSigmas"
    | "clipSample"
    | "clipSampleRange"
    | "timestepSpacing"
    | "stepsOffset"
  >
  & ExtraSigmaOptions;

const BASE_SPEC = schedulerSpec<HeunDiscreteConfig>("HeunDiscreteScheduler", {
  predictionType: "epsilon",
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  clipSample: false,
  clipSampleRange: 1.0,
  timestepSpacing: "linspace",
  stepsOffset: 0,
}, EXTRA_SIGMA_FIELDS);

/**
 * `HeunDiscreteScheduler`'s class name and defaults (diffusers' `__init__`, in its order; its
 * betas default to 0.00085 .. 0.012, "linear", unlike the other schedulers' 0.0001 .. 0.02).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HEUN_DISCRETE_SPEC } from "./heun_discrete.ts";
 * assert.deepEqual([HEUN_DISCRETE_SPEC.defaults.betaStart, HEUN_DISCRETE_SPEC.defaults.betaEnd], [0.00085, 0.012]);
 * assert.equal(HEUN_DISCRETE_SPEC.defaults.clipSample, false);
 * ```
 */
export const HEUN_DISCRETE_SPEC: SchedulerSpec<HeunDiscreteConfig> = Object.freeze({
  ...BASE_SPEC,
  defaults: Object.freeze({ ...BASE_SPEC.defaults, betaStart: 0.00085, betaEnd: 0.012 }),
});

/**
 * Heun's method in sigma space. `step` reproduces diffusers' float32 arithmetic operation by
 * operation, including the state kept between the Euler call and the correction call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HeunDiscreteScheduler } from "./heun_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = HeunDiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, use_karras_sigmas: true });
 * s.setTimesteps(4);
 * assert.equal(s.order, 2);
 * assert.equal(s.timesteps.length, 7); // 2 * 4 - 1 model calls
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const input = s.scaleModelInput(x, t);
 *   const eps = new Tensor(input.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class HeunDiscreteScheduler extends SigmaScheduler<HeunDiscreteConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<HeunDiscreteConfig> = HEUN_DISCRETE_SPEC;
  /** diffusers' `order`: two model calls per step (one for the last). */
  override readonly order: number = 2;
  /** diffusers' `prev_derivative`: the Euler call's derivative, until the correction. */
  #prevDerivative: Float32Array | null = null;
  /** diffusers' `dt`: the Euler call's `sigma_next - sigma_hat`, until the correction. */
  #dt: number | null = null;
  /** diffusers' `sample`: the sample the Euler call started from, until the correction. */
  #sample: Float32Array | null = null;

  /**
   * Sets the training schedule as diffusers' `__init__` does: `set_timesteps(num_train_timesteps)`
   * (so the timesteps are repeated and respaced as any schedule).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `HeunDiscreteScheduler.fromConfig` (what the JSON carried besides
   *   options), and `math`: where float32 sqrt/exp/log come from (default `ieeeMath`)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type, on
   * `use_beta_sigmas` (not supported: diffusers computes it with scipy.stats.beta.ppf), and on
   * more than one of the sigma-spacing options.
   */
  constructor(config: Partial<HeunDiscreteConfig> = {}, options?: SchedulerOptions) {
    const source = options?.source ?? "new HeunDiscreteScheduler()";
    const chosen = [config.useBetaSigmas, config.useExponentialSigmas, config.useKarrasSigmas];
    if (chosen.filter((b) => b === true).length > 1) {
      throw new SchedulerConfigError(
        source,
        "use_karras_sigmas",
        `only one of "use_beta_sigmas", "use_exponential_sigmas", "use_karras_sigmas" can be true`,
      );
    }
    if (config.useBetaSigmas === true) {
      throw new SchedulerConfigError(
        source,
        "use_beta_sigmas",
        "not supported (diffusers computes it with scipy.stats.beta.ppf); expected false",
      );
    }
    super(HEUN_DISCRETE_SPEC, config, options);
    this.setTimesteps(this.config.numTrainTimesteps);
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}):
   * unknown keys are kept and reported in `configWarnings`, wrong types are errors.
   *
   * @throws {SchedulerConfigError} naming `source` and the field.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeunDiscreteScheduler } from "./heun_discrete.ts";
   * const s = HeunDiscreteScheduler.fromConfig({ interpolation_type: "linear" });
   * assert.equal(s.configWarnings.length, 1);
   * assert.throws(() => HeunDiscreteScheduler.fromConfig({ use_beta_sigmas: true }, "a.json"),
   *   /a\.json: "use_beta_sigmas": not supported/);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): HeunDiscreteScheduler {
    return fromDiffusersConfig(HeunDiscreteScheduler, json, source, math);
  }

  /**
   * diffusers' `state_in_first_order`: true when the next `step` is an Euler call (no stored
   * `dt`), false when it is the Heun correction.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeunDiscreteScheduler } from "./heun_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new HeunDiscreteScheduler();
   * s.setTimesteps(3);
   * const x = new Tensor(new Float32Array([1]), [1]);
   * assert.equal(s.stateInFirstOrder, true);
   * s.step(x, s.timesteps[0], x);
   * assert.equal(s.stateInFirstOrder, false);
   * s.step(x, s.timesteps[1], x);
   * assert.equal(s.stateInFirstOrder, true);
   * ```
   */
  get stateInFirstOrder(): boolean {
    return this.#dt === null;
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: float32 timesteps by `timestep_spacing`,
   * sigmas by `np.interp` of the training sigmas (float64), or Karras / exponential sigmas with
   * their `_sigma_to_t` timesteps; then 0 after the last sigma, every sigma but the first and
   * the last and every timestep but the first repeated (`repeat_interleave(2)`): `2 * n - 1`
   * timesteps and `2 * n` sigmas. Resets the step and begin indices and the Heun state.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeunDiscreteScheduler } from "./heun_discrete.ts";
   * const s = new HeunDiscreteScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [999, 749, 749, 499, 499, 249, 249]);
   * assert.equal(s.sigmas.length, 8);
   * assert.deepEqual([s.sigmas[1], s.sigmas[7]], [s.sigmas[2], 0]);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const start = this.startSchedule(numInferenceSteps);
    const table = start.table;
    const interp = npInterp(start.timesteps, Array.from(table, (_, i) => i), table);
    const { sigmas, timesteps } = respaceSigmas(
      {
        useKarrasSigmas: this.config.useKarrasSigmas,
        useExponentialSigmas: this.config.useExponentialSigmas,
      },
      interp,
      start.timesteps,
      table,
    );
    // np.concatenate([sigmas, [0.0]]).astype(np.float32), then
    // torch.cat([sigmas[:1], sigmas[1:-1].repeat_interleave(2), sigmas[-1:]])
    const f = Float32Array.from(sigmas);
    const repeated: number[] = [f[0]];
    for (let i = 1; i < f.length; i++) repeated.push(f[i], f[i]);
    // torch.cat([timesteps[:1], timesteps[1:].repeat_interleave(2)]), as float32
    const ts: number[] = [f32(timesteps[0])];
    for (let i = 1; i < timesteps.length; i++) ts.push(f32(timesteps[i]), f32(timesteps[i]));
    this.setSchedule(ts, repeated);
    this.#prevDerivative = null;
    this.#dt = null;
    this.#sample = null;
  }

  /**
   * One call of diffusers' `HeunDiscreteScheduler.step`. In first order (an Euler call, from
   * `sigma = sigmas[i]` to `sigma_next = sigmas[i + 1]`): `x0` from the model output at `sigma`,
   * `d = (x - x0) / sigma`, `dt = sigma_next - sigma`, stores `d`, `dt` and `x`, and returns
   * `x + d * dt`. In second order (the correction, `sigma = sigmas[i - 1]`, `sigma_next =
   * sigmas[i]`): `x0` at `sigma_next`, `d' = (x - x0) / sigma_next`, returns `x_stored + (d +
   * d') / 2 * dt` and clears the state. `x0` is clamped to `±clip_sample_range` with
   * `clip_sample`.
   *
   * @throws {Error} on shape mismatches (also against the stored sample); when `t` is not in the
   * schedule, or the schedule is stepped through.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { HeunDiscreteScheduler } from "./heun_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new HeunDiscreteScheduler({ predictionType: "sample" });
   * s.setTimesteps(2);
   * const [s0, s1] = [s.sigmas[0], s.sigmas[1]];
   * const x = new Tensor(new Float32Array([1]), [1]);
   * const x0 = new Tensor(new Float32Array([0]), [1]);
   * const euler = s.step(x0, s.timesteps[0], x).prevSample.data[0]; // x + (x / s0) * (s1 - s0)
   * assert.ok(Math.abs(euler - s1 / s0) < 1e-6);
   * const heun = s.step(x0, s.timesteps[1], new Tensor(new Float32Array([euler]), [1]));
   * assert.ok(Math.abs(heun.prevSample.data[0] - (1 + (1 / s0 + euler / s1) / 2 * (s1 - s0))) < 1e-6);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _opts: StepOptions = {},
  ): StepResult {
    const who = "HeunDiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const index = this.currentStepIndex(timestep, who);
    const firstOrder = this.stateInFirstOrder;
    if (!firstOrder && index < 1) {
      throw new RangeError(
        `${who}: the Heun correction at step index ${index} has no previous sigma`,
      );
    }
    const sigma = this.sigmaList[firstOrder ? index : index - 1];
    const sigmaNext = this.sigmaList[firstOrder ? index + 1 : index];
    // gamma = 0: sigma_hat = sigma * (gamma + 1) == sigma
    const sigmaHat = sigma;
    const x = sample.data;
    // 1. x0 from the sigma-scaled model output (at sigma_hat, or sigma_next when correcting)
    const pred = this.predictOriginal(x, modelOutput.data, firstOrder ? sigmaHat : sigmaNext);
    if (this.config.clipSample) {
      // .clamp(-range, range): the bounds cast to float32; NaN stays NaN
      const hi = f32(this.config.clipSampleRange);
      const lo = -hi;
      for (let i = 0; i < pred.length; i++) {
        const v = pred[i];
        pred[i] = v < lo ? lo : v > hi ? hi : v;
      }
    }
    let prev: Float32Array;
    if (firstOrder) {
      // 2. the ODE derivative; 3. delta sigma; stored for the correction
      const derivative = x.map((v, i) => f32(v - pred[i]) / sigmaHat);
      const dt = f32(sigmaNext - sigmaHat);
      this.#prevDerivative = derivative;
      this.#dt = dt;
      this.#sample = x.slice();
      prev = x.map((v, i) => v + f32(derivative[i] * dt));
    } else {
      // 2. Heun's method: the mean of the two derivatives; 3. from the stored sample and dt
      const d0 = this.#prevDerivative!;
      const start = this.#sample!;
      const dt = this.#dt!;
      if (start.length !== x.length) {
        throw new RangeError(
          `${who}: sample has ${x.length} values, the first-order call's had ${start.length}`,
        );
      }
      prev = x.map((v, i) => {
        const derivative = f32(f32(d0[i] + f32(f32(v - pred[i]) / sigmaNext)) / 2);
        return start[i] + f32(derivative * dt);
      });
      this.#prevDerivative = null;
      this.#dt = null;
      this.#sample = null;
    }
    this.steps.advance();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
