/**
 * EulerDiscreteScheduler: Euler's method in sigma space (Karras et al. 2022, Algorithm 2, with
 * the "churn" noise of its stochastic sampler), an exact port of diffusers 0.42.1
 * `schedulers/scheduling_euler_discrete.py`: linear or log-linear sigma interpolation, Karras
 * and exponential sigmas, discrete or continuous timesteps, `s_churn`/`s_tmin`/`s_tmax`/`s_noise`,
 * zero-terminal-SNR betas, `final_sigmas_type`, and the step-index / begin-index state.
 *
 * Sigma and timestep tables are computed in float64 as numpy does and stored as float32, the
 * step in float32 operation by operation, as diffusers does.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { assertSameShape, Tensor } from "../tensor/tensor.ts";
import { f32 } from "../numerics/f32.ts";
import { torchLinspaceF32 } from "../numerics/torch.ts";
import {
  type BetaOption,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { npInterp, npLogF32 } from "../numerics/numpy.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions, SigmaScheduler } from "./sigma_scheduler.ts";
import { respaceSigmas, sigmasFromAlphasCumprod } from "./sigmas.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * Euler's `final_sigmas_type`: the sigma after the last step.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FinalSigmasType } from "./euler_discrete.ts";
 * const last: FinalSigmasType = "sigma_min";
 * assert.equal(last, "sigma_min");
 * ```
 */
export type FinalSigmasType = "zero" | "sigma_min";

/**
 * The options of `EulerDiscreteScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EulerDiscreteConfig } from "./euler_discrete.ts";
 * const c: Partial<EulerDiscreteConfig> = { interpolationType: "log_linear", sigmaMin: null };
 * assert.equal(c.sigmaMin, null);
 * ```
 */
export type EulerDiscreteConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "predictionType"
    | "interpolationType"
    | "useKarrasSigmas"
    | "timestepSpacing"
    | "timestepType"
    | "stepsOffset"
    | "rescaleBetasZeroSnr"
  >
  & ExtraSigmaOptions
  & {
    /** Smallest sigma of the Karras / exponential schedules; `null`: the table's. */
    sigmaMin: number | null;
    /** Largest sigma of the Karras / exponential schedules; `null`: the table's. */
    sigmaMax: number | null;
    /** The sigma after the last step: 0, or the smallest training sigma. */
    finalSigmasType: FinalSigmasType;
  };

/**
 * `EulerDiscreteScheduler`'s class name, defaults (diffusers' `__init__`, in its order) and the
 * fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EULER_DISCRETE_SPEC } from "./euler_discrete.ts";
 * assert.equal(EULER_DISCRETE_SPEC.defaults.timestepSpacing, "linspace");
 * ```
 */
export const EULER_DISCRETE_SPEC: SchedulerSpec<EulerDiscreteConfig> = schedulerSpec<
  EulerDiscreteConfig
>("EulerDiscreteScheduler", {
  predictionType: "epsilon",
  interpolationType: "linear",
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  sigmaMin: null,
  sigmaMax: null,
  timestepSpacing: "linspace",
  timestepType: "discrete",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
  finalSigmasType: "zero",
}, {
  ...EXTRA_SIGMA_FIELDS,
  sigmaMin: { key: "sigma_min", kind: "float", nullable: true },
  sigmaMax: { key: "sigma_max", kind: "float", nullable: true },
  finalSigmasType: { key: "final_sigmas_type", kind: "enum", values: ["zero", "sigma_min"] },
});

/**
 * Options of {@link EulerDiscreteScheduler.step}: diffusers' `s_churn`, `s_tmin`, `s_tmax`,
 * `s_noise`, plus the shared `generator` / `varianceNoise` for the churn noise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EulerStepOptions } from "./euler_discrete.ts";
 * const opts: EulerStepOptions = { sChurn: 1.0, sNoise: 1.003 };
 * assert.equal(opts.sChurn, 1);
 * ```
 */
export interface EulerStepOptions extends StepOptions {
  /** Amount of noise added per step (0: the deterministic Euler method). */
  sChurn?: number;
  /** Churn only where `sTmin <= sigma <= sTmax`. */
  sTmin?: number;
  /** Churn only where `sTmin <= sigma <= sTmax`. */
  sTmax?: number;
  /** Scale of the churn noise. */
  sNoise?: number;
}

