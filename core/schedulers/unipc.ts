/**
 * UniPCMultistepScheduler: the unified predictor-corrector sampler UniPC (Zhao et al. 2023,
 * arXiv 2302.04867), an exact port of diffusers 0.42.1
 * `schedulers/scheduling_unipc_multistep.py`: solver types `bh1` and `bh2`, orders 1 to 3 (UniP
 * predictor, UniC corrector), data (`predict_x0`) or noise prediction, `disable_corrector`,
 * `lower_order_final`, Karras / exponential sigmas (with `sigma_min` / `sigma_max`),
 * `final_sigmas_type`, dynamic thresholding, the three timestep spacings and
 * `rescale_betas_zero_snr`. The "UniPC" of the web UIs is the default (bh2, order 2).
 *
 * The timestep and sigma tables are numpy float64 (stored as int64 timesteps and float32
 * sigmas), the step is torch float32 operation by operation in diffusers' order, with every
 * sqrt / exp / log from the scheduler's {@link Float32Math}; `torch.expm1` is the correctly
 * rounded float32 result (the reference dumper checks that torch's is). The coefficients
 * `rhos_p` / `rhos_c` that diffusers gets from `torch.linalg.solve` (MKL's `sgesv`) are solved
 * as MKL 2024.2 does, bit for bit (partial pivoting, fused multiply-adds; measured against
 * torch's results on 3000 systems of each size, see {@link solve2x2F32} and {@link solve3x3F32});
 * another LAPACK (OpenBLAS, or MKL on other sizes) may round them differently.
 *
 * Not ported (a {@link SchedulerConfigError} naming the option): `solver_p` (another scheduler
 * as predictor), `use_beta_sigmas`, `use_flow_sigmas`, `prediction_type: "flow_prediction"`,
 * `use_dynamic_shifting`, `shift_terminal`.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32, fmaf, roundHalfEven } from "../numerics/f32.ts";
import { npArange, npInterp, npLinspace, npLogF32 } from "../numerics/numpy.ts";
import { Tensor } from "../tensor/tensor.ts";
import {
  type BetaOption,
  PREDICTION_TYPES,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "./config.ts";
import { DPMFamilyMultistepScheduler, type DPMFlowOptions } from "./dpm_family.ts";
import { DPM_MULTISTEP_SPEC } from "./dpm_multistep.ts";
import { dpmLambda } from "./dpm_solver.ts";
import { thresholdSample } from "./prediction.ts";
import { fromDiffusersConfig, type SchedulerOptions } from "./scheduler_base.ts";
import { EXTRA_SIGMA_FIELDS, type ExtraSigmaOptions } from "./sigma_scheduler.ts";
import {
  checkSigmaSpacing,
  exponentialSigmas,
  karrasSigmas,
  sigmasFromAlphasCumprod,
  sigmaToT,
} from "./sigmas.ts";
import type { Scheduler, StepOptions, StepResult } from "./types.ts";

/**
 * UniPC's `solver_type`: the B(h) of the update, `h` (`"bh1"`) or `e^h - 1` (`"bh2"`)
 * (`"midpoint"`, `"heun"` and `"logrho"` are read as `"bh2"`, as diffusers does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { UniPCSolverType } from "./unipc.ts";
 * const s: UniPCSolverType = "bh1";
 * assert.equal(s, "bh1");
 * ```
 */
export type UniPCSolverType = "bh1" | "bh2";

/**
 * The options of `UniPCMultistepScheduler`, as its diffusers `__init__`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { UniPCMultistepConfig } from "./unipc.ts";
 * const c: Partial<UniPCMultistepConfig> = { solverOrder: 3, disableCorrector: [0] };
 * assert.equal(c.solverOrder, 3);
 * ```
 */
