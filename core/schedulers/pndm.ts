/**
 * PNDMScheduler: pseudo numerical methods for diffusion models (Liu et al., arXiv 2202.09778),
 * an exact port of diffusers 0.42.1 `schedulers/scheduling_pndm.py`: the F-PNDM start of four
 * pseudo Runge–Kutta steps (four model evaluations each, with its `ets` / `counter` state and
 * the PRK timestep layout), then pseudo linear multistep (PLMS) steps; or, with
 * `skip_prk_steps`, PLMS from the start (crowsonkb's variant, the Stable Diffusion default),
 * whose second evaluation re-uses the first sample (`cur_sample`). float32 throughout, in
 * diffusers' operation order.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import {
  halfAdd,
  halfDivScalar,
  halfMulScalar,
  halfScaledBy,
  halfSub,
} from "../tensor/half_ops.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { AlphaScheduler } from "./alpha_scheduler.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { npArange, npLinspace } from "../numerics/numpy.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `PNDMScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PNDMConfig } from "./pndm.ts";
 * const c: Partial<PNDMConfig> = { skipPrkSteps: true, stepsOffset: 1 };
 * assert.equal(c.skipPrkSteps, true);
 * ```
 */
export type PNDMConfig = Pick<
  SchedulerConfig,
  | BetaOption
  | "skipPrkSteps"
  | "setAlphaToOne"
  | "predictionType"
  | "timestepSpacing"
  | "stepsOffset"
>;

/**
 * `PNDMScheduler`'s class name and defaults, exactly as diffusers' `PNDMScheduler.__init__`
 * (`prediction_type` is `epsilon` or `v_prediction` only: diffusers' step rejects the others).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PNDM_SPEC } from "./pndm.ts";
 * assert.equal(PNDM_SPEC.defaults.skipPrkSteps, false);
 * ```
 */
export const PNDM_SPEC: SchedulerSpec<PNDMConfig> = schedulerSpec<PNDMConfig>("PNDMScheduler", {
  skipPrkSteps: false,
  setAlphaToOne: false,
  predictionType: "epsilon",
  timestepSpacing: "leading",
  stepsOffset: 0,
}, {
  predictionType: { key: "prediction_type", kind: "enum", values: ["epsilon", "v_prediction"] },
});

/** F-PNDM's order: four Runge–Kutta stages, then four-step Adams–Bashforth. */
const PNDM_ORDER = 4;

