/**
 * The base of the schedulers of the DPM-Solver family (DPMSolverMultistep,
 * DPMSolverSinglestep, UniPCMultistep, DEISMultistep), on top of {@link SigmaTableScheduler}
 * (the float32 sigma table, the step and begin index): the sigmas' `alpha_t` / `sigma_t`
 * ({@link dpmAlphaSigma}), `init_noise_sigma` 1, the identity `scale_model_input`, their
 * `add_noise`, `index_for_timestep` (which these classes share line for line and which differs
 * from the Euler family's: a timestep not in the schedule is the last step) and the
 * history of converted model outputs ({@link DPMFamilyMultistepScheduler} adds the multistep
 * schedulers' `lower_order_nums`). Each scheduler file keeps its own `setTimesteps` and
 * `step` math.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import { f32 } from "../numerics/f32.ts";
import { assertSameShape, type Tensor } from "../tensor/tensor.ts";
import { noisePerBatchItem } from "./add_noise.ts";
import type { BetaConfig } from "./betas.ts";
import { SchedulerConfigError } from "./config_json.ts";
import { SigmaTableScheduler } from "./sigma_scheduler.ts";
import { sigmasFromAlphasCumprod } from "./sigmas.ts";

/**
 * diffusers' `_sigma_to_alpha_sigma_t` of the DPM-Solver schedulers: `alpha_t = 1 / (sigma**2 +
 * 1) ** 0.5` and `sigma_t = sigma * alpha_t`, float32, the sqrt from `math`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dpmAlphaSigma } from "./dpm_family.ts";
 * import { ieeeMath } from "../numerics/f32_math.ts";
 * assert.deepEqual(dpmAlphaSigma(0, ieeeMath), [1, 0]);
 * ```
 */
export function dpmAlphaSigma(sigma: number, math: Float32Math): [number, number] {
  const alpha = f32(1 / math.sqrt(f32(f32(sigma * sigma) + 1)));
  return [alpha, f32(sigma * alpha)];
}

/**
 * What {@link DPMFamilyScheduler} reads of a config: the noise schedule and `solver_order`
 * (the length of the model-output history).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMFamilyConfig } from "./dpm_family.ts";
 * const c: Pick<DPMFamilyConfig, "solverOrder"> = { solverOrder: 2 };
 * assert.equal(c.solverOrder, 2);
 * ```
 */
export type DPMFamilyConfig = BetaConfig & {
  /** Order of the solver: how many converted model outputs the history keeps. */
  solverOrder: number;
};

/**
 * The flow-matching and dynamic-shifting options that the DPM-Solver family's configs read
 * (diffusers' `__init__` has them) and that the ports refuse when switched on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DPMFlowOptions } from "./dpm_family.ts";
 * const o: Partial<DPMFlowOptions> = { useFlowSigmas: false, flowShift: 1 };
 * assert.equal(o.flowShift, 1);
 * ```
 */
export interface DPMFlowOptions {
  /** Flow-matching sigmas (`use_flow_sigmas`): not supported yet. */
  useFlowSigmas: boolean;
  /** Flow-matching shift (`flow_shift`); only read with flow sigmas. */
  flowShift: number;
  /** Dynamic timestep shifting (`use_dynamic_shifting`): not supported yet. */
  useDynamicShifting: boolean;
  /** The shift of dynamic shifting (`time_shift_type`). */
  timeShiftType: "exponential";
}

/**
 * A scheduler of the DPM-Solver family over a float32 sigma table (one sigma per timestep,
 * then the final one), with diffusers' step index (found from the first step's timestep, or
 * set by `setBeginIndex`, then advanced by one per step) and its history of the last
 * `solverOrder` converted model outputs (`model_outputs`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
 * import type { DPMFamilyConfig, DPMFamilyScheduler } from "./dpm_family.ts";
 * const s: DPMFamilyScheduler<DPMFamilyConfig> = new DPMSolverMultistepScheduler();
 * s.setTimesteps(10);
 * assert.equal(s.indexForTimestep(s.timesteps[2]), 2);
 * ```
 */
export abstract class DPMFamilyScheduler<C extends DPMFamilyConfig> extends SigmaTableScheduler<C> {
  /** diffusers' `model_outputs`: the last `solverOrder` converted model outputs. */
  protected modelOutputs: (Float32Array | null)[] = [];

