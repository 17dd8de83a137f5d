/**
 * DPMSolverMultistepScheduler: the multistep DPM-Solver (Lu et al. 2022, arXiv 2206.00927) and
 * DPM-Solver++ (arXiv 2211.01095) of orders 1 to 3, an exact port of diffusers 0.42.1
 * `schedulers/scheduling_dpmsolver_multistep.py`: algorithm types `dpmsolver++`, `dpmsolver`,
 * `sde-dpmsolver++` and `sde-dpmsolver`, midpoint and Heun solver types, `lower_order_final`,
 * `euler_at_final`, Karras / exponential / uniform-logSNR (`use_lu_lambdas`) sigmas,
 * `lambda_min_clipped`, `final_sigmas_type`, dynamic thresholding and the three timestep
 * spacings. "DPM++ 2M Karras" is `{ use_karras_sigmas: true }` with the defaults.
 *
 * The timestep and sigma tables are numpy float64 (stored as int64 timesteps and float32
 * sigmas), the step is torch float32 operation by operation in diffusers' order, with every
 * sqrt / exp / log from the scheduler's {@link Float32Math} (so that a reference machine's
 * recorded results replay exactly).
 *
 * Not ported (a {@link SchedulerConfigError} naming the option): `use_beta_sigmas`,
 * `use_flow_sigmas`, `prediction_type: "flow_prediction"`, `use_dynamic_shifting`,
 * `variance_type` (learned variances).
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
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
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions } from "./sigma_scheduler.ts";
import { checkSigmaSpacing } from "./sigmas.ts";
import { stepNoise } from "./step_noise.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

export { dpmAlphaSigma };
import {
  dpmConfigAliases,
  dpmConvertModelOutput,
  dpmFirstOrderUpdate,
  dpmLambda,
  dpmSecondOrderUpdate,
  dpmSigmaSchedule,
  dpmTimesteps,
  lambdaClippedIndex,
} from "./dpm_solver.ts";

/**
 * diffusers' `algorithm_type` of the DPM-Solver schedulers (`"deis"` is read as `"dpmsolver++"`,
 * as diffusers does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMAlgorithmType } from "./dpm_multistep.ts";
 * const a: DPMAlgorithmType = "sde-dpmsolver++";
 * assert.ok(a.startsWith("sde"));
 * ```
 */
export type DPMAlgorithmType = "dpmsolver" | "dpmsolver++" | "sde-dpmsolver" | "sde-dpmsolver++";

/**
 * diffusers' `solver_type`: how the second-order term is formed (`"logrho"`, `"bh1"` and
 * `"bh2"` are read as `"midpoint"`, as diffusers does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMSolverType } from "./dpm_multistep.ts";
 * const s: DPMSolverType = "heun";
 * assert.equal(s, "heun");
 * ```
 */
export type DPMSolverType = "midpoint" | "heun";

/**
 * The options of `DPMSolverMultistepScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMSolverMultistepConfig } from "./dpm_multistep.ts";
 * const c: Partial<DPMSolverMultistepConfig> = { solverOrder: 2, useKarrasSigmas: true };
 * assert.equal(c.solverOrder, 2);
 * ```
 */
export type DPMSolverMultistepConfig =
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
    | "rescaleBetasZeroSnr"
  >
  & ExtraSigmaOptions
  & DPMFlowOptions
  & {
    /** Order of the multistep solver: 1, 2 or 3 (`solver_order`). */
    solverOrder: number;
    /** DPM-Solver, DPM-Solver++ or their SDE variants (`algorithm_type`). */
    algorithmType: DPMAlgorithmType;
    /** The second-order term: midpoint or Heun (`solver_type`). */
    solverType: DPMSolverType;
    /** Lower orders in the last steps when there are fewer than 15 (`lower_order_final`). */
    lowerOrderFinal: boolean;
    /** A first-order last step (`euler_at_final`). */
    eulerAtFinal: boolean;
    /** Uniform steps in log-SNR (`use_lu_lambdas`). */
    useLuLambdas: boolean;
    /** The sigma after the last step: 0, or the smallest training sigma (`final_sigmas_type`). */
    finalSigmasType: "zero" | "sigma_min";
    /** The timesteps stop where lambda(t) falls below this (`lambda_min_clipped`). */
    lambdaMinClipped: number;
    /**
     * `variance_type`: "learned" / "learned_range" (variance channels in the model output) are
     * refused; any other value is read by nothing, as in diffusers.
     */
    varianceType: string | null;
  };

