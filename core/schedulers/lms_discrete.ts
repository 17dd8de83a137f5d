/**
 * LMSDiscreteScheduler: the linear multistep method in sigma space (k-diffusion's
 * `sample_lms`), an exact port of diffusers 0.42.1 `schedulers/scheduling_lms_discrete.py`:
 * sigma tables as EulerDiscrete's (linear interpolation, Karras or exponential sigmas), and
 * the multistep coefficients as the integrals of Lagrange basis polynomials that diffusers
 * computes with `scipy.integrate.quad` — reproduced here by numerics/quadpack.ts (QUADPACK's
 * QAGS), evaluating the integrand in float32 as diffusers' torch tensors do, so that the coefficients come out as the
 * same doubles.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { npInterp } from "../numerics/numpy.ts";
import { quadQags } from "../numerics/quadpack.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions, SigmaScheduler } from "./sigma_scheduler.ts";
import { respaceSigmas } from "./sigmas.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The integrand of diffusers' `get_lms_coefficient` (its inner `lms_derivative`): the Lagrange
 * basis polynomial of node `sigmas[t - currentOrder]` among the nodes `sigmas[t - k]`,
 * k < order, evaluated as diffusers' torch code does: `tau` (a double) meets float32 0-d
 * tensors, so it is rounded to float32 and every `(tau - s_k) / (s_j - s_k)` factor and running
 * product is float32; with `order` 1 the product stays the Python float 1.0.
 *
 * @throws {RangeError} when the nodes `sigmas[t - order + 1 .. t + 1]` do not exist.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lmsIntegrand } from "./lms_discrete.ts";
 * const f = lmsIntegrand(new Float32Array([4, 2, 1]), 2, 1, 0); // nodes 2 and 4, basis of node 2
 * assert.deepEqual(Array.from([f(2), f(3)]), [1, 0.5]);
 * ```
 */
export function lmsIntegrand(
  sigmas: Float32Array,
  order: number,
  t: number,
  currentOrder: number,
): (tau: number) => number {
  if (!Number.isSafeInteger(order) || order < 1 || t - (order - 1) < 0 || t + 1 >= sigmas.length) {
    throw new RangeError(
      `lmsIntegrand: order ${order} at step ${t} needs sigmas[${t - order + 1}..${t + 1}] ` +
        `(have ${sigmas.length})`,
    );
  }
  const sj = sigmas[t - currentOrder];
  return (tau: number): number => {
    let prod: number | null = null;
    const tau32 = f32(tau);
    for (let k = 0; k < order; k++) {
      if (k === currentOrder) continue;
      const sk = sigmas[t - k];
      const factor = f32(f32(tau32 - sk) / f32(sj - sk));
      prod = prod === null ? factor : f32(prod * factor);
    }
    return prod ?? 1.0;
  };
}

/**
 * diffusers' `LMSDiscreteScheduler.get_lms_coefficient(order, t, current_order)`:
 * `scipy.integrate.quad(lms_derivative, sigmas[t], sigmas[t + 1], epsrel=1e-4)[0]` with the
 * integrand of {@link lmsIntegrand} and QUADPACK's QAGS ({@link quadQags}): the same double
 * as diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lmsCoefficient } from "./lms_discrete.ts";
 * const sigmas = new Float32Array([14.6, 7.2, 3.1, 0]);
 * assert.equal(lmsCoefficient(sigmas, 1, 0, 0), sigmas[1] - sigmas[0]); // quad integrates 1 exactly
 * ```
 */
export function lmsCoefficient(
  sigmas: Float32Array,
  order: number,
  t: number,
  currentOrder: number,
): number {
  const f = lmsIntegrand(sigmas, order, t, currentOrder);
  return quadQags(f, sigmas[t], sigmas[t + 1], { epsrel: 1e-4 }).result;
}

/**
 * The options of `LMSDiscreteScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LMSDiscreteConfig } from "./lms_discrete.ts";
 * const c: Partial<LMSDiscreteConfig> = { useKarrasSigmas: true, timestepSpacing: "leading" };
 * assert.equal(c.timestepSpacing, "leading");
 * ```
 */
export type LMSDiscreteConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "useKarrasSigmas"
    | "predictionType"
    | "timestepSpacing"
    | "stepsOffset"
  >
  & ExtraSigmaOptions;

/**
 * `LMSDiscreteScheduler`'s class name, defaults (diffusers' `__init__`, in its order) and the
 * fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LMS_DISCRETE_SPEC } from "./lms_discrete.ts";
 * assert.equal(LMS_DISCRETE_SPEC.defaults.timestepSpacing, "linspace");
 * ```
 */
export const LMS_DISCRETE_SPEC: SchedulerSpec<LMSDiscreteConfig> = schedulerSpec<LMSDiscreteConfig>(
  "LMSDiscreteScheduler",
  {
    useKarrasSigmas: false,
    useExponentialSigmas: false,
    useBetaSigmas: false,
    predictionType: "epsilon",
    timestepSpacing: "linspace",
    stepsOffset: 0,
  },
  EXTRA_SIGMA_FIELDS,
);