  /** Standard deviation of the initial noise: 1 (diffusers' `init_noise_sigma`). */
  get initNoiseSigma(): number {
    return 1.0;
  }

  /**
   * diffusers' `index_for_timestep`: the position of `timestep` in `timesteps` (the second one
   * when it appears more than once; the last step when it does not appear, as diffusers does).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { UniPCMultistepScheduler } from "./unipc.ts";
   * const s = new UniPCMultistepScheduler();
   * s.setTimesteps(10);
   * assert.equal(s.indexForTimestep(s.timesteps[3]), 3);
   * assert.equal(s.indexForTimestep(12345), 9);
   * ```
   */
  indexForTimestep(timestep: number): number {
    const found: number[] = [];
    this.timestepList.forEach((t, i) => {
      if (t === timestep) found.push(i);
    });
    if (found.length === 0) return this.timestepList.length - 1;
    return found[found.length > 1 ? 1 : 0];
  }

  /**
   * diffusers' `scale_model_input`: the sample unchanged (these solvers take the model input
   * as it is).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DEISMultistepScheduler } from "./deis.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DEISMultistepScheduler();
   * s.setTimesteps(10);
   * const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
   * assert.equal(s.scaleModelInput(x, s.timesteps[0]), x);
   * ```
   */
  scaleModelInput(sample: Tensor, _t: number): Tensor {
    return sample;
  }

  /**
   * diffusers' `add_noise`: `alpha_t * original + sigma_t * noise` with `alpha_t = 1 /
   * sqrt(sigma^2 + 1)` and `sigma_t = sigma * alpha_t` of the sigma at `t` (one per batch item,
   * or one for all), looked up as diffusers does: by timestep before any `setBeginIndex`, else
   * at the current step index (or the begin index).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DPMSolverMultistepScheduler } from "./dpm_multistep.ts";
   * import { Tensor } from "../tensor/tensor.ts";
   * const s = new DPMSolverMultistepScheduler();
   * s.setTimesteps(10);
   * const noisy = s.addNoise(Tensor.zeros([1, 1]), new Tensor(new Float32Array([1]), [1, 1]), s.timesteps[9]);
   * assert.ok(noisy.data[0] > 0 && noisy.data[0] < 1);
   * ```
   */
  addNoise(original: Tensor, noise: Tensor, t: number | readonly number[]): Tensor {
    const steps = this.steps;
    const indexOf = (time: number): number =>
      steps.beginIndex === null
        ? this.indexForTimestep(time)
        : (steps.stepIndex ?? steps.beginIndex);
    return noisePerBatchItem(original, noise, t, (time) => {
      const [alpha, sigma] = dpmAlphaSigma(this.sigmaList[indexOf(time)], this.math);
      return (x0, n) => f32(alpha * x0) + f32(sigma * n);
    });
  }

  /**
   * The constructor's refusal of an option this port does not support yet: a
   * {@link SchedulerConfigError} naming `key`, its value and what is expected.
   */
  protected unsupported(source: string): (key: string, value: unknown, expected: string) => never {
    return (key, value, expected) => {
      throw new SchedulerConfigError(
        source,
        key,
        `${JSON.stringify(value)} is not supported yet by diffparity's port of ` +
          `${this.className}; expected ${expected}`,
      );
    };
  }

  /**
   * The end of diffusers' `__init__`, after the subclass's checks: with `rescaleBetasZeroSnr`
   * the last `alphasCumprod` is 2^-24, as diffusers sets it; timesteps N-1 .. 0, the training
   * sigmas and an empty history.
   */
  protected initTrainingSchedule(): void {
    if (this.config.rescaleBetasZeroSnr) {
      // diffusers: "Close to 0 without being 0 so first sigma is not inf"
      this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24;
    }
    const n = this.config.numTrainTimesteps;
    this.timestepList = Array.from({ length: n }, (_, i) => n - 1 - i);
    this.sigmaList = sigmasFromAlphasCumprod(this.alphasCumprod, this.math);
    this.modelOutputs = new Array(this.config.solverOrder).fill(null);
  }