/**
 * `DPMSolverMultistepScheduler`'s class name, defaults (diffusers' `__init__`, in its order)
 * and the fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DPM_MULTISTEP_SPEC } from "./dpm_multistep.ts";
 * assert.equal(DPM_MULTISTEP_SPEC.defaults.algorithmType, "dpmsolver++");
 * assert.equal(DPM_MULTISTEP_SPEC.fields?.solverOrder?.key, "solver_order");
 * ```
 */
export const DPM_MULTISTEP_SPEC: SchedulerSpec<DPMSolverMultistepConfig> = schedulerSpec<
  DPMSolverMultistepConfig
>("DPMSolverMultistepScheduler", {
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  algorithmType: "dpmsolver++",
  solverType: "midpoint",
  lowerOrderFinal: true,
  eulerAtFinal: false,
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  useLuLambdas: false,
  useFlowSigmas: false,
  flowShift: 1.0,
  finalSigmasType: "zero",
  lambdaMinClipped: -Infinity,
  varianceType: null,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  rescaleBetasZeroSnr: false,
  useDynamicShifting: false,
  timeShiftType: "exponential",
}, {
  ...EXTRA_SIGMA_FIELDS,
  solverOrder: { key: "solver_order", kind: "int", min: 1 },
  // "flow_prediction" is read, then refused by name in the constructor
  predictionType: {
    key: "prediction_type",
    kind: "enum",
    values: [...PREDICTION_TYPES, "flow_prediction"],
  },
  algorithmType: {
    key: "algorithm_type",
    kind: "enum",
    values: ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++", "deis"],
  },
  solverType: {
    key: "solver_type",
    kind: "enum",
    values: ["midpoint", "heun", "logrho", "bh1", "bh2"],
  },
  lowerOrderFinal: { key: "lower_order_final", kind: "boolean" },
  eulerAtFinal: { key: "euler_at_final", kind: "boolean" },
  useLuLambdas: { key: "use_lu_lambdas", kind: "boolean" },
  useFlowSigmas: { key: "use_flow_sigmas", kind: "boolean" },
  flowShift: { key: "flow_shift", kind: "float" },
  finalSigmasType: { key: "final_sigmas_type", kind: "enum", values: ["zero", "sigma_min"] },
  lambdaMinClipped: { key: "lambda_min_clipped", kind: "float", infinite: true },
  // diffusers checks no value: a DDPM config's "fixed_small" comes through from_config unread
  varianceType: { key: "variance_type", kind: "string", nullable: true },
  useDynamicShifting: { key: "use_dynamic_shifting", kind: "boolean" },
  timeShiftType: { key: "time_shift_type", kind: "enum", values: ["exponential"] },
});