export type UniPCMultistepConfig =
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
    /** Order of the predictor (the corrector adds one): 1, 2 or 3 (`solver_order`). */
    solverOrder: number;
    /** Update on the data prediction x0 (`predict_x0`), else on the noise prediction. */
    predictX0: boolean;
    /** B(h) = h (`bh1`) or e^h - 1 (`bh2`) (`solver_type`). */
    solverType: UniPCSolverType;
    /** Lower orders in the last steps (`lower_order_final`; at any number of steps). */
    lowerOrderFinal: boolean;
    /** Step indices after which the corrector is skipped (`disable_corrector`). */
    disableCorrector: number[];
    /** Another scheduler as predictor (`solver_p`): only `null` is supported. */
    solverP: string | null;
    /** The sigma after the last step: 0, or the smallest sigma (`final_sigmas_type`). */
    finalSigmasType: "zero" | "sigma_min";
    /** The smallest Karras / exponential sigma (`sigma_min`; null: the training schedule's). */
    sigmaMin: number | null;
    /** The largest Karras / exponential sigma (`sigma_max`; null: the training schedule's). */
    sigmaMax: number | null;
    /** The last flow sigma (`shift_terminal`): only `null` is supported. */
    shiftTerminal: number | null;
  };

/** DPMSolverMultistep's fields, read the same way here. */
const F = DPM_MULTISTEP_SPEC.fields!;

/**
 * `UniPCMultistepScheduler`'s class name, defaults (diffusers' `__init__`, in its order) and
 * the fields of its options beyond the shared ones.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UNIPC_SPEC } from "./unipc.ts";
 * assert.equal(UNIPC_SPEC.defaults.solverType, "bh2");
 * assert.equal(UNIPC_SPEC.fields?.disableCorrector?.key, "disable_corrector");
 * ```
 */
export const UNIPC_SPEC: SchedulerSpec<UniPCMultistepConfig> = schedulerSpec<
  UniPCMultistepConfig
>("UniPCMultistepScheduler", {
  solverOrder: 2,
  predictionType: "epsilon",
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1.0,
  predictX0: true,
  solverType: "bh2",
  lowerOrderFinal: true,
  disableCorrector: [],
  solverP: null,
  useKarrasSigmas: false,
  useExponentialSigmas: false,
  useBetaSigmas: false,
  useFlowSigmas: false,
  flowShift: 1.0,
  timestepSpacing: "linspace",
  stepsOffset: 0,
  finalSigmasType: "zero",
  rescaleBetasZeroSnr: false,
  useDynamicShifting: false,
  timeShiftType: "exponential",
  sigmaMin: null,
  sigmaMax: null,
  shiftTerminal: null,
}, {
  ...EXTRA_SIGMA_FIELDS,
  solverOrder: F.solverOrder,
  // "flow_prediction" is read, then refused by name in the constructor
  predictionType: F.predictionType,
  predictX0: { key: "predict_x0", kind: "boolean" },
  solverType: {
    key: "solver_type",
    kind: "enum",
    values: ["bh1", "bh2", "midpoint", "heun", "logrho"],
  },
  lowerOrderFinal: F.lowerOrderFinal,
  disableCorrector: { key: "disable_corrector", kind: "intArray" },
  solverP: { key: "solver_p", kind: "string", nullable: true },
  useFlowSigmas: F.useFlowSigmas,
  flowShift: F.flowShift,
  finalSigmasType: F.finalSigmasType,
  useDynamicShifting: F.useDynamicShifting,
  timeShiftType: F.timeShiftType,
  sigmaMin: { key: "sigma_min", kind: "float", nullable: true },
  sigmaMax: { key: "sigma_max", kind: "float", nullable: true },
  shiftTerminal: { key: "shift_terminal", kind: "float", nullable: true },
});

/** diffusers' `__init__` registers the DPM-Solver solver types as `bh2`. */
function diffusersAliases(config: Partial<UniPCMultistepConfig>): Partial<UniPCMultistepConfig> {
  const out = { ...config };
  if (["midpoint", "heun", "logrho"].includes(out.solverType as string)) out.solverType = "bh2";
  return out;
}

/** float32 `torch.expm1`, correctly rounded. */
function expm1f(x: number): number {
  return f32(Math.expm1(x));
}

