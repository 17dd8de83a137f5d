/**
 * KDPM2DiscreteScheduler: DPM-Solver-2 in sigma space (Karras et al. 2022, k-diffusion's
 * `sample_dpm_2`), an exact port of diffusers 0.42.1 `schedulers/scheduling_k_dpm_2_discrete.py`.
 * A second-order scheduler (`order` 2), HeunDiscreteScheduler's sibling: `setTimesteps(n)`
 * interleaves the n timesteps with the timesteps of the midpoint sigmas `sigmas_interpol`
 * (the geometric mean of each pair of neighbouring sigmas, in float32 log space), so the loop
 * makes `2 * n - 1` model calls, one per entry of `timesteps`; the calls alternate an Euler step
 * from `sigma` to the midpoint (which stores its sample) and the DPM-Solver-2 step from the stored
 * sample to `sigma_next` with the derivative at the midpoint; the last step is a lone Euler step
 * to sigma 0.
 *
 * Options: the betas (incl. `trained_betas`), `epsilon` / `v_prediction` (diffusers raises
 * NotImplementedError for `sample`: refused here), `use_karras_sigmas`, `use_exponential_sigmas`
 * (`use_beta_sigmas` is refused), `timestep_spacing` linspace / leading / trailing with
 * `steps_offset`; the step-index / begin-index state.
 *
 * Sigma and timestep tables are computed as numpy does (float64 `np.interp`, Karras /
 * exponential sigmas, their timesteps in float64), the midpoint sigmas and their timesteps as
 * diffusers' torch code does (float32 `log`, `lerp`, `exp`; `_sigma_to_t` over torch tensors,
 * float32), the step in float32 operation by operation.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { npInterp, npLogF32 } from "../numerics/numpy.ts";
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
import { exponentialSigmas, karrasSigmas, sigmaToT } from "./sigmas.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `KDPM2DiscreteScheduler`, as its diffusers `__init__` (0.42.1): the betas,
 * `prediction_type`, the sigma spacings, `timestep_spacing`, `steps_offset`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { KDPM2DiscreteConfig } from "./kdpm2_discrete.ts";
 * const c: Partial<KDPM2DiscreteConfig> = { useKarrasSigmas: true, predictionType: "v_prediction" };
 * assert.equal(c.useKarrasSigmas, true);
 * ```
 */
export type KDPM2DiscreteConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "useKarrasSigmas"
    | "predictionType"
    | "timestepSpacing"
    | "stepsOffset"
  >
  & ExtraSigmaOptions;

const BASE_SPEC = schedulerSpec<KDPM2DiscreteConfig>("KDPM2DiscreteScheduler", {
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  predictionType: "epsilon",
  timestepSpacing: "linspace",
  stepsOffset: 0,
}, EXTRA_SIGMA_FIELDS);

/**
 * `KDPM2DiscreteScheduler`'s class name and defaults (diffusers' `__init__`, in its order; its
 * betas default to 0.00085 .. 0.012, "linear", as Heun's).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KDPM2_DISCRETE_SPEC } from "./kdpm2_discrete.ts";
 * assert.deepEqual([KDPM2_DISCRETE_SPEC.defaults.betaStart, KDPM2_DISCRETE_SPEC.defaults.betaEnd], [0.00085, 0.012]);
 * assert.equal(KDPM2_DISCRETE_SPEC.className, "KDPM2DiscreteScheduler");
 * ```
 */
export const KDPM2_DISCRETE_SPEC: SchedulerSpec<KDPM2DiscreteConfig> = Object.freeze({
  ...BASE_SPEC,
  defaults: Object.freeze({ ...BASE_SPEC.defaults, betaStart: 0.00085, betaEnd: 0.012 }),
});

/**
 * diffusers' `_sigma_to_t` as KDPM2's `set_timesteps` calls it for the midpoint sigmas: `sigma`
 * a float32 torch scalar and `logSigmas` the float32 torch `log_sigmas`, so that (numpy's ufuncs
 * wrapping their results back into torch tensors) `log(max(sigma, 1e-10))` is numpy's float32
 * log ({@link npLogF32}) and the interpolation is float32 torch arithmetic:
 * `w = (low - log_sigma) / (low - high)`, clipped to [0, 1], `t = (1 - w) * low_idx + w * high_idx`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sigmaToTFloat32 } from "./kdpm2_discrete.ts";
 * const logs = new Float32Array([0, Math.fround(Math.log(4))]);
 * assert.equal(sigmaToTFloat32(2, logs), 0.5);
 * assert.equal(sigmaToTFloat32(100, logs), 1); // clipped
 * ```
 */
