/**
 * The shapes every scheduler shares: step options and results, and the scheduler interface
 * that pipelines drive. Mirrors the uniform API of diffusers' `SchedulerMixin`.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
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
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const opts: StepOptions = { eta: 0.5, generator: new TorchGenerator(0) };
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
  /**
   * The dtype of the tensors diffusers' step sees: `"float16"` runs the step in torch's CPU
   * half arithmetic on half values (DDIMScheduler with eta 0 and PNDMScheduler's PLMS steps;
   * `makeSampler` refuses it for the others). Default `"float32"`.
   */
  precision?: Precision;
}

/**
 * What one `step` returns, as diffusers' `SchedulerOutput`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepResult } from "./types.ts";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const ddim = new DDIMScheduler();
 * ddim.setTimesteps(2);
 * const x = Tensor.zeros([1, 4, 2, 2]);
 * const r: StepResult = ddim.step(x, ddim.timesteps[0], x);
 * assert.deepEqual(r.prevSample.shape, [1, 4, 2, 2]);
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
 * import { DDIMScheduler } from "./ddim.ts";
 * function stepsOf(s: Scheduler, n: number): number[] {
 *   s.setTimesteps(n);
 *   return s.timesteps;
 * }
 * assert.deepEqual(stepsOf(new DDIMScheduler(), 4), [750, 500, 250, 0]);
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

/**
 * The model as every sampler sees it, in the k-diffusion manner: the (guided) prediction for
 * the sample `x` at the training timestep `t`, a tensor of `x`'s shape. Conditioning and
 * classifier-free guidance live inside (`guidedDenoiser` of core/pipelines/denoiser.ts); an
 * unconditional model is `(x, t) => unet.predict(x, t)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Denoiser } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const halve: Denoiser = (x) => Promise.resolve(new Tensor(x.data.map((v) => v / 2), x.shape));
 * assert.deepEqual((await halve(new Tensor(new Float32Array([4]), [1]), 999)).data[0], 2);
 * ```
 */
export type Denoiser = (x: Tensor, t: number) => Promise<Tensor>;

/**
 * What one stepper step returns: the state handed to the next step and, where the method
 * computes one, its estimate of x_0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepOutput } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const out: StepOutput = { prevSample: Tensor.zeros([1, 4, 8, 8]) };
 * assert.deepEqual(out.prevSample.shape, [1, 4, 8, 8]);
 * ```
 */
export interface StepOutput<S = Tensor> {
  /** The state after the step: x_{t-1} (a pair of tensors for two-latent methods). */
  prevSample: S;
  /** The method's x_0 estimate at this step, where it computes one. */
  predOriginalSample?: Tensor;
}

/**
 * One step of a sampling method, given the denoiser: a diffusers {@link Scheduler} through
 * `schedulerSampler`, the CompVis PLMS and labml DDIM samplers, or any method that calls the
 * denoiser several times per step or carries several latents (the state `S`). The one loop
 * (`denoiseLoop`) drives it over `timesteps`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Stepper } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * // x <- x - eps, once per timestep
 * const euler: Stepper = {
 *   timesteps: [999, 499],
 *   async step(denoise, x, i) {
 *     const eps = await denoise(x, this.timesteps[i]);
 *     return { prevSample: new Tensor(x.data.map((v, j) => v - eps.data[j]), x.shape) };
 *   },
 * };
 * const half = (x: Tensor) => Promise.resolve(new Tensor(x.data.map((v) => v / 2), x.shape));
 * const out = await euler.step(half, new Tensor(new Float32Array([4]), [1]), 0);
 * assert.equal(out.prevSample.data[0], 2);
 * ```
 */
export interface Stepper<S = Tensor> {
  /** The timesteps of the schedule, one per step, in the order they are visited. */
  readonly timesteps: readonly number[];
  /** Forgets multistep history, so the next step is treated as a first step. */
  reset?(): void;
  /** Step `index` (at `timesteps[index]`) from `sample`, calling `denoise` as it needs. */
  step(denoise: Denoiser, sample: S, index: number): Promise<StepOutput<S>>;
}

/**
 * A stepper with the schedule operations a pipeline needs: how many steps, the initial noise
 * scale, forward diffusion for img2img / inpaint and partial schedules. Made from a diffusers
 * scheduler by `schedulerSampler`, or by `makeSampler` from a case's sampler spec.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { schedulerSampler } from "./scheduler_sampler.ts";
 * import type { Sampler } from "./types.ts";
 * const sampler: Sampler = schedulerSampler(new DDIMScheduler());
 * sampler.setTimesteps(4);
 * assert.deepEqual(sampler.timesteps, [750, 500, 250, 0]);
 * ```
 */
export interface Sampler<S = Tensor> extends Stepper<S> {
  /** Standard deviation of the initial noise (`init_noise_sigma`). */
  readonly initNoiseSigma: number;
  /** Model steps per inference step (diffusers' `order`; 1 when absent). */
  readonly order?: number;
  /**
   * The generator its steps draw noise from, when it has one: a pipeline refuses another
   * generator than its own (one generator draws the initial latents, then every step's noise).
   */
  readonly generator?: StepOptions["generator"];
  /** Sets the number of inference steps and computes `timesteps`. */
  setTimesteps(numInferenceSteps: number): void;
  /** Tells a step-indexed scheduler where a partial schedule starts (diffusers' `set_begin_index`). */
  setBeginIndex?(beginIndex: number): void;
  /** Forward-diffuses `original` to timestep `t` with `noise`. */
  addNoise(original: Tensor, noise: Tensor, t: number): Tensor;
}