/**
 * `torch.linalg.solve(A, b)` of a float32 2x2 system as MKL's `sgesv` computes it: partial
 * pivoting, `l = a10 * (1 / a00)`, `u11 = fma(-l, a01, a11)`, forward substitution by fma, back
 * substitution multiplying by the reciprocal of each pivot (measured bit for bit against torch
 * 2.13 / MKL 2024.2 on 3000 systems of UniPC's form).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { solve2x2F32 } from "./unipc.ts";
 * assert.deepEqual(solve2x2F32([[1, 1], [-1, 1]], [0.5, 0.25]), [0.125, 0.375]);
 * ```
 */
export function solve2x2F32(a: number[][], b: number[]): number[] {
  let [r0, r1] = [[...a[0]], [...a[1]]];
  let [b0, b1] = b;
  if (Math.abs(r1[0]) > Math.abs(r0[0])) {
    [r0, r1] = [r1, r0];
    [b0, b1] = [b1, b0];
  }
  const l = f32(r1[0] * f32(1 / r0[0]));
  const u11 = fmaf(-l, r0[1], r1[1]);
  const y1 = fmaf(-b0, l, b1);
  const x1 = f32(y1 * f32(1 / u11));
  const x0 = f32(fmaf(-x1, r0[1], b0) * f32(1 / r0[0]));
  return [x0, x1];
}

/**
 * `torch.linalg.solve(A, b)` of a float32 3x3 system as MKL's `sgesv` computes it: partial
 * pivoting, the first column scaled by the pivot's reciprocal and the second divided by its
 * pivot, fma updates; each substitution row `b_i - sum_k a_ik x_k` as `b_i - fma(a_far, x_far,
 * a_near * x_near)` (a single term fused), divided by the pivot (measured bit for bit against
 * torch 2.13 / MKL 2024.2 on 3000 systems of UniPC's form).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { solve3x3F32 } from "./unipc.ts";
 * assert.deepEqual(solve3x3F32([[1, 1, 1], [-1, -2, 1], [1, 4, 1]], [1, 0.25, 1.75]), [0, 0.25, 0.75]);
 * ```
 */
export function solve3x3F32(a: number[][], b: number[]): number[] {
  const m = a.map((r) => [...r]);
  const y = [...b];
  for (let j = 0; j < 3; j++) {
    let p = j;
    for (let i = j + 1; i < 3; i++) if (Math.abs(m[i][j]) > Math.abs(m[p][j])) p = i;
    [m[j], m[p]] = [m[p], m[j]];
    [y[j], y[p]] = [y[p], y[j]];
    const inv = f32(1 / m[j][j]);
    for (let i = j + 1; i < 3; i++) {
      m[i][j] = j === 0 ? f32(m[i][j] * inv) : f32(m[i][j] / m[j][j]);
      for (let k = j + 1; k < 3; k++) m[i][k] = fmaf(-m[i][j], m[j][k], m[i][k]);
    }
  }
  // L y = P b, then U x = y
  y[1] = fmaf(-m[1][0], y[0], y[1]);
  y[2] = f32(y[2] - fmaf(m[2][0], y[0], f32(m[2][1] * y[1])));
  const x2 = f32(y[2] / m[2][2]);
  const x1 = f32(fmaf(-m[1][2], x2, y[1]) / m[1][1]);
  const x0 = f32(f32(y[0] - fmaf(m[0][2], x2, f32(m[0][1] * x1))) / m[0][0]);
  return [x0, x1, x2];
}

/** alpha_t, sigma_t and lambda_t = log(alpha_t) - log(sigma_t) of one sigma. */
interface AlphaSigmaLambda {
  alpha: number;
  sigma: number;
  lambda: number;
}

