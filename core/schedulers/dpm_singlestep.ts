/**
 * DPMSolverSinglestepScheduler: the singlestep DPM-Solver (Lu et al. 2022, arXiv 2206.00927)
 * and DPM-Solver++ (arXiv 2211.01095) of orders 1 to 3, an exact port of diffusers 0.42.1
 * `schedulers/scheduling_dpmsolver_singlestep.py`: algorithm types `dpmsolver++`, `dpmsolver`
 * and `sde-dpmsolver++`, midpoint and Heun solver types, the per-step order schedule
 * (`get_order_list`, with `lower_order_final`), Karras / exponential sigmas,
 * `lambda_min_clipped`, `final_sigmas_type` and dynamic thresholding.
 *
 * A singlestep solver of order k takes k model calls per group of steps: the group starts with
 * a first-order step from its sample, and its step j (order j) goes again from that stored
 * sample, over j steps, with the j model outputs of the group.
 *
 * The timestep and sigma tables are numpy float64 (int64 timesteps, float32 sigmas); the step is
 * torch float32 operation by operation in diffusers' order, every sqrt / exp / log from the
 * scheduler's {@link Float32Math}. The helpers it shares with the multistep solver
 * (conversions, lambdas, `convert_model_output`, the first-order update, the sigma schedule)
 * live in dpm_multistep.ts.
 *
 * diffusers quirks kept: `set_timesteps` switches `lower_order_final` on for good (diffusers'
 * `register_to_config`) when the steps are not a multiple of the order or the final sigma is
 * zero ({@link DPMSolverSinglestepScheduler.lowerOrderFinal}); the class has no
 * `timestep_spacing` (the timesteps are always linspace'd).
 *
 * Not ported (a {@link SchedulerConfigError} naming the option): `use_beta_sigmas`,
 * `use_flow_sigmas`, `prediction_type: "flow_prediction"`, `use_dynamic_shifting`,
 * `variance_type`, and `thresholding` with `dpmsolver` (diffusers indexes `alpha_t[None]` there
 * and raises).
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { npLinspace } from "../numerics/numpy.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  PREDICTION_TYPES,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { SchedulerConfigError } from "./config_json.ts";
import { DPMFamilyScheduler, type DPMFlowOptions } from "./dpm_family.ts";
import { DPM_MULTISTEP_SPEC, type DPMSolverType } from "./dpm_multistep.ts";
import {
  dpmConfigAliases,
  dpmConvertModelOutput,
  dpmFirstOrderUpdate,
  dpmLambda,
  dpmSecondOrderUpdate,
  dpmSigmaSchedule,
  lambdaClippedIndex,
} from "./dpm_solver.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions } from "./sigma_scheduler.ts";
import { checkSigmaSpacing } from "./sigmas.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * The options of `DPMSolverSinglestepScheduler`, as its diffusers `__init__` (0.42.1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMSolverSinglestepConfig } from "./dpm_singlestep.ts";
 * const c: Partial<DPMSolverSinglestepConfig> = { solverOrder: 3, lowerOrderFinal: true };
 * assert.equal(c.solverOrder, 3);
 * ```
 */
export type DPMSolverSinglestepConfig =
  & Pick<
    SchedulerConfig,
    | BetaOption
    | "predictionType"
    | "thresholding"
    | "dynamicThresholdingRatio"
    | "sampleMaxValue"
    | "useKarrasSigmas"
  >
  & ExtraSigmaOptions
  & DPMFlowOptions
  & {
    /** Order of the singlestep solver: 1, 2 or 3 (`solver_order`). */
    solverOrder: number;
    /** DPM-Solver, DPM-Solver++ or SDE-DPM-Solver++ (`algorithm_type`). */
    algorithmType: "dpmsolver" | "dpmsolver++" | "sde-dpmsolver++";
    /** The higher-order terms: midpoint or Heun (`solver_type`). */
    solverType: DPMSolverType;
    /** Lower orders in the last steps (`lower_order_final`; see `lowerOrderFinal`). */
    lowerOrderFinal: boolean;
    /** The sigma after the last step: 0, or the smallest training sigma (`final_sigmas_type`). */
    finalSigmasType: "zero" | "sigma_min";
    /** The timesteps stop where lambda(t) falls below this (`lambda_min_clipped`). */
    lambdaMinClipped: number;
    /** `variance_type`: learned variances are refused; any other value is unread, as in diffusers. */
    varianceType: string | null;
  };

const F = DPM_MULTISTEP_SPEC.fields!;

