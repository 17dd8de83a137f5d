/**
 * DEISMultistepScheduler: the multistep Diffusion Exponential Integrator Sampler (Zhang & Chen
 * 2022, arXiv 2204.13902) of orders 1 to 3 with the log-rho polynomial fit, an exact port of
 * diffusers 0.42.1 `schedulers/scheduling_deis_multistep.py`: `lower_order_final`, Karras /
 * exponential sigmas, dynamic thresholding, epsilon / v_prediction / sample and the three
 * timestep spacings.
 *
 * The timestep and sigma tables are numpy float64 (stored as int64 timesteps and float32
 * sigmas), the step is torch float32 operation by operation in diffusers' order, with every
 * torch sqrt / exp / log from the scheduler's {@link Float32Math} (so that a reference machine's
 * recorded results replay exactly). The logarithms of the second- and third-order coefficients
 * are `np.log` of 0-d float32 torch tensors in diffusers: numpy's own float32 log
 * ({@link npLogF32}), not torch's.
 *
 * Not ported (a {@link SchedulerConfigError} naming the option): `use_beta_sigmas`,
 * `use_flow_sigmas`, `prediction_type: "flow_prediction"`, `use_dynamic_shifting`.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { npLogF32 } from "../numerics/numpy.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  PREDICTION_TYPES,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { SchedulerConfigError } from "./config_json.ts";
import { dpmAlphaSigma, DPMFamilyMultistepScheduler, type DPMFlowOptions } from "./dpm_family.ts";
import { DPM_MULTISTEP_SPEC } from "./dpm_multistep.ts";
import {
  dpmConvertModelOutput,
  dpmFirstOrderUpdate,
  dpmSigmaSchedule,
  dpmTimesteps,
} from "./dpm_solver.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions } from "./sigma_scheduler.ts";
import { checkSigmaSpacing } from "./sigmas.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `DEISMultistepScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DEISMultistepConfig } from "./deis.ts";
 * const c: Partial<DEISMultistepConfig> = { solverOrder: 3, useKarrasSigmas: true };
 * assert.equal(c.solverOrder, 3);
 * ```
 */
export type DEISMultistepConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "predictionType"
    | "thresholding"
    | "dynamicThresholdingRatio"
    | "sampleMaxValue"
    | "useKarrasSigmas"
    | "timestepSpacing"
    | "stepsOffset"
  >
  & ExtraSigmaOptions
  & DPMFlowOptions
  & {
    /** Order of the multistep solver: 1, 2 or 3 (`solver_order`). */
    solverOrder: number;
    /** `algorithm_type`: only `"deis"` (diffusers reads `dpmsolver` / `dpmsolver++` as it). */
    algorithmType: "deis";
    /** `solver_type`: only `"logrho"` (diffusers reads `midpoint`, `heun`, `bh1`, `bh2` as it). */
    solverType: "logrho";
    /** Lower orders in the last steps when there are fewer than 15 (`lower_order_final`). */
    lowerOrderFinal: boolean;
  };

/** DPMSolverMultistep's fields, read the same way here. */
const F = DPM_MULTISTEP_SPEC.fields!;

/**
 * `DEISMultistepScheduler`'s class name, defaults (diffusers' `__init__`, in its order) and the
 * fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEIS_MULTISTEP_SPEC } from "./deis.ts";
 * assert.equal(DEIS_MULTISTEP_SPEC.defaults.algorithmType, "deis");
 * assert.equal(DEIS_MULTISTEP_SPEC.fields?.solverType?.key, "solver_type");
 * ```
 */
export const DEIS_MULTISTEP_SPEC: SchedulerSpec<DEISMultistepConfig> = schedulerSpec<
  DEISMultistepConfig