/**
 * The Euler sampler in sigma space. `step` reproduces diffusers' float32 arithmetic operation
 * by operation; `setTimesteps` reproduces its numpy float64 sigma and timestep tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = EulerDiscreteScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, timestep_spacing: "leading", steps_offset: 1 });
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
export class EulerDiscreteScheduler extends SigmaScheduler<EulerDiscreteConfig>
  implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<EulerDiscreteConfig> = EULER_DISCRETE_SPEC;

  /**
   * With `rescaleBetasZeroSnr` the last `alphasCumprod` is 2^-24, as diffusers sets it.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `EulerDiscreteScheduler.fromConfig` (what the JSON carried besides options), and
   *   `math`: where float32 sqrt/exp/log come from (default `ieeeMath`, correctly rounded)
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options, or
   * on `useBetaSigmas` (not supported).
   */
  constructor(config: Partial<EulerDiscreteConfig> = {}, options?: SchedulerOptions) {
    super(EULER_DISCRETE_SPEC, config, options);
    if (this.config.rescaleBetasZeroSnr) {
      // diffusers: "Close to 0 without being 0 so first sigma is not inf"
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    // __init__: the training sigmas, descending, then 0; timesteps N-1 .. 0
    const n = this.config.numTrainTimesteps;
    const table = sigmasFromAlphasCumprod(this.alphasCumprod, this.math).reverse();
    this.setSchedule(
      this.#continuous()
        ? Array.from(table, (s) => f32(0.25 * this.math.log(s)))
        // np.linspace(0, N - 1, N)[::-1] as float32: the integers N - 1 .. 0
        : Array.from({ length: n }, (_, i) => n - 1 - i),
      table,
    );
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = EulerDiscreteScheduler.fromConfig({ use_karras_sigmas: true, clip_sample: false });
   * assert.equal(s.configWarnings.length, 1);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): EulerDiscreteScheduler {
    return fromDiffusersConfig(EulerDiscreteScheduler, json, source, math);
  }

  #continuous(): boolean {
    return this.config.timestepType === "continuous" &&
      this.config.predictionType === "v_prediction";
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: timesteps by `timestep_spacing`, sigmas by
   * `np.interp` of the training sigmas (or log-linear, Karras, exponential), the final sigma,
   * and a reset of the step index.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = new EulerDiscreteScheduler({ useKarrasSigmas: true });
   * s.setTimesteps(5);
   * assert.equal(s.sigmas.length, 6);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    const start = this.startSchedule(numInferenceSteps);
    const table = start.table; // float32, ascending
    const sigmas = c.interpolationType === "linear"
      ? npInterp(start.timesteps, Array.from(table, (_, i) => i), table)
      // torch.linspace(np.log(sigmas[-1]), np.log(sigmas[0]), n + 1).exp(): float32 throughout
      : torchLinspaceF32(
        npLogF32(table[table.length - 1]),
        npLogF32(table[0]),
        numInferenceSteps + 1,
      ).map((v) => this.math.exp(v));
    const spaced = respaceSigmas(
      c,
      sigmas,
      start.timesteps,
      table,
      c.sigmaMin ?? undefined,
      c.sigmaMax ?? undefined,
    );
    const sigmaLast = c.finalSigmasType === "sigma_min"
      ? this.math.sqrt(f32(f32(1 - this.alphasCumprod[0]) / this.alphasCumprod[0]))
      : 0;
    const timesteps = this.#continuous()
      ? Array.from(Float32Array.from(spaced.sigmas), (s) => f32(0.25 * this.math.log(s)))
      : spaced.timesteps;
    this.setSchedule(timesteps, spaced.sigmas, sigmaLast);
  }

  /**
   * One Euler step (diffusers' `EulerDiscreteScheduler.step`): with `sChurn > 0` and
   * `sTmin <= sigma <= sTmax`, first raises the noise level to `sigma_hat = sigma * (gamma + 1)`
   * with noise from `opts.varianceNoise` or `opts.generator.randn(shape)`; then
   * `x0 = x - sigma_hat * eps` (or the v / sample predictions), `d = (x - x0) / sigma_hat`,
   * `x_prev = x + d * (sigma_next - sigma_hat)`.
   *
   * @throws {Error} when the churn needs noise and neither source is given, or both are; on
   * shape mismatches; when `t` is not in the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([5, -5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.5, -0.4]), [1, 2]);
   * const { prevSample, predOriginalSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, predOriginalSample?.shape], [[1, 2], [1, 2]]);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    opts: EulerStepOptions = {},
  ): StepResult {
    const who = "EulerDiscreteScheduler.step";
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const index = this.currentStepIndex(timestep, who);
    const sChurn = opts.sChurn ?? 0;
    const sTmin = opts.sTmin ?? 0;
    const sTmax = opts.sTmax ?? Infinity;
    const sNoise = opts.sNoise ?? 1;
    const sigma = this.sigmaList[index];
    // gamma: a Python float; the comparisons cast s_tmin / s_tmax to float32
    const gamma = f32(sTmin) <= sigma && sigma <= f32(sTmax)
      ? Math.min(sChurn / (this.sigmaList.length - 1), Math.SQRT2 - 1)
      : 0.0;
    const sigmaHat = f32(sigma * f32(gamma + 1));
    let x = sample.data;
    if (gamma > 0) {
      const noise = stepNoise(modelOutput, opts, who, "s_churn > 0 draws noise and");
      const scale = this.math.sqrt(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma)));
      const noiseScale = f32(sNoise);
      x = x.map((v, i) => v + f32(f32(noise.data[i] * noiseScale) * scale));
    }
    // v_prediction: denoised = model_output * c_out + input * c_skip (with sigma, not sigma_hat)
    const pred = this.predictOriginal(x, modelOutput.data, sigma, sigmaHat);
    const dt = f32(this.sigmaList[index + 1] - sigmaHat);
    const prev = x.map((v, i) => v + f32(f32(f32(v - pred[i]) / sigmaHat) * dt));
    this.steps.advance();
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }
}