/** The coefficients shared by UniP and UniC (their first halves in diffusers). */
interface BhCoefficients {
  t: AlphaSigmaLambda;
  s0: AlphaSigmaLambda;
  /** `(m_i - m0) / r_k`, one per earlier output. */
  d1s: Float32Array[];
  hPhi1: number;
  bH: number;
  /** `R` (rows rks^0, rks^1, ...) and `b` of the order-conditions system. */
  r: number[][];
  b: number[];
}

/**
 * The UniPC multistep sampler. `step` reproduces diffusers' float32 arithmetic operation by
 * operation (the corrector on the incoming sample, then the predictor); `setTimesteps`
 * reproduces its numpy timestep and sigma tables. `scaleModelInput` is the identity and
 * `initNoiseSigma` is 1, as in diffusers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UniPCMultistepScheduler } from "./unipc.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const s = UniPCMultistepScheduler.fromConfig({ beta_schedule: "scaled_linear",
 *   beta_start: 0.00085, beta_end: 0.012, use_karras_sigmas: true });
 * s.setTimesteps(5);
 * assert.equal(s.timesteps.length, 5);
 * let x = new Tensor(new Float32Array(4).fill(s.initNoiseSigma), [1, 1, 2, 2]);
 * for (const t of s.timesteps) {
 *   const eps = new Tensor(x.data.map((v) => 0.1 * v), x.shape); // a stand-in model
 *   x = s.step(eps, t, s.scaleModelInput(x, t)).prevSample;
 * }
 * assert.ok(x.data.every(Number.isFinite));
 * ```
 */