>("DEISMultistepScheduler", {
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  algorithmType: "deis",
  solverType: "logrho",
  lowerOrderFinal: true,
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  useFlowSigmas: false,
  flowShift: 1.0,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  useDynamicShifting: false,
  timeShiftType: "exponential",
}, {
  ...EXTRA_SIGMA_FIELDS,
  solverOrder: F.solverOrder,
  // "flow_prediction" is read, then refused by name in the constructor
  predictionType: F.predictionType,
  // the others are read, then refused by name (diffusers' NotImplementedError)
  algorithmType: {
    key: "algorithm_type",
    kind: "enum",
    values: ["deis", "dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"],
  },
  solverType: {
    key: "solver_type",
    kind: "enum",
    values: ["logrho", "midpoint", "heun", "bh1", "bh2"],
  },
  lowerOrderFinal: F.lowerOrderFinal,
  useFlowSigmas: F.useFlowSigmas,
  flowShift: F.flowShift,
  useDynamicShifting: F.useDynamicShifting,
  timeShiftType: F.timeShiftType,
});

/** diffusers' `__init__` rewrites the DPM-Solver names to DEIS's (`register_to_config`). */
function diffusersAliases(config: Partial<DEISMultistepConfig>): Partial<DEISMultistepConfig> {
  const out = { ...config };
  const algorithm = out.algorithmType as string | undefined;
  if (algorithm === "dpmsolver" || algorithm === "dpmsolver++") out.algorithmType = "deis";
  if (["midpoint", "heun", "bh1", "bh2"].includes(out.solverType as string)) {
    out.solverType = "logrho";
  }
  return out;
}

/**
 * diffusers' third-order `ind_fn`, the integral of the quadratic Lagrange basis in log(rho),
 * in float32 torch arithmetic over numpy's float32 logs.
 */
function indFn3(t: number, b: number, c: number, d: number): number {
  const [lt, lb, lc, ld] = [npLogF32(t), npLogF32(b), npLogF32(c), npLogF32(d)];
  let inner = f32(lc * f32(f32(ld - lt) + 1));
  inner = f32(inner - f32(ld * lt));
  inner = f32(inner + ld);
  inner = f32(inner + f32(lt * lt));
  inner = f32(inner - f32(2 * lt));
  inner = f32(inner + 2);
  const numerator = f32(t * inner);
  const denominator = f32(f32(lb - lc) * f32(lb - ld));
  return f32(numerator / denominator);
}

/** diffusers' second-order `ind_fn`, the integral of the linear Lagrange basis in log(rho). */
function indFn2(t: number, b: number, c: number): number {
  const inner = f32(f32(-npLogF32(c) + npLogF32(t)) - 1);
  return f32(f32(t * inner) / f32(npLogF32(b) - npLogF32(c)));
}