export function sigmaToTFloat32(sigma: number, logSigmas: Float32Array): number {
  const n = logSigmas.length;
  if (n < 2) throw new RangeError(`sigmaToTFloat32: need at least 2 log-sigmas, got ${n}`);
  // np.maximum(float32, 1e-10): a float32 result (NEP 50), NaN stays NaN
  const clamped = Number.isNaN(sigma) ? sigma : Math.max(f32(sigma), f32(1e-10));
  const logSigma = npLogF32(clamped);
  // low_idx = argmax(cumsum(dists >= 0)): the last index with log_sigma - log_sigmas[i] >= 0
  let lowIdx = 0;
  for (let i = 0; i < n; i++) if (f32(logSigma - logSigmas[i]) >= 0) lowIdx = i;
  lowIdx = Math.min(lowIdx, n - 2);
  const highIdx = lowIdx + 1;
  const low = logSigmas[lowIdx];
  const high = logSigmas[highIdx];
  let w = f32(f32(low - logSigma) / f32(low - high));
  w = Number.isNaN(w) ? w : Math.min(Math.max(w, 0), 1); // torch clip
  return f32(f32(f32(1 - w) * lowIdx) + f32(w * highIdx));
}

/**
 * DPM-Solver-2 in sigma space. `step` reproduces diffusers' float32 arithmetic operation by
 * operation, including the sample kept between the Euler call and the second-order call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = KDPM2DiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
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
export class KDPM2DiscreteScheduler extends SigmaScheduler<KDPM2DiscreteConfig>
  implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<KDPM2DiscreteConfig> = KDPM2_DISCRETE_SPEC;
  /** diffusers' `order`: two model calls per step (one for the last). */
  override readonly order: number = 2;
  /** diffusers' `sigmas_interpol` (float32, as long as `sigmas`; the first is NaN). */
  #sigmasInterpol: Float32Array = new Float32Array(0);
  /** diffusers' `sample`: the sample the Euler call started from, until the second-order call. */
  #sample: Float32Array | null = null;

  /**
   * Sets the training schedule as diffusers' `__init__` does: `set_timesteps(num_train_timesteps)`.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `KDPM2DiscreteScheduler.fromConfig` (what the JSON carried besides
   *   options), and `math`: where float32 sqrt/exp/log come from (default `ieeeMath`)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type, on
   * `use_beta_sigmas` (not supported: diffusers computes it with scipy.stats.beta.ppf), on
   * `prediction_type: "sample"` (diffusers' step raises NotImplementedError), and on more than
   * one of the sigma-spacing options.
   */
  constructor(config: Partial<KDPM2DiscreteConfig> = {}, options?: SchedulerOptions) {
    const source = options?.source ?? "new KDPM2DiscreteScheduler()";
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
    if (config.predictionType === "sample") {
      throw new SchedulerConfigError(
        source,
        "prediction_type",
        `"sample" is not implemented by diffusers' KDPM2DiscreteScheduler (its step raises ` +
          `NotImplementedError); expected "epsilon" or "v_prediction"`,
      );
    }
    super(KDPM2_DISCRETE_SPEC, config, options);
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
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * const s = KDPM2DiscreteScheduler.fromConfig({ clip_sample: true });
   * assert.equal(s.configWarnings.length, 1);
   * assert.throws(() => KDPM2DiscreteScheduler.fromConfig({ prediction_type: "sample" }, "a.json"),
   *   /a\.json: "prediction_type": "sample" is not implemented/);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): KDPM2DiscreteScheduler {
    return fromDiffusersConfig(KDPM2DiscreteScheduler, json, source, math);
  }

  /**
   * diffusers' `state_in_first_order`: true when no sample is stored (the next `step` is an
   * Euler call to the midpoint), false when the next is the second-order call.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new KDPM2DiscreteScheduler();
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
    return this.#sample === null;
  }

  /**
   * diffusers' `sigmas_interpol`: the midpoint sigmas, `exp(lerp(log sigma, log sigma_prev,
   * 0.5))` in float32, laid out as `sigmas` (its first entry NaN: `log 0` of the rolled final
   * sigma; never used).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * const s = new KDPM2DiscreteScheduler();
   * s.setTimesteps(2);
   * const [si, sg] = [s.sigmasInterpol, s.sigmas];
   * assert.equal(si.length, sg.length);
   * assert.ok(Number.isNaN(si[0]));
   * assert.ok(Math.abs(si[1] - Math.sqrt(sg[0] * sg[1])) < 1e-5 * sg[0]);
   * ```
   */
  get sigmasInterpol(): Float32Array {
    return this.#sigmasInterpol.slice();
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: float32 timesteps by `timestep_spacing`,
   * sigmas by `np.interp` of the training sigmas (float64), or Karras (timesteps rounded) /
   * exponential sigmas with their float64 `_sigma_to_t` timesteps; then 0 after the last sigma,
   * the midpoint sigmas `exp(lerp(log s, log s_prev, 0.5))` (float32, `this.math`), every sigma
   * after the first repeated (`repeat_interleave(2)`) and the final 0 once more: `2 * n + 2`
   * sigmas; the timesteps are the first one, then the midpoints' float32 `_sigma_to_t` timesteps
   * interleaved with the others: `2 * n - 1`. Resets the step and begin indices and the state.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * const s = new KDPM2DiscreteScheduler({ timestepSpacing: "trailing" });
   * s.setTimesteps(4);
   * assert.equal(s.timesteps.length, 7);
   * assert.deepEqual([s.timesteps[0], s.timesteps[2], s.timesteps[4], s.timesteps[6]], [999, 749, 499, 249]);
   * assert.ok(s.timesteps[1] < 999 && s.timesteps[1] > 749); // the midpoint's timestep
   * assert.equal(s.sigmas.length, 10);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const start = this.startSchedule(numInferenceSteps);
    const table = start.table;
    const logSigmas = table.map(npLogF32); // np.log of the float32 sigmas
    let sigmas: ArrayLike<number> = npInterp(
      start.timesteps,
      Array.from(table, (_, i) => i),
      table,
    );
    let timesteps: number[] = start.timesteps;
    const n = timesteps.length;
    if (this.config.useKarrasSigmas) {
      sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], n);
      // np.array([_sigma_to_t(...)]).round(): float64, half to even
      timesteps = Array.from(sigmas, (s) => roundHalfEven(sigmaToT(s, logSigmas)));
    } else if (this.config.useExponentialSigmas) {
      sigmas = exponentialSigmas(sigmas[sigmas.length - 1], sigmas[0], n);
      timesteps = Array.from(sigmas, (s) => sigmaToT(s, logSigmas)); // float64, kept
    }
    // np.concatenate([sigmas, [0.0]]).astype(np.float32)
    const s = new Float32Array(n + 1);
    s.set(Float32Array.from(sigmas));
    // sigmas.log().lerp(sigmas.roll(1).log(), 0.5).exp(); torch's lerp at weight 0.5:
    // end - (end - start) * 0.5
    const logs = Array.from(s, (v) => this.math.log(v));
    const interpol = new Float32Array(n + 1);
    for (let i = 0; i <= n; i++) {
      const a = logs[i];
      const e = logs[(i + n) % (n + 1)];
      interpol[i] = this.math.exp(f32(e - f32(f32(e - a) * 0.5)));
    }
    // torch.cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])
    const expand = (x: Float32Array): Float32Array => {
      const out = new Float32Array(2 * x.length);
      out[0] = x[0];
      for (let i = 1; i < x.length; i++) out[2 * i - 1] = out[2 * i] = x[i];
      out[out.length - 1] = x[x.length - 1];
      return out;
    };
    const allSigmas = expand(s);
    // timesteps_interpol: the float32 _sigma_to_t of each midpoint, cast to timesteps' dtype
    const ts: number[] = [timesteps[0]];
    for (let i = 1; i < n; i++) ts.push(sigmaToTFloat32(interpol[i], logSigmas), timesteps[i]);
    this.setSchedule(ts, allSigmas.subarray(0, allSigmas.length - 1), allSigmas.at(-1));
    this.#sigmasInterpol = expand(interpol);
    this.#sample = null;
  }

  /**
   * diffusers' `scale_model_input`: `sample / (sigma ** 2 + 1) ** 0.5` (float32) with the sigma
   * of the current step in first order, the midpoint sigma (`sigmas_interpol`) in second order.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new KDPM2DiscreteScheduler();
   * s.setTimesteps(3);
   * const x = new Tensor(new Float32Array([1]), [1]);
   * const scale = (sigma: number) => Math.fround(1 / Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1))));
   * assert.equal(s.scaleModelInput(x, s.timesteps[0]).data[0], scale(s.sigmas[0]));
   * s.step(x, s.timesteps[0], x);
   * assert.equal(s.scaleModelInput(x, s.timesteps[1]).data[0], scale(s.sigmasInterpol[1]));
   * ```
   */
  override scaleModelInput(sample: Tensor, t: number): Tensor {
    const index = this.steps.init(this.timestepList, t, this.className);
    const sigma = this.stateInFirstOrder ? this.sigmaList[index] : this.#sigmasInterpol[index];
    const denom = this.math.sqrt(f32(f32(sigma * sigma) + 1));
    return new Tensor(sample.data.map((v) => v / denom), sample.shape);
  }

  /**
   * One call of diffusers' `KDPM2DiscreteScheduler.step`. In first order (an Euler call from
   * `sigma = sigmas[i]` to the midpoint `sigma_interpol = sigmas_interpol[i + 1]`): `x0` from
   * the model output at `sigma`, `d = (x - x0) / sigma`, stores `x`, returns `x + d *
   * (sigma_interpol - sigma)`. In second order (`sigma = sigmas[i - 1]`, `sigma_interpol =
   * sigmas_interpol[i]`, `sigma_next = sigmas[i]`): `x0` at `sigma_interpol`, `d = (x - x0) /
   * sigma_interpol`, returns `x_stored + d * (sigma_next - sigma)` and clears the state.
   *
   * @throws {Error} on shape mismatches (also against the stored sample); when `t` is not in the
   * schedule, or the schedule is stepped through.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { KDPM2DiscreteScheduler } from "./kdpm2_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new KDPM2DiscreteScheduler();
   * s.setTimesteps(2);
   * const [s0, mid, s1] = [s.sigmas[0], s.sigmasInterpol[1], s.sigmas[1]];
   * const x = new Tensor(new Float32Array([1]), [1]);
   * const eps = new Tensor(new Float32Array([0.5]), [1]);
   * const half = s.step(eps, s.timesteps[0], x).prevSample.data[0]; // x + eps * (mid - s0)
   * assert.ok(Math.abs(half - (1 + 0.5 * (mid - s0))) < 1e-5);
   * const full = s.step(eps, s.timesteps[1], new Tensor(new Float32Array([half]), [1]));
   * assert.ok(Math.abs(full.prevSample.data[0] - (1 + 0.5 * (s1 - s0))) < 1e-5); // from x, not half
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _opts: StepOptions = {},
  ): StepResult {
    const who = "KDPM2DiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const index = this.currentStepIndex(timestep, who);
    if (index >= this.timestepList.length) {
      throw new RangeError(
        `${who}: step ${index} is past the end of the schedule (${this.timestepList.length} ` +
          `steps); call setTimesteps again`,
      );
    }
    const firstOrder = this.stateInFirstOrder;
    if (!firstOrder && index < 1) {
      throw new RangeError(
        `${who}: the second-order call at step index ${index} has no previous sigma`,
      );
    }
    const sigma = this.sigmaList[firstOrder ? index : index - 1];
    const sigmaInterpol = this.#sigmasInterpol[firstOrder ? index + 1 : index];
    const sigmaNext = this.sigmaList[firstOrder ? index + 1 : index];
    // gamma = 0: sigma_hat = sigma * (gamma + 1) == sigma
    const sigmaHat = sigma;
    const x = sample.data;
    // 1. x0 from the sigma-scaled model output (at sigma_hat, or the midpoint in second order)
    const pred = this.predictOriginal(x, modelOutput.data, firstOrder ? sigmaHat : sigmaInterpol);
    let prev: Float32Array;
    if (firstOrder) {
      // 2. the ODE derivative; 3. delta sigma to the midpoint; the sample kept for second order
      const dt = f32(sigmaInterpol - sigmaHat);
      this.#sample = x.slice();
      prev = x.map((v, i) => v + f32(f32(f32(v - pred[i]) / sigmaHat) * dt));
    } else {
      // DPM-Solver-2: 2. the derivative at the midpoint; 3. from the stored sample to sigma_next
      const dt = f32(sigmaNext - sigmaHat);
      const start = this.#sample!;
      if (start.length !== x.length) {
        throw new RangeError(
          `${who}: sample has ${x.length} values, the first-order call's had ${start.length}`,
        );
      }
      prev = x.map((v, i) => start[i] + f32(f32(f32(v - pred[i]) / sigmaInterpol) * dt));
      this.#sample = null;
    }
    this.steps.advance();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
