/**
 * The shapes every scheduler shares: step options and results, and the scheduler interface
 * that pipelines drive. Mirrors the uniform API of diffusers' `SchedulerMixin`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { TorchGenerator } from "../tensor/torch_generator.ts";

/**
 * Options of `step`, as diffusers' `step(..., eta, use_clipped_model_output, generator,
 * variance_noise)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepOptions } from "./types.ts";
 * const opts: StepOptions = { eta: 0.5 };
 * assert.equal(opts.eta, 0.5);
 * ```
 */
export interface StepOptions {
  /** DDIM's eta (0 gives the deterministic sampler). */
  eta?: number;
  /** Source of the noise drawn inside `step` (DDPM, DDIM with eta > 0, ancestral samplers). */
  generator?: TorchGenerator;
  /** DDIM: recompute the model output from the clipped x0 prediction. */
  useClippedModelOutput?: boolean;
  /** Noise to use instead of drawing from `generator`. */
  varianceNoise?: Tensor;
}

/**
 * What one `step` returns, as diffusers' `SchedulerOutput`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepResult } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const r: StepResult = { prevSample: Tensor.zeros([1, 2]) };
 * assert.deepEqual(r.prevSample.shape, [1, 2]);
 * ```
 */
export interface StepResult {
  /** x_{t-1}: the sample handed to the next step. */
  prevSample: Tensor;
  /** The model's estimate of x_0 at this step, where the scheduler computes one. */
  predOriginalSample?: Tensor;
}

/**
 * The interface pipelines drive; every class of core/schedulers implements it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Scheduler } from "./types.ts";
 * function stepsOf(s: Scheduler, n: number): number[] { s.setTimesteps(n); return s.timesteps; }
 * import { DDIMScheduler } from "./ddim.ts";
 * assert.deepEqual(stepsOf(new DDIMScheduler(), 2), [500, 0]);
 * ```
 */
export interface Scheduler {
  /** Standard deviation of the initial noise (1 for DDIM/DDPM/PNDM, sigma_max-ish for sigma schedulers). */
  readonly initNoiseSigma: number;
  /** The timesteps of the current schedule, in the order they are visited. */
  readonly timesteps: number[];
  /** Sets the number of inference steps and computes `timesteps`. */
  setTimesteps(numInferenceSteps: number): void;
  /** Scales the model input at timestep `t` (identity except for sigma schedulers). */
  scaleModelInput(sample: Tensor, t: number): Tensor;
  /** One denoising step. */
  step(modelOutput: Tensor, t: number, sample: Tensor, opts?: StepOptions): StepResult;
  /** Forward-diffuses `original` to timestep(s) `t` with `noise`. */
  addNoise(original: Tensor, noise: Tensor, t: number): Tensor;
}