/**
 * The PNDM sampler. Call `step` once per entry of `timesteps`, with that entry: the PRK start
 * takes 12 model evaluations for 3 steps, so `timesteps` is longer than `numInferenceSteps`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PNDMScheduler } from "./pndm.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = PNDMScheduler.fromConfig({ beta_schedule: "scaled_linear", beta_start: 0.00085,
 *   beta_end: 0.012, skip_prk_steps: true, steps_offset: 1 });
 * s.setTimesteps(4);
 * assert.deepEqual(s.timesteps, [751, 501, 501, 251, 1]);
 * let x = new Tensor(new Float32Array(4).fill(1), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, x).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class PNDMScheduler extends AlphaScheduler<PNDMConfig> implements Scheduler {
  /** Class name and defaults. */
  static readonly spec: SchedulerSpec<PNDMConfig> = PNDM_SPEC;
  /** The alpha product after the last step: 1 (`set_alpha_to_one`) or `alphasCumprod[0]`. */
  readonly finalAlphaCumprod: number;
  /** The PRK part of `timesteps` (empty with `skip_prk_steps`). */
  prkTimesteps: number[] = [];
  /** The PLMS part of `timesteps`. */
  plmsTimesteps: number[] = [];
  // running values, as diffusers' cur_model_output / counter / cur_sample / ets
  #curModelOutput: Float32Array | null = null; // null: the Python int 0
  #counter = 0;
  #curSample: Float32Array | null = null;
  #ets: Float32Array[] = [];

  /**
   * Creates the instance (see the class documentation for what it holds).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `PNDMScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   */
  constructor(config: Partial<PNDMConfig> = {}, options?: SchedulerOptions) {
    super(PNDM_SPEC, config, options);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1.0 : this.alphasCumprod[0];
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PNDMScheduler } from "./pndm.ts";
   * const s = PNDMScheduler.fromConfig({ skip_prk_steps: true, clip_sample: false });
   * assert.equal(s.configWarnings.length, 1);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): PNDMScheduler {
    return fromDiffusersConfig(PNDMScheduler, json, source, math);
  }

  /** How many `step` calls have been made since `setTimesteps` (diffusers' `counter`). */
  get counter(): number {
    return this.#counter;
  }

  /**
   * diffusers' `PNDMScheduler.set_timesteps`: the inference timesteps by `timestep_spacing`
   * (ascending), then the PRK layout (the last four timesteps, each followed by its midpoint,
   * each repeated: 12 evaluations) and the PLMS timesteps; with `skip_prk_steps` the PLMS list
   * repeats the second timestep for the pseudo improved Euler start. Resets the running state.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer, or is below 4
   * without `skip_prk_steps` (diffusers fails there with a numpy broadcasting error).
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PNDMScheduler } from "./pndm.ts";
   * const s = new PNDMScheduler();
   * s.setTimesteps(10);
   * assert.deepEqual(Array.from(s.timesteps.slice(0, 4)), [900, 850, 850, 800]);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const who = "PNDMScheduler.setTimesteps";
    const n = numInferenceSteps;
    const { numTrainTimesteps: N, timestepSpacing, stepsOffset, skipPrkSteps } = this.config;
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`${who}: num_inference_steps must be a positive integer, got ${n}`);
    }
    let ts: number[]; // diffusers' self._timesteps, ascending
    if (timestepSpacing === "linspace") {
      ts = Array.from(npLinspace(0, N - 1, n), roundHalfEven);
    } else if (timestepSpacing === "leading") {
      const ratio = Math.floor(N / n);
      ts = Array.from({ length: n }, (_, i) => i * ratio + stepsOffset);
    } else {
      ts = Array.from(npArange(N, 0, -N / n), (v) => roundHalfEven(v) - 1).reverse();
    }
    if (skipPrkSteps) {
      // np.concatenate([ts[:-1], ts[-2:-1], ts[-1:]])[::-1], with Python's slice clipping
      this.prkTimesteps = [];
      const plms = [
        ...ts.slice(0, -1),
        ...(ts.length >= 2 ? [ts[ts.length - 2]] : []),
        ts[ts.length - 1],
      ];
      this.plmsTimesteps = plms.reverse();
    } else {
      if (ts.length < PNDM_ORDER) {
        throw new RangeError(
          `${who}: the Runge-Kutta start needs num_inference_steps >= ${PNDM_ORDER}, got ${n} ` +
            `(use skip_prk_steps: true for fewer steps)`,
        );
      }
      // np.array(ts[-4:]).repeat(2) + np.tile([0, N // n // 2], 4), then [:-1].repeat(2)[1:-1][::-1]
      const half = Math.floor(Math.floor(N / n) / 2);
      const prk: number[] = [];
      for (const t of ts.slice(-PNDM_ORDER)) prk.push(t, t + half);
      const repeated = prk.slice(0, -1).flatMap((t) => [t, t]);
      this.prkTimesteps = repeated.slice(1, -1).reverse();
      this.plmsTimesteps = ts.slice(0, -3).reverse();
    }
    this.timestepList = [...this.prkTimesteps, ...this.plmsTimesteps];
    this.numInferenceSteps = n;
    this.#ets = [];
    this.#counter = 0;
    this.#curModelOutput = null;
  }

  /**
   * One PNDM step (diffusers' `PNDMScheduler.step`): a pseudo Runge–Kutta stage while the PRK
   * timesteps last (`step_prk`), else a pseudo linear multistep step (`step_plms`). PNDM's step
   * returns no predicted x0.
   *
   * @throws {Error} before `setTimesteps`, on shape mismatches, or when a timestep falls outside
   * the training range.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { PNDMScheduler } from "./pndm.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new PNDMScheduler({ skipPrkSteps: true });
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const { prevSample } = s.step(new Tensor(new Float32Array([0.1, 0.2]), [1, 2]), s.timesteps[0], x);
   * assert.deepEqual(prevSample.shape, [1, 2]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "PNDMScheduler.step";
    this.requireInferenceSteps(who);
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const half = opts.precision === "float16";
    if (half && !this.config.skipPrkSteps) {
      throw new RangeError(
        `${who} (float16): the float16 step is implemented for the PLMS steps only ` +
          "(skip_prk_steps: true, the Stable Diffusion default); got skip_prk_steps false",
      );
    }
    if (this.#counter < this.prkTimesteps.length && !this.config.skipPrkSteps) {
      return this.#stepPrk(modelOutput, timestep, sample);
    }
    return this.#stepPlms(modelOutput, timestep, sample, half);
  }

  /** diffusers' `step_prk`: the four Runge–Kutta stages of one F-PNDM step. */
  #stepPrk(modelOutput: Tensor, timestep: number, sample: Tensor): StepResult {
    const N = this.config.numTrainTimesteps;
    const n = this.numInferenceSteps!;
    const diffToPrev = this.#counter % 2 ? 0 : Math.floor(Math.floor(N / n) / 2);
    const prevTimestep = timestep - diffToPrev;
    const t = this.prkTimesteps[Math.floor(this.#counter / 4) * 4];
    let mo = modelOutput.data;
    const stage = this.#counter % 4;
    if (stage === 0) {
      this.#accumulate(mo, 1 / 6);
      this.#ets.push(mo.slice());
      this.#curSample = sample.data.slice();
    } else if (stage === 1 || stage === 2) {
      this.#accumulate(mo, 1 / 3);
    } else {
      const acc = this.#curModelOutput;
      const w = f32(1 / 6);
      mo = mo.map((v, i) => (acc === null ? 0 : acc[i]) + f32(w * v));
      this.#curModelOutput = null;
    }
    const cur = this.#curSample ?? sample.data;
    const prev = this.#prevSample(cur, t, prevTimestep, mo);
    this.#counter += 1;
    return { prevSample: new Tensor(prev, sample.shape) };
  }

  /** `self.cur_model_output += weight * model_output` (a Python float times a float32 tensor). */
  #accumulate(mo: Float32Array, weight: number): void {
    const w = f32(weight);
    const acc = this.#curModelOutput;
    this.#curModelOutput = acc === null
      ? mo.map((v) => f32(w * v))
      : acc.map((a, i) => a + f32(w * mo[i]));
  }

  /**
   * diffusers' `step_plms`: Adams–Bashforth over the stored model outputs; with `half`, on half
   * values in torch's CPU half arithmetic ({@link plmsCombineHalf}, `#prevSampleHalf`).
   */
  #stepPlms(modelOutput: Tensor, timestep: number, sample: Tensor, half = false): StepResult {
    const who = "PNDMScheduler.step";
    if (!this.config.skipPrkSteps && this.#ets.length < 3) {
      throw new Error(
        `${who}: PLMS steps can only run after the scheduler has run 12 Runge-Kutta ` +
          `iterations (expected ets >= 3, got ${this.#ets.length}); call step with every ` +
          `entry of timesteps in order`,
      );
    }
    const stride = Math.floor(this.config.numTrainTimesteps / this.numInferenceSteps!);
    let t = timestep;
    let prevTimestep = timestep - stride;
    let mo = modelOutput.data;
    if (this.#counter !== 1) {
      this.#ets = this.#ets.slice(-3);
      this.#ets.push(mo.slice());
    } else {
      prevTimestep = timestep;
      t = timestep + stride;
    }
    let x = sample.data;
    const ets = this.#ets;
    const e = (k: number) => ets[ets.length - k];
    if (half) {
      if (ets.length === 1 && this.#counter === 0) this.#curSample = x.slice();
      else if (ets.length === 1 && this.#counter === 1) {
        x = this.#curSample ?? x;
        this.#curSample = null;
      }
      const combined = plmsCombineHalf(mo, ets, this.#counter, sample.shape);
      const prev = this.#prevSampleHalf(new Tensor(x, sample.shape), t, prevTimestep, combined);
      this.#counter += 1;
      return { prevSample: prev };
    }
    if (ets.length === 1 && this.#counter === 0) {
      this.#curSample = x.slice();
    } else if (ets.length === 1 && this.#counter === 1) {
      const e1 = e(1);
      mo = mo.map((v, i) => f32(v + e1[i]) / 2);
      x = this.#curSample ?? x;
      this.#curSample = null;
    } else if (ets.length === 2) {
      const [e1, e2] = [e(1), e(2)];
      mo = e1.map((v, i) => f32(f32(3 * v) - e2[i]) / 2);
    } else if (ets.length === 3) {
      const [e1, e2, e3] = [e(1), e(2), e(3)];
      mo = e1.map((v, i) => f32(f32(f32(23 * v) - f32(16 * e2[i])) + f32(5 * e3[i])) / 12);
    } else {
      const [e1, e2, e3, e4] = [e(1), e(2), e(3), e(4)];
      const w = f32(1 / 24);
      mo = e1.map((v, i) =>
        w *
        f32(f32(f32(f32(55 * v) - f32(59 * e2[i])) + f32(37 * e3[i])) - f32(9 * e4[i]))
      );
    }
    const prev = this.#prevSample(x, t, prevTimestep, mo);
    this.#counter += 1;
    return { prevSample: new Tensor(prev, sample.shape) };
  }

  /**
   * `_get_prev_sample` on float16 tensors: the alphas are float32 0-dim tensors, so
   * `sample_coeff * sample` and `(a_prev - a_t) * model_output` cast them to half first and
   * `/ denom` divides by the float32 value (core/tensor/half_ops.ts).
   */
  #prevSampleHalf(sample: Tensor, timestep: number, prevTimestep: number, mo: Tensor): Tensor {
    const who = "PNDMScheduler.step";
    const at = this.alphaProdAt(timestep, who);
    const ap = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const bt = f32(1 - at);
    const bp = f32(1 - ap);
    if (this.config.predictionType === "v_prediction") {
      // (alpha_prod_t**0.5) * model_output + (beta_prod_t**0.5) * sample
      mo = halfAdd(halfScaledBy(this.math.sqrt(at), mo), halfScaledBy(this.math.sqrt(bt), sample));
    }
    const sampleCoeff = this.math.sqrt(f32(ap / at));
    const denom = f32(f32(at * this.math.sqrt(bp)) + this.math.sqrt(f32(f32(at * bt) * ap)));
    // sample_coeff * sample - (alpha_prod_t_prev - alpha_prod_t) * model_output / denom_coeff
    return halfSub(
      halfScaledBy(sampleCoeff, sample),
      halfDivScalar(halfScaledBy(f32(ap - at), mo), denom),
    );
  }

  /**
   * diffusers' `_get_prev_sample`, formula (9) of the PNDM paper:
   * `sqrt(a_prev / a_t) * x - (a_prev - a_t) * eps / (a_t * sqrt(1 - a_prev) +
   * sqrt(a_t * (1 - a_t) * a_prev))`, float32.
   */
  #prevSample(
    sample: Float32Array,
    timestep: number,
    prevTimestep: number,
    modelOutput: Float32Array,
  ): Float32Array {
    const who = "PNDMScheduler.step";
    const at = this.alphaProdAt(timestep, who);
    const ap = this.alphaProd(prevTimestep, this.finalAlphaCumprod, who);
    const bt = f32(1 - at);
    const bp = f32(1 - ap);
    let mo = modelOutput;
    if (this.config.predictionType === "v_prediction") {
      const sa = this.math.sqrt(at);
      const sb = this.math.sqrt(bt);
      mo = mo.map((v, i) => f32(sa * v) + f32(sb * sample[i]));
    }
    const sampleCoeff = this.math.sqrt(f32(ap / at));
    const denom = f32(f32(at * this.math.sqrt(bp)) + this.math.sqrt(f32(f32(at * bt) * ap)));
    const diff = f32(ap - at);
    return sample.map((v, i) => f32(sampleCoeff * v) - f32(f32(diff * mo[i]) / denom));
  }
}