/**
 * `DPMSolverSinglestepScheduler`'s class name, defaults (diffusers' `__init__`, in its order)
 * and the fields of its options beyond the shared ones (read as DPMSolverMultistep's, except
 * `algorithm_type`, which has no `sde-dpmsolver` here).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DPM_SINGLESTEP_SPEC } from "./dpm_singlestep.ts";
 * assert.equal(DPM_SINGLESTEP_SPEC.defaults.lowerOrderFinal, false);
 * assert.equal(DPM_SINGLESTEP_SPEC.fields?.algorithmType?.key, "algorithm_type");
 * ```
 */
export const DPM_SINGLESTEP_SPEC: SchedulerSpec<DPMSolverSinglestepConfig> = schedulerSpec<
  DPMSolverSinglestepConfig
>("DPMSolverSinglestepScheduler", {
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  algorithmType: "dpmsolver++",
  solverType: "midpoint",
  lowerOrderFinal: false,
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  useFlowSigmas: false,
  flowShift: 1.0,
  finalSigmasType: "zero",
  lambdaMinClipped: -Infinity,
  varianceType: null,
  useDynamicShifting: false,
  timeShiftType: "exponential",
}, {
  ...EXTRA_SIGMA_FIELDS,
  solverOrder: F.solverOrder,
  predictionType: F.predictionType,
  algorithmType: {
    key: "algorithm_type",
    kind: "enum",
    values: ["dpmsolver", "dpmsolver++", "sde-dpmsolver++", "deis"],
  },
  solverType: F.solverType,
  lowerOrderFinal: F.lowerOrderFinal,
  useFlowSigmas: F.useFlowSigmas,
  flowShift: F.flowShift,
  finalSigmasType: F.finalSigmasType,
  lambdaMinClipped: F.lambdaMinClipped,
  varianceType: F.varianceType,
  useDynamicShifting: F.useDynamicShifting,
  timeShiftType: F.timeShiftType,
});

/**
 * diffusers' `get_order_list(num_inference_steps)`: the solver order of each step. Groups
 * `1, 2, ..., order` repeat; with `lowerOrderFinal` the last group is cut short (and with
 * `steps % 3 == 0` at order 3 ends `1, 2, 1`), and a `"zero"` final sigma makes the last step
 * first order.
 *
 * @throws {RangeError} when `order` is not 1, 2 or 3 (diffusers: "Order > 3 is not supported").
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmSinglestepOrderList } from "./dpm_singlestep.ts";
 * assert.deepEqual(dpmSinglestepOrderList(10, 3, true, "zero"), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
 * assert.deepEqual(dpmSinglestepOrderList(6, 3, true, "zero"), [1, 2, 3, 1, 2, 1]);
 * assert.deepEqual(dpmSinglestepOrderList(6, 3, false, "sigma_min"), [1, 2, 3, 1, 2, 3]);
 * ```
 */
export function dpmSinglestepOrderList(
  steps: number,
  order: number,
  lowerOrderFinal: boolean,
  finalSigmasType: "zero" | "sigma_min",
): number[] {
  if (order !== 1 && order !== 2 && order !== 3) {
    throw new RangeError(`dpmSinglestepOrderList: order ${order} is not supported (1, 2 or 3)`);
  }
  const repeat = (group: number[], times: number) =>
    Array.from({ length: Math.max(0, times) }, () => group).flat();
  const k = Math.floor(steps / order);
  let orders: number[];
  if (order === 1) orders = repeat([1], steps);
  else if (!lowerOrderFinal) orders = repeat(order === 3 ? [1, 2, 3] : [1, 2], k);
  else if (order === 3) {
    if (steps % 3 === 0) orders = [...repeat([1, 2, 3], k - 1), 1, 2, 1];
    else if (steps % 3 === 1) orders = [...repeat([1, 2, 3], k), 1];
    else orders = [...repeat([1, 2, 3], k), 1, 2];
  } else {
    orders = steps % 2 === 0 ? [...repeat([1, 2], k - 1), 1, 1] : [...repeat([1, 2], k), 1];
  }
  if (finalSigmasType === "zero") {
    if (orders.length === 0) {
      throw new RangeError(`dpmSinglestepOrderList: no steps (${steps}) to end with order 1`);
    }
    orders[orders.length - 1] = 1;
  }
  return orders;
}