/**
 * The multistep DPM-Solver. `step` reproduces diffusers' float32 arithmetic operation by
 * operation; `setTimesteps` reproduces its numpy timestep and sigma tables. `scaleModelInput`
 * is the identity and `initNoiseSigma` is 1, as in diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * // DPM++ 2M Karras
 * const s = DPMSolverMultistepScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, use_karras_sigmas: true });
 * s.setTimesteps(5);
 * assert.deepEqual(s.timesteps.length, 5);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, s.scaleModelInput(x, t)).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class DPMSolverMultistepScheduler
  extends DPMFamilyMultistepScheduler<DPMSolverMultistepConfig>
  implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<DPMSolverMultistepConfig> = DPM_MULTISTEP_SPEC;

  /**
   * With `rescaleBetasZeroSnr` the last `alphasCumprod` is 2^-24, as diffusers sets it.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `DPMSolverMultistepScheduler.fromConfig` (what the JSON carried
   *   besides options), and `math`: where float32 sqrt/exp/log come from (default IEEE)
   * @throws {SchedulerConfigError} on an unknown option, a value of the wrong type, an option
   * not supported yet (named), or `final_sigmas_type: "zero"` with `dpmsolver` /
   * `sde-dpmsolver` (diffusers' ValueError).
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options.
   */
  constructor(config: Partial<DPMSolverMultistepConfig> = {}, options?: SchedulerOptions) {
    super(DPM_MULTISTEP_SPEC, dpmConfigAliases(config), options);
    const source = options?.source ?? "new DPMSolverMultistepScheduler()";
    checkSigmaSpacing(this.config, source);
    const c = this.config;
    const refuse = this.unsupported(source);
    if ((c.predictionType as string) === "flow_prediction") {
      refuse("prediction_type", c.predictionType, `one of ${PREDICTION_TYPES.join(", ")}`);
    }
    if (c.useFlowSigmas) refuse("use_flow_sigmas", true, "false");
    if (c.useDynamicShifting) refuse("use_dynamic_shifting", true, "false");
    if (c.varianceType === "learned" || c.varianceType === "learned_range") {
      refuse("variance_type", c.varianceType, "null (learned variances are not supported)");
    }
    if (
      (c.algorithmType === "dpmsolver" || c.algorithmType === "sde-dpmsolver") &&
      c.finalSigmasType === "zero"
    ) {
      throw new SchedulerConfigError(
        source,
        "final_sigmas_type",
        `"zero" is not supported for algorithm_type ${JSON.stringify(c.algorithmType)} ` +
          `(diffusers raises); expected "sigma_min"`,
      );
    }
    // __init__: timesteps N-1 .. 0, the training sigmas
    this.initTrainingSchedule();
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
   * const s = DPMSolverMultistepScheduler.fromConfig({ solver_order: 3, clip_sample: false });
   * assert.equal(s.config.solverOrder, 3);
   * assert.equal(s.configWarnings.length, 1);
   * ```
   */
  static fromConfig(
    json: unknown,
    source?: string,
    math?: Float32Math,
  ): DPMSolverMultistepScheduler {
    return fromDiffusersConfig(DPMSolverMultistepScheduler, json, source, math);
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: integer timesteps by `timestep_spacing`
   * (up to where lambda(t) reaches `lambda_min_clipped`), sigmas by `np.interp` of the
   * training sigmas (or Karras, exponential, uniform log-SNR with their `_sigma_to_t`
   * timesteps), the final sigma, and a reset of the multistep history and step index.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
   * const s = new DPMSolverMultistepScheduler({ timestepSpacing: "leading", stepsOffset: 1 });
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
    const last = N - lambdaClippedIndex(this.alphasCumprod, c.lambdaMinClipped, this.math);
    const timesteps = dpmTimesteps(N, last, n, c.timestepSpacing, c.stepsOffset);
    const schedule = dpmSigmaSchedule(this.alphasCumprod, timesteps, {
      useKarrasSigmas: c.useKarrasSigmas,
      useExponentialSigmas: c.useExponentialSigmas,
      useLuLambdas: c.useLuLambdas,
      finalSigmasType: c.finalSigmasType,
      roundTimesteps: c.betaSchedule !== "squaredcos_cap_v2",
    }, this.math);
    this.setSchedule(schedule.timesteps, schedule.sigmas);
  }

  /**
   * One multistep DPM-Solver step (diffusers' `DPMSolverMultistepScheduler.step`): converts
   * the model output (x0 for the `++` types, noise otherwise), pushes it on the history, then
   * takes a first-, second- or third-order step as `solver_order`, the steps taken so far and
   * `lower_order_final` / `euler_at_final` / `final_sigmas_type` allow. The SDE types draw
   * noise of the model output's shape from `opts.generator` (`randn_tensor`) or take
   * `opts.varianceNoise`.
   *
   * @throws {Error} before `setTimesteps`; when an SDE type has neither noise source, or both;
   * on shape mismatches; past the end of the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DPMSolverMultistepScheduler({ solverOrder: 3 });
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, -0.1]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, s.stepIndex, s.lowerOrderNums], [[1, 2], 1, 1]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, opts: StepOptions = {}): StepResult {
    const who = "DPMSolverMultistepScheduler.step";
    const index = this.startStep(modelOutput, timestep, sample, who);
    const c = this.config;
    const n = this.timestepList.length;
    const lowerOrderFinal = index === n - 1 &&
      (c.eulerAtFinal || (c.lowerOrderFinal && n < 15) || c.finalSigmasType === "zero");
    const lowerOrderSecond = index === n - 2 && c.lowerOrderFinal && n < 15;
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
    if (c.algorithmType === "sde-dpmsolver" || c.algorithmType === "sde-dpmsolver++") {
      noise = stepNoise(modelOutput, opts, who, `algorithm_type ${c.algorithmType} draws noise and`)
        .data;
    }
    let prev: Float32Array;
    if (c.solverOrder === 1 || this.lowerOrderCount < 1 || lowerOrderFinal) {
      prev = dpmFirstOrderUpdate(
        converted,
        sample.data,
        this.sigmaList[index + 1],
        this.sigmaList[index],
        c.algorithmType,
        noise,
        this.math,
      );
    } else if (c.solverOrder === 2 || this.lowerOrderCount < 2 || lowerOrderSecond) {
      prev = this.#secondOrder(outputs, sample.data, index, noise);
    } else {
      prev = this.#thirdOrder(outputs, sample.data, index, noise);
    }
    this.endStep();
    return { prevSample: new Tensor(prev, sample.shape) };
  }

  /** `multistep_dpm_solver_second_order_update`: from the newest output. */
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
    const h = f32(t.lambda - s0.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const heun = this.config.solverType === "heun";
    const type = this.config.algorithmType;
    return dpmSecondOrderUpdate(x, t, s0, h, h0, m0, m1, m0, type, heun, noise, this.math);
  }

  /** `multistep_dpm_solver_third_order_update`, float32 in diffusers' order. */
  #thirdOrder(
    outputs: (Float32Array | null)[],
    x: Float32Array,
    index: number,
    noise: Float32Array | null,
  ): Float32Array {
    const c = this.config;
    if (c.algorithmType === "sde-dpmsolver") {
      // diffusers' third-order update has no sde-dpmsolver branch: `x_t` is unbound there
      throw new Error(
        "DPMSolverMultistepScheduler.step: diffusers has no third-order sde-dpmsolver update " +
          "(it raises UnboundLocalError); use solver_order 2 or another algorithm_type",
      );
    }
    const t = dpmLambda(this.sigmaList[index + 1], this.math);
    const s0 = dpmLambda(this.sigmaList[index], this.math);
    const s1 = dpmLambda(this.sigmaList[index - 1], this.math);
    const s2 = dpmLambda(this.sigmaList[index - 2], this.math);
    const m0 = outputs[outputs.length - 1]!;
    const m1 = outputs[outputs.length - 2]!;
    const m2 = outputs[outputs.length - 3]!;
    const h = f32(t.lambda - s0.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const h1 = f32(s1.lambda - s2.lambda);
    const r0 = f32(h0 / h);
    const r1 = f32(h1 / h);
    const inv0 = f32(1 / r0);
    const inv1 = f32(1 / r1);
    const r01 = f32(r0 + r1);
    const k1 = f32(r0 / r01);
    const k2 = f32(1 / r01);
    const n = x.length;
    const d1 = new Float32Array(n);
    const d2 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const d10 = f32(inv0 * f32(m0[i] - m1[i]));
      const d11 = f32(inv1 * f32(m1[i] - m2[i]));
      const diff = f32(d10 - d11);
      d1[i] = f32(d10 + f32(k1 * diff));
      d2[i] = f32(k2 * diff);
    }
    const exp = (v: number) => this.math.exp(v);
    const hh = f32(h * h);
    if (c.algorithmType === "dpmsolver++") {
      const a = f32(t.sigma / s0.sigma);
      const em1 = f32(exp(-h) - 1);
      const b = f32(t.alpha * em1);
      const g = f32(t.alpha * f32(f32(em1 / h) + 1));
      const q = f32(t.alpha * f32(f32(f32(em1 + h) / hh) - 0.5));
      return x.map((v, i) =>
        f32(f32(f32(a * v) - f32(b * m0[i])) + f32(g * d1[i])) - f32(q * d2[i])
      );
    }
    if (c.algorithmType === "dpmsolver") {
      const a = f32(t.alpha / s0.alpha);
      const ep1 = f32(exp(h) - 1);
      const b = f32(t.sigma * ep1);
      const g = f32(t.sigma * f32(f32(ep1 / h) - 1));
      const q = f32(t.sigma * f32(f32(f32(ep1 - h) / hh) - 0.5));
      return x.map((v, i) =>
        f32(f32(f32(a * v) - f32(b * m0[i])) - f32(g * d1[i])) - f32(q * d2[i])
      );
    }
    // sde-dpmsolver++
    const a = f32(f32(t.sigma / s0.sigma) * exp(-h));
    const om = f32(1 - exp(f32(-2 * h)));
    const b = f32(t.alpha * om);
    const h2 = f32(-2 * h);
    const g = f32(t.alpha * f32(f32(om / h2) + 1));
    const twoH = f32(2 * h);
    const q = f32(t.alpha * f32(f32(f32(om - twoH) / f32(twoH * twoH)) - 0.5));
    const k = f32(t.sigma * this.math.sqrt(om));
    return x.map((v, i) =>
      f32(f32(f32(f32(a * v) + f32(b * m0[i])) + f32(g * d1[i])) + f32(q * d2[i])) +
      f32(k * noise![i])
    );
  }
}