  /**
   * The start of `set_timesteps`: checks the number of steps.
   *
   * @throws {RangeError} when `numInferenceSteps` is not a positive integer.
   */
  protected checkStepCount(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    if (!Number.isInteger(n) || n < 1) {
      throw new RangeError(
        `${this.className}.setTimesteps: expected a positive integer number of steps, got ${n}`,
      );
    }
  }

  /**
   * The end of `set_timesteps`: installs `timesteps` and `sigmas` (the final sigma included),
   * sets `numInferenceSteps`, and resets the history and the step and begin indices.
   */
  protected setSchedule(
    timesteps: number[],
    sigmas: Float32Array,
    numInferenceSteps: number = timesteps.length,
  ): void {
    this.sigmaList = sigmas;
    this.timestepList = timesteps;
    this.numInferenceSteps = numInferenceSteps;
    this.modelOutputs = new Array(this.config.solverOrder).fill(null);
    this.steps.reset();
  }

  /**
   * The start of `step`: checks that `setTimesteps` was called and the shapes agree, and
   * returns the step index (diffusers' `_init_step_index` on the first step).
   *
   * @param stepCount where the schedule ends besides the sigmas (the singlestep order list)
   * @throws {Error} before `setTimesteps`; on shape mismatches.
   * @throws {RangeError} past the end of the schedule.
   */
  protected startStep(
    modelOutput: Tensor,
    timestep: number,
    sample: Tensor,
    who: string,
    stepCount = Infinity,
  ): number {
    if (this.numInferenceSteps === null) {
      throw new Error(`${who}: the number of inference steps is not set; call setTimesteps first`);
    }
    assertSameShape(modelOutput, sample, "model_output", "sample", who);
    const index = this.steps.init(
      this.timestepList,
      timestep,
      who,
      (_timesteps, t) => this.indexForTimestep(t),
    );
    if (index + 1 >= this.sigmaList.length || index >= stepCount) {
      throw new RangeError(
        `${who}: step ${index} is past the end of the schedule (${this.timestepList.length} ` +
          `steps); call setTimesteps again`,
      );
    }
    return index;
  }

  /**
   * Pushes a converted model output on the history (the oldest drops off) and returns the
   * history.
   */
  protected pushModelOutput(output: Float32Array): (Float32Array | null)[] {
    const outputs = this.modelOutputs;
    for (let i = 0; i < this.config.solverOrder - 1; i++) outputs[i] = outputs[i + 1];
    outputs[outputs.length - 1] = output;
    return outputs;
  }

  /** The end of `step`: the step index moves on. */
  protected endStep(): void {
    this.steps.advance();
  }
}

/**
 * A multistep scheduler of the DPM-Solver family (DPMSolverMultistep, UniPCMultistep,
 * DEISMultistep): a {@link DPMFamilyScheduler} that counts diffusers' `lower_order_nums`, the
 * steps taken so far up to `solverOrder`, which bound the order of the next update.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEISMultistepScheduler } from "./deis.ts";
 * import type { DPMFamilyConfig, DPMFamilyMultistepScheduler } from "./dpm_family.ts";
 * const s: DPMFamilyMultistepScheduler<DPMFamilyConfig> = new DEISMultistepScheduler();
 * s.setTimesteps(10);
 * assert.equal(s.lowerOrderNums, 0);
 * ```
 */
export abstract class DPMFamilyMultistepScheduler<C extends DPMFamilyConfig>
  extends DPMFamilyScheduler<C> {
  /** diffusers' `lower_order_nums`, reset by `setSchedule`. */
  protected lowerOrderCount = 0;

  /** diffusers' `lower_order_nums`: how many steps the multistep history holds (at most the order). */
  get lowerOrderNums(): number {
    return this.lowerOrderCount;
  }

  /** As {@link DPMFamilyScheduler}'s, and `lower_order_nums` back to 0. */
  protected override setSchedule(
    timesteps: number[],
    sigmas: Float32Array,
    numInferenceSteps: number = timesteps.length,
  ): void {
    super.setSchedule(timesteps, sigmas, numInferenceSteps);
    this.lowerOrderCount = 0;
  }

  /** The end of `step`: `lower_order_nums` counts up to `solverOrder`, the step index moves on. */
  protected override endStep(): void {
    if (this.lowerOrderCount < this.config.solverOrder) this.lowerOrderCount++;
    super.endStep();
  }
}