/**
 * The singlestep DPM-Solver. `step` reproduces diffusers' float32 arithmetic operation by
 * operation; `setTimesteps` reproduces its numpy timestep and sigma tables and its order list.
 * `scaleModelInput` is the identity and `initNoiseSigma` is 1, as in diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DPMSolverSinglestepScheduler } from "./dpm_singlestep.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = DPMSolverSinglestepScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, solver_order: 3 });
 * s.setTimesteps(7);
 * assert.deepEqual(s.orderList, [1, 2, 3, 1, 2, 3, 1]);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, s.scaleModelInput(x, t)).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class DPMSolverSinglestepScheduler extends DPMFamilyScheduler<DPMSolverSinglestepConfig>
  implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<DPMSolverSinglestepConfig> = DPM_SINGLESTEP_SPEC;

  /** diffusers' `sample`: the sample at the start of the current group of steps. */
  #sample: Float32Array | null = null;
  /** diffusers' `order_list`. */
  #orderList: number[];
  /** `config.lower_order_final`, which diffusers' `set_timesteps` may switch on for good. */
  #lowerOrderFinal: boolean;

  /**
   * The training schedule and diffusers' `__init__` checks; `setTimesteps` makes the schedule.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DPMSolverSinglestepScheduler.fromConfig` (what the JSON carried
   *   besides options), and `math`: where float32 sqrt/exp/log come from (default IEEE)
   * @throws {SchedulerConfigError} on an unknown option, a value of the wrong type, a
   * `solver_order` above 3, an option not supported yet (named), or `final_sigmas_type: "zero"`
   * with `dpmsolver` (diffusers' ValueError).
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options.
   */
  constructor(config: Partial<DPMSolverSinglestepConfig> = {}, options?: SchedulerOptions) {
    super(DPM_SINGLESTEP_SPEC, dpmConfigAliases(config), options);
    const source = options?.source ?? "new DPMSolverSinglestepScheduler()";
    checkSigmaSpacing(this.config, source);
    const c = this.config;
    const refuse = this.unsupported(source);
    if (c.solverOrder > 3) {
      throw new SchedulerConfigError(
        source,
        "solver_order",
        `${c.solverOrder}: order > 3 is not supported (diffusers raises); expected 1, 2 or 3`,
      );
    }
    if ((c.predictionType as string) === "flow_prediction") {
      refuse("prediction_type", c.predictionType, `one of ${PREDICTION_TYPES.join(", ")}`);
    }
    if (c.useFlowSigmas) refuse("use_flow_sigmas", true, "false");
    if (c.useDynamicShifting) refuse("use_dynamic_shifting", true, "false");
    if (c.varianceType === "learned" || c.varianceType === "learned_range") {
      refuse("variance_type", c.varianceType, "null (learned variances are not supported)");
    }
    if (c.algorithmType === "dpmsolver" && c.finalSigmasType === "zero") {
      throw new SchedulerConfigError(
        source,
        "final_sigmas_type",
        `"zero" is not supported for algorithm_type "dpmsolver" (diffusers raises); ` +
          `expected "sigma_min"`,
      );
    }
    if (c.algorithmType === "dpmsolver" && c.thresholding) {
      throw new SchedulerConfigError(
        source,
        "thresholding",
        `true is not supported with algorithm_type "dpmsolver" (diffusers' ` +
          `convert_model_output indexes alpha_t[None] and raises); expected false`,
      );
    }
    // __init__: timesteps N-1 .. 0, the training sigmas, get_order_list(num_train_timesteps)
    this.initTrainingSchedule();
    this.#lowerOrderFinal = c.lowerOrderFinal;
    this.#orderList = dpmSinglestepOrderList(
      c.numTrainTimesteps,
      c.solverOrder,
      c.lowerOrderFinal,
      c.finalSigmasType,
    );
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverSinglestepScheduler } from "./dpm_singlestep.ts";
   * const s = DPMSolverSinglestepScheduler.fromConfig({ solver_order: 3, timestep_spacing: "leading" });
   * assert.equal(s.config.solverOrder, 3);
   * assert.equal(s.configWarnings.length, 1); // the class has no timestep_spacing
   * ```
   */
  static fromConfig(
    json: unknown,
    source?: string,
    math?: Float32Math,
  ): DPMSolverSinglestepScheduler {
    return fromDiffusersConfig(DPMSolverSinglestepScheduler, json, source, math);
  }

  /** diffusers' `order_list`: the solver order of each step ({@link dpmSinglestepOrderList}). */
  get orderList(): number[] {
    return [...this.#orderList];
  }

  /**
   * diffusers' `config.lower_order_final` as it stands: `setTimesteps` switches it on, for this
   * and every later schedule, when the steps are not a multiple of `solverOrder` or
   * `finalSigmasType` is `"zero"` (diffusers' `register_to_config`); `config.lowerOrderFinal`
   * keeps the value given.
   */
  get lowerOrderFinal(): boolean {
    return this.#lowerOrderFinal;
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: integer timesteps linspace'd over the
   * training timesteps (up to where lambda(t) reaches `lambda_min_clipped`), sigmas by
   * `np.interp` of the training sigmas (or Karras, rounded, / exponential, truncated, with
   * their `_sigma_to_t` timesteps), the final sigma, `lower_order_final` switched on where
   * diffusers does, the order list, and a reset of the history and step index.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverSinglestepScheduler } from "./dpm_singlestep.ts";
   * const s = new DPMSolverSinglestepScheduler();
   * s.setTimesteps(4);
   * assert.deepEqual(s.timesteps, [999, 749, 500, 250]);
   * assert.deepEqual(s.orderList, [1, 2, 1, 1]);
   * assert.equal(s.lowerOrderFinal, true); // final_sigmas_type "zero" switched it on
   * ```
   */
  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    this.checkStepCount(n);
    const c = this.config;
    const last = c.numTrainTimesteps - 1 -
      lambdaClippedIndex(this.alphasCumprod, c.lambdaMinClipped, this.math);
    const spaced = Array.from(npLinspace(0, last, n + 1), roundHalfEven).reverse().slice(0, -1);
    const schedule = dpmSigmaSchedule(this.alphasCumprod, spaced, {
      useKarrasSigmas: c.useKarrasSigmas,
      useExponentialSigmas: c.useExponentialSigmas,
      finalSigmasType: c.finalSigmasType,
      roundTimesteps: true,
    }, this.math);
    this.setSchedule(schedule.timesteps, schedule.sigmas, n);
    this.#sample = null;
    // diffusers' register_to_config(lower_order_final=True): it stays on
    if (n % c.solverOrder !== 0 || c.finalSigmasType === "zero") this.#lowerOrderFinal = true;
    this.#orderList = dpmSinglestepOrderList(
      n,
      c.solverOrder,
      this.#lowerOrderFinal,
      c.finalSigmasType,
    );
  }

  /**
   * One singlestep DPM-Solver step (diffusers' `DPMSolverSinglestepScheduler.step`): converts
   * the model output (x0 for the `++` types, noise for `dpmsolver`), pushes it on the history,
   * takes the step's order from the order list (lowered while the history is short, as after
   * `setBeginIndex`), keeps the sample when the order is 1, and steps from that kept sample with
   * the first-, second- or third-order update. `sde-dpmsolver++` draws noise of the model
   * output's shape from `opts.generator` (`randn_tensor`) or takes `opts.varianceNoise`, at every
   * step.
   *
   * @throws {Error} before `setTimesteps`; when `sde-dpmsolver++` has neither noise source, or
   * both; on shape mismatches; past the end of the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverSinglestepScheduler } from "./dpm_singlestep.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DPMSolverSinglestepScheduler({ solverOrder: 3 });
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, -0.1]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, s.stepIndex], [[1, 2], 1]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "DPMSolverSinglestepScheduler.step";
    const index = this.startStep(modelOutput, timestep, sample, who, this.#orderList.length);
    const c = this.config;
    const converted = dpmConvertModelOutput(
      modelOutput.data,
      sample.data,
      sample.shape,
      this.sigmaList[index],
      c,
      this.math,
    );
    const outputs = this.pushModelOutput(converted);
    let noise: Float32Array | null = null;
    if (c.algorithmType === "sde-dpmsolver++") {
      noise = stepNoise(modelOutput, opts, who, `algorithm_type ${c.algorithmType} draws noise and`)
        .data;
    }
    // step: lower the order while the history is short (img2img), keep the group's sample
    let order = this.#orderList[index];
    while (outputs[outputs.length - order] === null) order--;
    if (order === 1) this.#sample = sample.data;
    const x = this.#sample!;
    let prev: Float32Array;
    if (order === 1) {
      prev = dpmFirstOrderUpdate(
        converted,
        x,
        this.sigmaList[index + 1],
        this.sigmaList[index],
        c.algorithmType,
        noise,
        this.math,
      );
    } else if (order === 2) prev = this.#secondOrder(outputs, x, index, noise);
    else prev = this.#thirdOrder(outputs, x, index, noise);
    this.endStep();
    return { prevSample: new Tensor(prev, sample.shape) };
  }

  /** `singlestep_dpm_solver_second_order_update`: from the older output, D0 = m1. */
  #secondOrder(
    outputs: (Float32Array | null)[],
    x: Float32Array,
    index: number,
    noise: Float32Array | null,
  ): Float32Array {
    const t = dpmLambda(this.sigmaList[index + 1], this.math);
    const s0 = dpmLambda(this.sigmaList[index], this.math);
    const s1 = dpmLambda(this.sigmaList[index - 1], this.math);
    const m0 = outputs[outputs.length - 1]!;
    const m1 = outputs[outputs.length - 2]!;
    const h = f32(t.lambda - s1.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const heun = this.config.solverType === "heun";
    const type = this.config.algorithmType;
    return dpmSecondOrderUpdate(x, t, s1, h, h0, m0, m1, m1, type, heun, noise, this.math);
  }

  /** `singlestep_dpm_solver_third_order_update`, float32 in diffusers' order. */
  #thirdOrder(
    outputs: (Float32Array | null)[],
    x: Float32Array,
    index: number,
    noise: Float32Array | null,
  ): Float32Array {
    const t = dpmLambda(this.sigmaList[index + 1], this.math);
    const s0 = dpmLambda(this.sigmaList[index], this.math);
    const s1 = dpmLambda(this.sigmaList[index - 1], this.math);
    const s2 = dpmLambda(this.sigmaList[index - 2], this.math);
    const m0 = outputs[outputs.length - 1]!;
    const m1 = outputs[outputs.length - 2]!;
    const m2 = outputs[outputs.length - 3]!; // D0
    const h = f32(t.lambda - s2.lambda);
    const h0 = f32(s0.lambda - s2.lambda);
    const h1 = f32(s1.lambda - s2.lambda);
    const r0 = f32(h0 / h);
    const r1 = f32(h1 / h);
    const inv0 = f32(1 / r0);
    const inv1 = f32(1 / r1);
    const dr = f32(r0 - r1);
    const n = x.length;
    const d11 = new Float32Array(n); // D1_1
    const d1 = new Float32Array(n);
    const d2 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d10 = f32(inv1 * f32(m1[i] - m2[i]));
      d11[i] = f32(inv0 * f32(m0[i] - m2[i]));
      d1[i] = f32(f32(f32(r0 * d10) - f32(r1 * d11[i])) / dr);
      d2[i] = f32(f32(2 * f32(d11[i] - d10)) / dr);
    }
    const exp = (v: number) => this.math.exp(v);
    const hh = f32(h * h);
    const heun = this.config.solverType === "heun";
    switch (this.config.algorithmType) {
      case "dpmsolver++": {
        const a = f32(t.sigma / s2.sigma);
        const em1 = f32(exp(-h) - 1);
        const b = f32(t.alpha * em1);
        const g = f32(t.alpha * f32(f32(em1 / h) + 1));
        if (!heun) return x.map((v, i) => f32(f32(a * v) - f32(b * m2[i])) + f32(g * d11[i]));
        const q = f32(t.alpha * f32(f32(f32(em1 + h) / hh) - 0.5));
        return x.map((v, i) =>
          f32(f32(f32(a * v) - f32(b * m2[i])) + f32(g * d1[i])) - f32(q * d2[i])
        );
      }
      case "dpmsolver": {
        const a = f32(t.alpha / s2.alpha);
        const ep1 = f32(exp(h) - 1);
        const b = f32(t.sigma * ep1);
        const g = f32(t.sigma * f32(f32(ep1 / h) - 1));
        if (!heun) return x.map((v, i) => f32(f32(a * v) - f32(b * m2[i])) - f32(g * d11[i]));
        const q = f32(t.sigma * f32(f32(f32(ep1 - h) / hh) - 0.5));
        return x.map((v, i) =>
          f32(f32(f32(a * v) - f32(b * m2[i])) - f32(g * d1[i])) - f32(q * d2[i])
        );
      }
      case "sde-dpmsolver++": {
        const a = f32(f32(t.sigma / s2.sigma) * exp(-h));
        const m2h = f32(-2 * h);
        const om = f32(1 - exp(m2h));
        const b = f32(t.alpha * om);
        const g = f32(t.alpha * f32(f32(om / m2h) + 1));
        const k = f32(t.sigma * this.math.sqrt(om));
        if (!heun) {
          return x.map((v, i) =>
            f32(f32(f32(a * v) + f32(b * m2[i])) + f32(g * d11[i])) + f32(k * noise![i])
          );
        }
        const q = f32(t.alpha * f32(f32(f32(om + m2h) / f32(m2h * m2h)) - 0.5));
        return x.map((v, i) =>
          f32(f32(f32(f32(a * v) + f32(b * m2[i])) + f32(g * d1[i])) + f32(q * d2[i])) +
          f32(k * noise![i])
        );
      }
    }
  }
}