/**
 * Options of {@link LMSDiscreteScheduler.step}: diffusers' `order` (default 4).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LMSStepOptions } from "./lms_discrete.ts";
 * const opts: LMSStepOptions = { order: 2 };
 * assert.equal(opts.order, 2);
 * ```
 */
export interface LMSStepOptions extends StepOptions {
  /** Order of the linear multistep method (1 to 4 in practice). */
  order?: number;
}

/**
 * The LMS sampler. `step` reproduces diffusers' float32 arithmetic and its quad-integrated
 * coefficients; `setTimesteps` reproduces its numpy sigma and timestep tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = LMSDiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012 });
 * s.setTimesteps(4);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const input = s.scaleModelInput(x, t);
 *   const eps = new Tensor(input.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class LMSDiscreteScheduler extends SigmaScheduler<LMSDiscreteConfig> implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<LMSDiscreteConfig> = LMS_DISCRETE_SPEC;
  /** The coefficients of the last `step`, in `current_order` order (diffusers does not keep them). */
  lastCoefficients: number[] = [];
  #derivatives: Float32Array[] = [];

  /**
   * Sets `numTrainTimesteps` inference steps, as diffusers' `__init__` does.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `LMSDiscreteScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   * @throws {RangeError} on more than one sigma-spacing option, or `useBetaSigmas`.
   */
  constructor(config: Partial<LMSDiscreteConfig> = {}, options?: SchedulerOptions) {
    super(LMS_DISCRETE_SPEC, config, options);
    this.setTimesteps(this.config.numTrainTimesteps); // as diffusers' __init__
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = LMSDiscreteScheduler.fromConfig({ use_karras_sigmas: true });
   * assert.equal(s.config.useKarrasSigmas, true);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): LMSDiscreteScheduler {
    return fromDiffusersConfig(LMSDiscreteScheduler, json, source, math);
  }

  /**
   * diffusers' `set_timesteps`: timesteps by `timestep_spacing`, sigmas by `np.interp` of the
   * training sigmas (Karras or exponential on request, with timesteps from `_sigma_to_t`), a
   * final 0, and a reset of the step index and the stored derivatives.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(4);
   * assert.deepEqual(Array.from(s.timesteps), [999, 666, 333, 0]);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const start = this.startSchedule(numInferenceSteps);
    const { timesteps, table } = start;
    const interpolated = npInterp(timesteps, Array.from(table, (_, i) => i), table);
    const spaced = respaceSigmas(this.config, interpolated, timesteps, table);
    this.setSchedule(spaced.timesteps, spaced.sigmas);
    this.#derivatives = [];
  }

  /**
   * diffusers' `get_lms_coefficient(order, t, current_order)` on this schedule's sigmas.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * const c = s.getLmsCoefficient(2, 1, 0);
   * assert.ok(c < 0); // sigmas descend: the integral runs backwards
   * ```
   */
  getLmsCoefficient(order: number, t: number, currentOrder: number): number {
    return lmsCoefficient(this.sigmaList, order, t, currentOrder);
  }

  /**
   * One LMS step (diffusers' `LMSDiscreteScheduler.step`): `x0` from the prediction type, the
   * derivative `(x - x0) / sigma` appended to the last `order` ones, and
   * `x_prev = x + sum_k coeff_k * d_k` with the quad-integrated coefficients (Python floats,
   * applied to float32 tensors as float32).
   *
   * @throws {RangeError} on shape mismatches, a timestep not in the schedule, a step past the
   * end, or an `order` that is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LMSDiscreteScheduler } from "./lms_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new LMSDiscreteScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([5, -5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.5, -0.4]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x, { order: 4 });
   * assert.deepEqual(prevSample.shape, [1, 2]);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    opts: LMSStepOptions = {},
  ): StepResult {
    const who = "LMSDiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const orderParam = opts.order ?? 4;
    if (!Number.isSafeInteger(orderParam) || orderParam < 1) {
      throw new RangeError(`${who}: order must be a positive integer, got ${orderParam}`);
    }
    const index = this.currentStepIndex(timestep, who);
    const sigma = this.sigmaList[index];
    const x = sample.data;
    const pred = this.predictOriginal(x, modelOutput.data, sigma);
    const derivative = x.map((v, i) => f32(v - pred[i]) / sigma);
    this.#derivatives.push(derivative);
    if (this.#derivatives.length > orderParam) this.#derivatives.shift();
    const order = Math.min(index + 1, orderParam);
    const coeffs: number[] = [];
    for (let k = 0; k < order; k++) coeffs.push(this.getLmsCoefficient(order, index, k));
    this.lastCoefficients = coeffs;
    // sum(coeff * derivative for coeff, derivative in zip(lms_coeffs, reversed(derivatives)))
    const n = Math.min(coeffs.length, this.#derivatives.length);
    const sum = new Float32Array(x.length);
    for (let k = 0; k < n; k++) {
      const c = f32(coeffs[k]);
      const d = this.#derivatives[this.#derivatives.length - 1 - k];
      for (let i = 0; i < sum.length; i++) {
        sum[i] = k === 0 ? f32(c * d[i]) : sum[i] + f32(c * d[i]);
      }
    }
    const prev = x.map((v, i) => v + sum[i]);
    this.steps.advance();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