/**
 * The model output `step_plms` combines, on float16 tensors (torch's CPU half arithmetic, the
 * integer and `1 / 24` factors taken as float32 scalars: core/tensor/half_ops.ts). `ets` holds
 * the stored outputs (the newest last) after this call's update; `counter` is the call's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plmsCombineHalf } from "./pndm.ts";
 * const e = (v: number) => new Float32Array([v]);
 * // (3 * e1 - e2) / 2, each op rounded to half
 * assert.equal(plmsCombineHalf(e(1), [e(0.5), e(1)], 2, [1]).data[0], 1.25);
 * ```
 */
export function plmsCombineHalf(
  modelOutput: Float32Array,
  ets: readonly Float32Array[],
  counter: number,
  shape: readonly number[],
): Tensor {
  const T = (d: Float32Array) => new Tensor(d, shape);
  const e = (k: number) => T(ets[ets.length - k]);
  const mul = halfMulScalar;
  if (ets.length === 1 && counter === 0) return T(modelOutput);
  if (ets.length === 1 && counter === 1) {
    return halfDivScalar(halfAdd(T(modelOutput), e(1)), 2); // (model_output + ets[-1]) / 2
  }
  if (ets.length === 2) return halfDivScalar(halfSub(mul(e(1), 3), e(2)), 2);
  if (ets.length === 3) {
    // (23 * ets[-1] - 16 * ets[-2] + 5 * ets[-3]) / 12
    return halfDivScalar(halfAdd(halfSub(mul(e(1), 23), mul(e(2), 16)), mul(e(3), 5)), 12);
  }
  // (1 / 24) * (55 * ets[-1] - 59 * ets[-2] + 37 * ets[-3] - 9 * ets[-4])
  const sum = halfSub(
    halfAdd(halfSub(mul(e(1), 55), mul(e(2), 59)), mul(e(3), 37)),
    mul(e(4), 9),
  );
  return mul(sum, 1 / 24);
}