export class UniPCMultistepScheduler extends DPMFamilyMultistepScheduler<UniPCMultistepConfig>
  implements Scheduler {
  /** Class name, defaults and extra fields. */
  static readonly spec: SchedulerSpec<UniPCMultistepConfig> = UNIPC_SPEC;

  /** diffusers' `last_sample`: the (corrected) sample the last predictor started from. */
  #lastSample: Float32Array | null = null;
  /** diffusers' `this_order`: the last predictor's order, the next corrector's. */
  #thisOrder = 0;

  /**
   * With `rescaleBetasZeroSnr` the last `alphasCumprod` is 2^-24, as diffusers sets it.
   *
   * @param config options in camelCase; missing ones take diffusers' defaults
   * @param options set by `UniPCMultistepScheduler.fromConfig` (what the JSON carried besides
   *   options), and `math`: where float32 sqrt/exp/log come from (default IEEE)
   * @throws {SchedulerConfigError} on an unknown option, a value of the wrong type, or an
   * option not supported yet (named).
   * @throws {RangeError} on more than one of the Karras / exponential / beta sigma options.
   */
  constructor(config: Partial<UniPCMultistepConfig> = {}, options?: SchedulerOptions) {
    super(UNIPC_SPEC, diffusersAliases(config), options);
    const source = options?.source ?? "new UniPCMultistepScheduler()";
    checkSigmaSpacing(this.config, source);
    const c = this.config;
    const refuse = this.unsupported(source);
    if ((c.predictionType as string) === "flow_prediction") {
      refuse("prediction_type", c.predictionType, `one of ${PREDICTION_TYPES.join(", ")}`);
    }
    if (c.solverP !== null) refuse("solver_p", c.solverP, "null");
    if (c.useFlowSigmas) refuse("use_flow_sigmas", true, "false");
    if (c.useDynamicShifting) refuse("use_dynamic_shifting", true, "false");
    if (c.shiftTerminal !== null) refuse("shift_terminal", c.shiftTerminal, "null");
    if (c.solverOrder > 3) refuse("solver_order", c.solverOrder, "1, 2 or 3");
    // __init__: timesteps N-1 .. 0, the training sigmas
    this.initTrainingSchedule();
  }

  /**
   * A scheduler from a diffusers `scheduler_config.json` object ({@link fromDiffusersConfig}).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UniPCMultistepScheduler } from "./unipc.ts";
   * const s = UniPCMultistepScheduler.fromConfig({ solver_order: 3, disable_corrector: [0] });
   * assert.deepEqual([s.config.solverOrder, s.config.disableCorrector], [3, [0]]);
   * ```
   */
  static fromConfig(
    json: unknown,
    source?: string,
    math?: Float32Math,
  ): UniPCMultistepScheduler {
    return fromDiffusersConfig(UniPCMultistepScheduler, json, source, math);
  }

  /** diffusers' `this_order`: the order of the last predictor (0 before the first step). */
  get thisOrder(): number {
    return this.#thisOrder;
  }

  /**
   * diffusers' `set_timesteps(num_inference_steps)`: integer timesteps by `timestep_spacing`,
   * sigmas by `np.interp` of the training sigmas (or Karras / exponential sigmas with their
   * `_sigma_to_t` timesteps, Karras ones rounded), the final sigma (0, the training `sigma_min`,
   * or the Karras / exponential schedule's last sigma repeated), and a reset of the multistep
   * history, the corrector's last sample and the step index.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UniPCMultistepScheduler } from "./unipc.ts";
   * const s = new UniPCMultistepScheduler({ timestepSpacing: "leading", stepsOffset: 1 });
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
    let timesteps: number[];
    if (c.timestepSpacing === "linspace") {
      timesteps = Array.from(npLinspace(0, N - 1, n + 1), roundHalfEven).reverse().slice(0, -1);
    } else if (c.timestepSpacing === "leading") {
      const ratio = Math.floor(N / (n + 1));
      timesteps = Array.from({ length: n }, (_, i) => (n - i) * ratio + c.stepsOffset);
    } else {
      timesteps = Array.from(npArange(N, 0, -(N / n)), (v) => roundHalfEven(v) - 1);
    }
    const table = sigmasFromAlphasCumprod(this.alphasCumprod, this.math); // float32, ascending
    const logSigmas = table.map(npLogF32);
    const toT = (sigmas: Float64Array, rounded: boolean) =>
      Array.from(sigmas, (s) => {
        const t = sigmaToT(s, logSigmas);
        return Math.trunc(rounded ? roundHalfEven(t) : t); // .astype(int64)
      });
    const sigmaMin = c.sigmaMin ?? table[0];
    const sigmaMax = c.sigmaMax ?? table[N - 1];
    let sigmas: ArrayLike<number>;
    let sigmaLast: number;
    if (c.useKarrasSigmas || c.useExponentialSigmas) {
      const spaced = c.useKarrasSigmas
        ? karrasSigmas(sigmaMin, sigmaMax, n)
        : exponentialSigmas(sigmaMin, sigmaMax, n);
      timesteps = toT(spaced, c.useKarrasSigmas);
      sigmas = spaced;
      // set_timesteps: `sigma_last = sigmas[-1]`, the schedule's own last sigma
      sigmaLast = c.finalSigmasType === "sigma_min" ? spaced[n - 1] : 0;
    } else {
      sigmas = npInterp(timesteps, Array.from(table, (_, i) => i), table);
      sigmaLast = c.finalSigmasType === "sigma_min"
        ? this.math.sqrt(f32(f32(1 - this.alphasCumprod[0]) / this.alphasCumprod[0]))
        : 0;
    }
    const all = new Float32Array(sigmas.length + 1);
    all.set(Array.from(sigmas));
    all[sigmas.length] = sigmaLast;
    this.setSchedule(timesteps, all);
    this.#lastSample = null;
  }

  /**
   * diffusers' `convert_model_output`: x0 (`predict_x0`, thresholded when configured) or the
   * noise from the model output, float32. Thresholding is not applied to the noise prediction,
   * as in diffusers.
   */
  #convert(
    m: Float32Array,
    x: Float32Array,
    shape: readonly number[],
    index: number,
  ): Float32Array {
    const c = this.config;
    const p = c.predictionType;
    const { alpha: at, sigma: st } = dpmLambda(this.sigmaList[index], this.math);
    if (c.predictX0) {
      let x0: Float32Array;
      if (p === "epsilon") x0 = x.map((v, i) => f32(v - f32(st * m[i])) / at);
      else if (p === "sample") x0 = m.slice();
      else x0 = x.map((v, i) => f32(at * v) - f32(st * m[i]));
      if (!c.thresholding) return x0;
      return thresholdSample(
        new Tensor(x0, [...shape]),
        c.dynamicThresholdingRatio,
        c.sampleMaxValue,
      )
        .data;
    }
    if (p === "epsilon") return m.slice();
    if (p === "sample") return x.map((v, i) => f32(v - f32(at * m[i])) / st);
    return m.map((v, i) => f32(at * v) + f32(st * x[i]));
  }

  /**
   * The first half of `multistep_uni_p_bh_update` / `multistep_uni_c_bh_update`: h, the ratios
   * r_k and differences D1_k of the `order - 1` earlier outputs, h_phi_1 = expm1(hh), B(h), and
   * the order conditions `R` / `b`, float32 in diffusers' order.
   */
  #coefficients(
    tIndex: number,
    s0Index: number,
    firstEarlier: number,
    order: number,
  ): BhCoefficients {
    const outputs = this.modelOutputs;
    const m0 = outputs[outputs.length - 1]!;
    const t = dpmLambda(this.sigmaList[tIndex], this.math);
    const s0 = dpmLambda(this.sigmaList[s0Index], this.math);
    const h = f32(t.lambda - s0.lambda);
    const rks: number[] = [];
    const d1s: Float32Array[] = [];
    for (let i = 1; i < order; i++) {
      const si = dpmLambda(this.sigmaList[firstEarlier - (i - 1)], this.math);
      const mi = outputs[outputs.length - 1 - i]!;
      const rk = f32(f32(si.lambda - s0.lambda) / h);
      rks.push(rk);
      d1s.push(mi.map((v, j) => f32(v - m0[j]) / rk));
    }
    rks.push(1);
    const hh = this.config.predictX0 ? -h : h;
    const hPhi1 = expm1f(hh);
    let hPhiK = f32(f32(hPhi1 / hh) - 1);
    let factorial = 1;
    const bH = this.config.solverType === "bh1" ? hh : expm1f(hh);
    const r: number[][] = [];
    const b: number[] = [];
    for (let i = 1; i <= order; i++) {
      // torch.pow(rks, i - 1): 1, rks, rks * rks
      r.push(rks.map((v) => i === 1 ? 1 : i === 2 ? v : f32(v * v)));
      b.push(f32(f32(hPhiK * factorial) / bH));
      factorial *= i + 1;
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial));
    }
    return { t, s0, d1s, hPhi1, bH, r, b };
  }

  /** `x_t_`: `sigma_t / sigma_s0 * x - alpha_t * h_phi_1 * m0` (noise: alphas and sigmas swapped). */
  #base(k: BhCoefficients, x: Float32Array, m0: Float32Array): Float32Array {
    const predictX0 = this.config.predictX0;
    const a = predictX0 ? f32(k.t.sigma / k.s0.sigma) : f32(k.t.alpha / k.s0.alpha);
    const g = f32((predictX0 ? k.t.alpha : k.t.sigma) * k.hPhi1);
    return x.map((v, i) => f32(a * v) - f32(g * m0[i]));
  }

  /** `torch.einsum("k,bkc...->bc...", rhos, D1s)`: bmm's float32 sum of products over k. */
  static #einsum(rhos: number[], d1s: Float32Array[], n: number): Float32Array {
    const out = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let k = 0; k < d1s.length; k++) acc = f32(acc + f32(rhos[k] * d1s[k][j]));
      out[j] = acc;
    }
    return out;
  }

  /** `multistep_uni_p_bh_update` (without `solver_p`): the predictor from step `index`. */
  #predictor(x: Float32Array, index: number, order: number): Float32Array {
    const k = this.#coefficients(index + 1, index, index - 1, order);
    const m0 = this.modelOutputs[this.modelOutputs.length - 1]!;
    const base = this.#base(k, x, m0);
    const scale = f32((this.config.predictX0 ? k.t.alpha : k.t.sigma) * k.bH);
    if (k.d1s.length === 0) {
      const zero = f32(scale * 0); // `pred_res = 0`: NaN when B(h) is infinite, as in diffusers
      return base.map((v) => v - zero);
    }
    // order 2: rhos_p = [0.5]; order 3: torch.linalg.solve(R[:-1, :-1], b[:-1])
    const rhos = order === 2 ? [0.5] : solve2x2F32(k.r.slice(0, 2).map((r) => r.slice(0, 2)), k.b);
    const predRes = UniPCMultistepScheduler.#einsum(rhos, k.d1s, x.length);
    return base.map((v, i) => v - f32(scale * predRes[i]));
  }

  /** `multistep_uni_c_bh_update`: the corrector of the sample that step `index` received. */
  #corrector(
    modelT: Float32Array,
    lastSample: Float32Array,
    index: number,
    order: number,
  ): Float32Array {
    const k = this.#coefficients(index, index - 1, index - 2, order);
    const m0 = this.modelOutputs[this.modelOutputs.length - 1]!;
    // order 1: rhos_c = [0.5]; else torch.linalg.solve(R, b)
    const rhos = order === 1 ? [0.5] : order === 2 ? solve2x2F32(k.r, k.b) : solve3x3F32(k.r, k.b);
    const base = this.#base(k, lastSample, m0);
    const scale = f32((this.config.predictX0 ? k.t.alpha : k.t.sigma) * k.bH);
    const corrRes = k.d1s.length > 0
      ? UniPCMultistepScheduler.#einsum(rhos, k.d1s, modelT.length)
      : new Float32Array(modelT.length); // `corr_res = 0`
    const last = rhos[rhos.length - 1];
    return base.map((v, i) => {
      const d1t = f32(modelT[i] - m0[i]);
      return v - f32(scale * f32(corrRes[i] + f32(last * d1t)));
    });
  }

  /**
   * One UniPC step (diffusers' `UniPCMultistepScheduler.step`): converts the model output (x0
   * or noise), corrects the incoming sample with UniC (unless this is the first step, or the
   * corrector is disabled after the previous step), pushes the output on the history, then
   * predicts the next sample with UniP at the order `solver_order`, the steps taken so far and
   * `lower_order_final` allow. Draws no noise (`opts` is unused).
   *
   * @throws {Error} before `setTimesteps`; on shape mismatches; past the end of the schedule.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UniPCMultistepScheduler } from "./unipc.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new UniPCMultistepScheduler({ solverOrder: 3 });
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
   * const eps = new Tensor(new Float32Array([0.1, -0.1]), [1, 2]);
   * const { prevSample } = s.step(eps, s.timesteps[0], x);
   * assert.deepEqual([prevSample.shape, s.stepIndex, s.lowerOrderNums, s.thisOrder], [[1, 2], 1, 1, 1]);
   * ```
   */
  step(modelOutput: Tensor, timestep: number, sample: Tensor, _opts: StepOptions = {}): StepResult {
    const who = "UniPCMultistepScheduler.step";
    const index = this.startStep(modelOutput, timestep, sample, who);
    const c = this.config;
    const n = this.timestepList.length;
    const useCorrector = index > 0 && !c.disableCorrector.includes(index - 1) &&
      this.#lastSample !== null;
    const converted = this.#convert(modelOutput.data, sample.data, sample.shape, index);
    let x = sample.data;
    if (useCorrector) x = this.#corrector(converted, this.#lastSample!, index, this.#thisOrder);
    this.pushModelOutput(converted);
    const order = c.lowerOrderFinal ? Math.min(c.solverOrder, n - index) : c.solverOrder;
    this.#thisOrder = Math.min(order, this.lowerOrderCount + 1); // warmup for multistep
    this.#lastSample = x;
    const prev = this.#predictor(x, index, this.#thisOrder);
    this.endStep();
    return { prevSample: new Tensor(prev, sample.shape) };
  }
}
