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
import { Tensor } from "../tensor/tensor.ts";
import { assertSameShape, f32, noiseSchedule, sqrtF32, torchLinspaceF32 } from "./common.ts";
import {
  type ConfigOrigin,
  parseSchedulerConfig,
  resolveSchedulerConfig,
  type SchedulerConfig,
  type SchedulerSpec,
  toDiffusersConfig,
} from "./config.ts";
import {
  addNoiseBySigma,
  checkSigmaSpacing,
  exponentialSigmas,
  indexForTimestep,
  initNoiseSigmaOf,
  karrasSigmas,
  npInterp,
  npLogF32,
  sigmaSchedulerTimesteps,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from "./interp.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * Euler's `final_sigmas_type`: the sigma after the last step.
 *
 * @example
 * ```ts
 * import type { FinalSigmasType } from "./euler_discrete.ts";
 * const last: FinalSigmasType = "sigma_min";
 * ```
 */
export type FinalSigmasType = "zero" | "sigma_min";

/**
 * The options of `EulerDiscreteScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import type { EulerDiscreteConfig } from "./euler_discrete.ts";
 * const c: Partial<EulerDiscreteConfig> = { interpolationType: "log_linear", sigmaMin: null };
 * ```
 */
export type EulerDiscreteConfig =
  & Pick<
    SchedulerConfig,
    | "numTrainTimesteps"
    | "betaStart"
    | "betaEnd"
    | "betaSchedule"
    | "trainedBetas"
    | "predictionType"
    | "interpolationType"
    | "useKarrasSigmas"
    | "timestepSpacing"
    | "timestepType"
    | "stepsOffset"
    | "rescaleBetasZeroSnr"
  >
  & {
    /** Exponential sigma spacing (k-diffusion's `get_sigmas_exponential`). */
    useExponentialSigmas: boolean;
    /** Beta-distribution sigma spacing (arXiv 2407.12173); not supported here (needs scipy.stats). */
    useBetaSigmas: boolean;
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
 * import { EULER_DISCRETE_SPEC } from "./euler_discrete.ts";
 * EULER_DISCRETE_SPEC.defaults.timestepSpacing; // "linspace"
 * ```
 */
export const EULER_DISCRETE_SPEC: SchedulerSpec<EulerDiscreteConfig> = {
  className: "EulerDiscreteScheduler",
  defaults: Object.freeze({
    numTrainTimesteps: 1000,
    betaStart: 0.0001,
    betaEnd: 0.02,
    betaSchedule: "linear",
    trainedBetas: null,
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
  }),
  fields: {
    useExponentialSigmas: { key: "use_exponential_sigmas", kind: "boolean" },
    useBetaSigmas: { key: "use_beta_sigmas", kind: "boolean" },
    sigmaMin: { key: "sigma_min", kind: "float", nullable: true },
    sigmaMax: { key: "sigma_max", kind: "float", nullable: true },
    finalSigmasType: { key: "final_sigmas_type", kind: "enum", values: ["zero", "sigma_min"] },
  },
};

/**
 * Options of {@link EulerDiscreteScheduler.step}: diffusers' `s_churn`, `s_tmin`, `s_tmax`,
 * `s_noise`, plus the shared `generator` / `varianceNoise` for the churn noise.
 *
 * @example
 * ```ts
 * import type { EulerStepOptions } from "./euler_discrete.ts";
 * const opts: EulerStepOptions = { sChurn: 1.0, sNoise: 1.003 };
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
 * ```
 */
export class EulerDiscreteScheduler implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<EulerDiscreteConfig> = EULER_DISCRETE_SPEC;
  /** diffusers' `order`: model evaluations per step. */
  readonly order = 1;
  /** The complete configuration (frozen). */
  readonly config: Readonly<EulerDiscreteConfig>;
  /** Where the config came from: class name/version in the JSON, kept extra keys, warnings. */
  readonly configOrigin: ConfigOrigin;
  /** float32 betas, as diffusers' `self.betas`. */
  readonly betas: Float32Array;
  /** float32 cumulative product of `1 - betas` (last one 2^-24 with zero-terminal-SNR). */
  readonly alphasCumprod: Float32Array;
  /** `null` until `setTimesteps`. */
  numInferenceSteps: number | null = null;
  #sigmas: Float32Array;
  #timesteps: number[];
  #stepIndex: number | null = null;
  #beginIndex: number | null = null;

  /**
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param origin set by {@link EulerDiscreteScheduler.fromConfig}
   * @throws {SchedulerConfigError} on an unknown option or a value of the wrong type.
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options, or
   * on `useBetaSigmas` (not supported).
   */
  constructor(config: Partial<EulerDiscreteConfig> = {}, origin?: ConfigOrigin) {
    this.config = Object.freeze(resolveSchedulerConfig(EULER_DISCRETE_SPEC, config));
    this.configOrigin = origin ?? { extra: {}, warnings: [] };
    checkSigmaSpacing(this.config, origin?.source ?? "new EulerDiscreteScheduler()");
    const schedule = noiseSchedule(this.config);
    this.betas = schedule.betas;
    this.alphasCumprod = schedule.alphasCumprod;
    if (this.config.rescaleBetasZeroSnr) {
      // diffusers: "Close to 0 without being 0 so first sigma is not inf"
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    // __init__: the training sigmas, descending, then 0; timesteps N-1 .. 0
    const n = this.config.numTrainTimesteps;
    const table = sigmasFromAlphasCumprod(this.alphasCumprod).reverse();
    this.#sigmas = new Float32Array(n + 1);
    this.#sigmas.set(table);
    if (this.#continuous()) {
      this.#timesteps = Array.from(table, (s) => f32(0.25 * f32(Math.log(s))));
    } else {
      // np.linspace(0, N - 1, N)[::-1] as float32: the integers N - 1 .. 0
      this.#timesteps = Array.from({ length: n }, (_, i) => n - 1 - i);
    }
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object (snake_case keys).
   *
   * @param json the parsed JSON
   * @param source the file name, for errors and warnings
   * @throws {SchedulerConfigError} on a wrong type or an unknown enum value.
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = EulerDiscreteScheduler.fromConfig({ use_karras_sigmas: true, clip_sample: false });
   * s.configWarnings.length; // 1: clip_sample is not an option of EulerDiscreteScheduler
   * ```
   */
  static fromConfig(json: unknown, source?: string): EulerDiscreteScheduler {
    const parsed = parseSchedulerConfig(json, EULER_DISCRETE_SPEC, source);
    return new EulerDiscreteScheduler(parsed.config, parsed);
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
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * new EulerDiscreteScheduler().toDiffusersConfig().final_sigmas_type; // "zero"
   * ```
   */
  toDiffusersConfig(): Record<string, unknown> {
    return toDiffusersConfig(EULER_DISCRETE_SPEC, this.config, this.configOrigin);
  }

  #continuous(): boolean {
    return this.config.timestepType === "continuous" &&
      this.config.predictionType === "v_prediction";
  }

  /** The timesteps of the current schedule (float32 values), in the order they are visited. */
  get timesteps(): number[] {
    return [...this.#timesteps];
  }

  /** The float32 sigmas of the schedule, one more than the timesteps (the last is the final sigma). */
  get sigmas(): Float32Array {
    return this.#sigmas.slice();
  }

  /** Standard deviation of the initial noise (diffusers' `init_noise_sigma` property). */
  get initNoiseSigma(): number {
    return initNoiseSigmaOf(this.#sigmas, this.config.timestepSpacing);
  }

  /** Index of the next step into `timesteps` / `sigmas`; `null` before the first step. */
  get stepIndex(): number | null {
    return this.#stepIndex;
  }

  /** The first step's index when set by {@link EulerDiscreteScheduler.setBeginIndex}. */
  get beginIndex(): number | null {
    return this.#beginIndex;
  }

  /**
   * diffusers' `set_begin_index`: where the first step starts (pipelines that start
   * mid-schedule, e.g. img2img, call it).
   *
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * s.setBeginIndex(3);
   * ```
   */
  setBeginIndex(beginIndex = 0): void {
    this.#beginIndex = beginIndex;
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: timesteps by `timestep_spacing`, sigmas by
   * `np.interp` of the training sigmas (or log-linear, Karras, exponential), the final sigma,
   * and a reset of the step index.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = new EulerDiscreteScheduler({ useKarrasSigmas: true });
   * s.setTimesteps(5);
   * s.sigmas.length; // 6
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const c = this.config;
    let timesteps: number[] = sigmaSchedulerTimesteps(
      c.numTrainTimesteps,
      numInferenceSteps,
      c.timestepSpacing,
      c.stepsOffset,
    );
    this.numInferenceSteps = numInferenceSteps;
    const table = sigmasFromAlphasCumprod(this.alphasCumprod); // float32, ascending
    let sigmas: ArrayLike<number>;
    if (c.interpolationType === "linear") {
      sigmas = npInterp(timesteps, Array.from(table, (_, i) => i), table);
    } else {
      // torch.linspace(np.log(sigmas[-1]), np.log(sigmas[0]), n + 1).exp(): float32 throughout
      sigmas = torchLinspaceF32(
        npLogF32(table[table.length - 1]),
        npLogF32(table[0]),
        numInferenceSteps + 1,
      ).map((v) => Math.exp(v));
    }
    if (c.useKarrasSigmas || c.useExponentialSigmas) {
      const sigmaMin = c.sigmaMin ?? sigmas[sigmas.length - 1];
      const sigmaMax = c.sigmaMax ?? sigmas[0];
      sigmas = c.useKarrasSigmas
        ? karrasSigmas(sigmaMin, sigmaMax, numInferenceSteps)
        : exponentialSigmas(sigmaMin, sigmaMax, numInferenceSteps);
      const logSigmas = table.map(npLogF32);
      timesteps = Array.from(sigmas, (s) => f32(sigmaToT(s, logSigmas)));
    }
    const sigmaLast = c.finalSigmasType === "sigma_min"
      ? sqrtF32(f32(f32(1 - this.alphasCumprod[0]) / this.alphasCumprod[0]))
      : 0;
    const all = new Float32Array(sigmas.length + 1);
    all.set(sigmas);
    all[sigmas.length] = sigmaLast;
    this.#sigmas = all;
    if (this.#continuous()) {
      timesteps = Array.from(all.subarray(0, all.length - 1), (s) => f32(0.25 * f32(Math.log(s))));
    }
    this.#timesteps = timesteps;
    this.#stepIndex = null;
    this.#beginIndex = null;
  }

  /**
   * diffusers' `index_for_timestep`: the position of `timestep` in `timesteps` (the second one
   * when it appears twice).
   *
   * @throws {RangeError} when `timestep` is not in the schedule.
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * s.indexForTimestep(s.timesteps[3]); // 3
   * ```
   */
  indexForTimestep(timestep: number): number {
    return indexForTimestep(this.#timesteps, timestep, "EulerDiscreteScheduler");
  }

  #initStepIndex(timestep: number): number {
    if (this.#stepIndex === null) {
      this.#stepIndex = this.#beginIndex ?? this.indexForTimestep(timestep);
    }
    return this.#stepIndex;
  }

  /**
   * diffusers' `scale_model_input`: `sample / (sigma ** 2 + 1) ** 0.5` (float32) with the sigma
   * of the current step (found from `t` on the first call).
   *
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * const scaled = s.scaleModelInput(new Tensor(new Float32Array([1]), [1]), s.timesteps[0]);
   * ```
   */
  scaleModelInput(sample: Tensor, t: number): Tensor {
    const sigma = this.#sigmas[this.#initStepIndex(t)];
    const denom = sqrtF32(f32(f32(sigma * sigma) + 1));
    return new Tensor(sample.data.map((v) => v / denom), sample.shape);
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
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([5, -5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.5, -0.4]), [1, 2]);
   * const { prevSample, predOriginalSample } = s.step(eps, s.timesteps[0], x);
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
    const index = this.#initStepIndex(timestep);
    if (index + 1 >= this.#sigmas.length) {
      throw new RangeError(
        `${who}: step ${index} is past the end of the schedule (${this.#timesteps.length} steps); ` +
          `call setTimesteps again`,
      );
    }
    const sChurn = opts.sChurn ?? 0;
    const sTmin = opts.sTmin ?? 0;
    const sTmax = opts.sTmax ?? Infinity;
    const sNoise = opts.sNoise ?? 1;
    const sigma = this.#sigmas[index];
    // gamma: a Python float; the comparisons cast s_tmin / s_tmax to float32
    const gamma = f32(sTmin) <= sigma && sigma <= f32(sTmax)
      ? Math.min(sChurn / (this.#sigmas.length - 1), Math.SQRT2 - 1)
      : 0.0;
    const sigmaHat = f32(sigma * f32(gamma + 1));
    let x = sample.data;
    if (gamma > 0) {
      const noise = this.#noise(modelOutput, opts, who);
      const scale = sqrtF32(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma)));
      const noiseScale = f32(sNoise);
      x = x.map((v, i) => v + f32(f32(noise.data[i] * noiseScale) * scale));
    }
    const mo = modelOutput.data;
    let pred: Float32Array;
    const p = this.config.predictionType;
    if (p === "sample") {
      pred = mo.slice();
    } else if (p === "epsilon") {
      pred = x.map((v, i) => v - f32(sigmaHat * mo[i]));
    } else {
      // denoised = model_output * c_out + input * c_skip (with sigma, not sigma_hat)
      const s2p1 = f32(f32(sigma * sigma) + 1);
      const cOut = f32(-sigma / sqrtF32(s2p1));
      pred = x.map((v, i) => f32(mo[i] * cOut) + f32(v / s2p1));
    }
    const dt = f32(this.#sigmas[index + 1] - sigmaHat);
    const prev = x.map((v, i) => v + f32(f32(f32(v - pred[i]) / sigmaHat) * dt));
    this.#stepIndex = index + 1;
    return {
      prevSample: new Tensor(prev, sample.shape),
      predOriginalSample: new Tensor(pred, sample.shape),
    };
  }

  #noise(modelOutput: Tensor, opts: StepOptions, who: string): Tensor {
    if (opts.varianceNoise !== undefined && opts.generator !== undefined) {
      throw new Error(`${who}: pass either generator or varianceNoise, not both`);
    }
    if (opts.varianceNoise !== undefined) {
      assertSameShape(opts.varianceNoise, modelOutput, "variance_noise", "model_output", who);
      return opts.varianceNoise;
    }
    if (opts.generator === undefined) {
      throw new Error(
        `${who}: s_churn > 0 draws noise: pass opts.generator or opts.varianceNoise ` +
          `(there is no global RNG here)`,
      );
    }
    return opts.generator.randn(modelOutput.shape);
  }

  /**
   * diffusers' `add_noise` for sigma schedulers: `original + noise * sigma`, with the sigma of
   * `t` (one per batch item, or one for all) looked up as diffusers does: by timestep before
   * any `setBeginIndex`, else at the current step index (or the begin index).
   *
   * @example
   * ```ts
   * import { EulerDiscreteScheduler } from "./euler_discrete.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new EulerDiscreteScheduler();
   * s.setTimesteps(10);
   * const x0 = new Tensor(new Float32Array([1, 2]), [1, 2]);
   * const noisy = s.addNoise(x0, new Tensor(new Float32Array([1, 1]), [1, 2]), s.timesteps[0]);
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    return addNoiseBySigma(this, original, noise, t);
  }
}