/**
 * The multistep DEIS sampler. `step` reproduces diffusers' float32 arithmetic operation by
 * operation; `setTimesteps` reproduces its numpy timestep and sigma tables. `scaleModelInput`
 * is the identity and `initNoiseSigma` is 1, as in diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEISMultistepScheduler } from "./deis.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = DEISMultistepScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, solver_order: 3 });
 * s.setTimesteps(5);
 * assert.deepEqual(s.timesteps, [999, 799, 599, 400, 200]);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, s.scaleModelInput(x, t)).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class DEISMultistepScheduler extends DPMFamilyMultistepScheduler<DEISMultistepConfig>
  implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<DEISMultistepConfig> = DEIS_MULTISTEP_SPEC;

  /**
   * The betas, `alphas_cumprod` and training sigmas of diffusers' `__init__`, after its
   * `register_to_config` aliases (`dpmsolver` / `dpmsolver++` to `deis`; `midpoint`, `heun`,
   * `bh1`, `bh2` to `logrho`).
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DEISMultistepScheduler.fromConfig` (what the JSON carried besides
   *   options), and `math`: where float32 sqrt/exp/log come from (default IEEE)
   * @throws {SchedulerConfigError} on an unknown option, a value of the wrong type, an
   * `algorithm_type` other than `deis` / `dpmsolver` / `dpmsolver++` (diffusers'
   * NotImplementedError), or an option not supported yet (named).
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options, or
   * beta sigmas.
   */
  constructor(config: Partial<DEISMultistepConfig> = {}, options?: SchedulerOptions) {
    super(DEIS_MULTISTEP_SPEC, diffusersAliases(config), options);
    const source = options?.source ?? "new DEISMultistepScheduler()";
    checkSigmaSpacing(this.config, source);
    const c = this.config;
    if (c.algorithmType !== "deis") {
      throw new SchedulerConfigError(
        source,
        "algorithm_type",
        `${JSON.stringify(c.algorithmType)} is not implemented for DEISMultistepScheduler ` +
          `(diffusers raises NotImplementedError); expected "deis"`,
      );
    }
    const refuse = this.unsupported(source);
    if ((c.predictionType as string) === "flow_prediction") {
      refuse("prediction_type", c.predictionType, `one of ${PREDICTION_TYPES.join(", ")}`);
    }
    if (c.useFlowSigmas) refuse("use_flow_sigmas", true, "false");
    if (c.useDynamicShifting) refuse("use_dynamic_shifting", true, "false");
    // __init__: timesteps N-1 .. 0, the training sigmas
    this.initTrainingSchedule();
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DEISMultistepScheduler } from "./deis.ts";
   * const s = DEISMultistepScheduler.fromConfig({ solver_order: 3, algorithm_type: "dpmsolver++" });
   * assert.deepEqual([s.config.solverOrder, s.config.algorithmType], [3, "deis"]);
   * ```
   */
  static fromConfig(json: unknown, source?: string, math?: Float32Math): DEISMultistepScheduler {
    return fromDiffusersConfig(DEISMultistepScheduler, json, source, math);
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: integer timesteps by `timestep_spacing`,
   * sigmas by `np.interp` of the training sigmas then the smallest training sigma, or Karras /
   * exponential sigmas (their `_sigma_to_t` timesteps, rounded for Karras, truncated for
   * exponential) then their last one again; and a reset of the multistep history.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DEISMultistepScheduler } from "./deis.ts";
   * const s = new DEISMultistepScheduler({ timestepSpacing: "leading", stepsOffset: 1 });
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [801, 601, 401, 201]);
   * assert.equal(s.sigmas.length, 5);
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    this.checkStepCount(n);
    const c = this.config;
    const N = c.numTrainTimesteps;
    // Karras' _sigma_to_t timesteps rounded (always in DEIS), exponential's truncated; the
    // final sigma is the smallest training sigma after np.interp, else the last sigma again
    const respaced = c.useKarrasSigmas || c.useExponentialSigmas;
    const schedule = dpmSigmaSchedule(
      this.alphasCumprod,
      dpmTimesteps(N, N, n, c.timestepSpacing, c.stepsOffset),
      {
        useKarrasSigmas: c.useKarrasSigmas,
        useExponentialSigmas: c.useExponentialSigmas,
        finalSigmasType: "sigma_min",
        roundTimesteps: true,
      },
      this.math,
    );
    const all = schedule.sigmas;
    if (respaced) all[n] = all[n - 1]; // np.concatenate([sigmas, sigmas[-1:]])
    this.setSchedule(schedule.timesteps, all);
  }

  /**
   * diffusers' `convert_model_output`: the x0 prediction (thresholded when configured), turned
   * back into a noise prediction `(sample - alpha_t * x0) / sigma_t`, float32.
   */
  #convert(
    m: Float32Array,
    x: Float32Array,
    shape: readonly number[],
    index: number,
  ): Float32Array {
    const sigma = this.sigmaList[index];
    const [at, st] = dpmAlphaSigma(sigma, this.math);
    const x0 = dpmConvertModelOutput(m, x, shape, sigma, {
      ...this.config,
      algorithmType: "dpmsolver++",
    }, this.math);
    return x.map((v, i) => f32(v - f32(at * x0[i])) / st);
  }

  /**
   * One multistep DEIS step (diffusers' `DEISMultistepScheduler.step`): converts the model
   * output to a noise prediction, pushes it on the history, then takes a first-, second- or
   * third-order step as `solver_order`, the steps taken so far and `lower_order_final` allow.
   * The step draws no noise (`opts` is unused).
   *
   * @throws {Error} before `setTimesteps`; on shape mismatches; past the end of the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DEISMultistepScheduler } from "./deis.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DEISMultistepScheduler({ solverOrder: 3 });
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, -0.1]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, s.stepIndex, s.lowerOrderNums], [[1, 2], 1, 1]);
   * ```
   */
  step(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    _opts: StepOptions = {},
  ): StepResult {
    const who = "DEISMultistepScheduler.step";
    const index = this.startStep(modelOutput, timestep, sample, who);
    const c = this.config;
    const n = this.timestepList.length;
    const lowerOrderFinal = index === n - 1 && c.lowerOrderFinal && n < 15;
    const lowerOrderSecond = index === n - 2 && c.lowerOrderFinal && n < 15;
    const converted = this.#convert(modelOutput.data, sample.data, sample.shape, index);
    const outputs = this.pushModelOutput(converted);
    let prev: Float32Array;
    if (c.solverOrder === 1 || this.lowerOrderCount < 1 || lowerOrderFinal) {
      prev = this.#firstOrder(converted, sample.data, index);
    } else if (c.solverOrder === 2 || this.lowerOrderCount < 2 || lowerOrderSecond) {
      prev = this.#secondOrder(outputs, sample.data, index);
    } else {
      prev = this.#thirdOrder(outputs, sample.data, index);
    }
    this.endStep();
    return { prevSample: new Tensor(prev, sample.shape) };
  }

  /**
   * `deis_first_order_update` (DDIM): the same float32 operations as DPM-Solver's first-order
   * `dpmsolver` update ({@link dpmFirstOrderUpdate}).
   */
  #firstOrder(m: Float32Array, x: Float32Array, index: number): Float32Array {
    const sigmas = this.sigmaList;
    return dpmFirstOrderUpdate(
      m,
      x,
      sigmas[index + 1],
      sigmas[index],
      "dpmsolver",
      null,
      this.math,
    );
  }

  /** alpha_t and rho = sigma_t / alpha_t at `sigmas[index]` (the update's `rho_*`). */
  #rho(index: number): { alpha: number; rho: number } {
    const [alpha, sigma] = dpmAlphaSigma(this.sigmaList[index], this.math);
    return { alpha, rho: f32(sigma / alpha) };
  }

  /** `multistep_deis_second_order_update`, float32 in diffusers' order. */
  #secondOrder(outputs: (Float32Array | null)[], x: Float32Array, index: number): Float32Array {
    const t = this.#rho(index + 1);
    const s0 = this.#rho(index);
    const s1 = this.#rho(index - 1);
    const m0 = outputs[outputs.length - 1]!;
    const m1 = outputs[outputs.length - 2]!;
    const [rt, r0, r1] = [t.rho, s0.rho, s1.rho];
    const coef1 = f32(indFn2(rt, r0, r1) - indFn2(r0, r0, r1));
    const coef2 = f32(indFn2(rt, r1, r0) - indFn2(r0, r1, r0));
    return x.map((v, i) =>
      f32(t.alpha * f32(f32(f32(v / s0.alpha) + f32(coef1 * m0[i])) + f32(coef2 * m1[i])))
    );
  }

  /** `multistep_deis_third_order_update`, float32 in diffusers' order. */
  #thirdOrder(outputs: (Float32Array | null)[], x: Float32Array, index: number): Float32Array {
    const t = this.#rho(index + 1);
    const s0 = this.#rho(index);
    const s1 = this.#rho(index - 1);
    const s2 = this.#rho(index - 2);
    const m0 = outputs[outputs.length - 1]!;
    const m1 = outputs[outputs.length - 2]!;
    const m2 = outputs[outputs.length - 3]!;
    const [rt, r0, r1, r2] = [t.rho, s0.rho, s1.rho, s2.rho];
    const coef1 = f32(indFn3(rt, r0, r1, r2) - indFn3(r0, r0, r1, r2));
    const coef2 = f32(indFn3(rt, r1, r2, r0) - indFn3(r0, r1, r2, r0));
    const coef3 = f32(indFn3(rt, r2, r0, r1) - indFn3(r0, r2, r0, r1));
    return x.map((v, i) => {
      const acc = f32(f32(f32(v / s0.alpha) + f32(coef1 * m0[i])) + f32(coef2 * m1[i]));
      return f32(t.alpha * f32(acc + f32(coef3 * m2[i])));
    });
  }
}
