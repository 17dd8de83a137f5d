/**
 * Where an img2img / inpaint loop starts in the schedule, given as diffusers' `strength`
 * (StableDiffusionImg2ImgPipeline.get_timesteps) or as the start index of the hand-written
 * `for t in scheduler.timesteps[start_step:]` loop. Both set the timesteps and, where the
 * scheduler has one, its begin index.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
import type { Sampler } from "../schedulers/types.ts";
import { PipelineInputError } from "./errors.ts";

/**
 * Optional parts of a scheduler that the start of an img2img loop uses when present.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SchedulerStartExtras } from "./timesteps.ts";
 * let begin = -1;
 * const lms: SchedulerStartExtras = { order: 1, setBeginIndex: (i) => void (begin = i) };
 * lms.setBeginIndex?.(4);
 * assert.deepEqual([lms.order, begin], [1, 4]);
 * ```
 */
export interface SchedulerStartExtras {
  /** Model calls per inference step (diffusers' class attribute `order`; 1 when absent). */
  readonly order?: number;
  /** Tells a step-indexed scheduler (LMS, Euler) where the loop starts. */
  setBeginIndex?(beginIndex: number): void;
}

/**
 * Options of {@link img2imgTimesteps} and {@link startStepTimesteps}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PartialScheduleOptions } from "./timesteps.ts";
 * const legacyInpaint: PartialScheduleOptions = { setBeginIndex: false };
 * assert.equal(legacyInpaint.setBeginIndex, false);
 * ```
 */
export interface PartialScheduleOptions {
  /**
   * Call the scheduler's `setBeginIndex` when it has one (default true, as
   * StableDiffusionImg2ImgPipeline.get_timesteps). StableDiffusionInpaintPipelineLegacy's
   * get_timesteps does not, so LMS / Euler then locate every timestep by value.
   */
  setBeginIndex?: boolean;
}

/**
 * Where a partial loop starts and what it visits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PartialSchedule } from "./timesteps.ts";
 * const p: PartialSchedule = { timesteps: [500, 250, 0], beginIndex: 1, latentTimestep: 500 };
 * assert.equal(p.latentTimestep, p.timesteps[0]);
 * ```
 */
export interface PartialSchedule {
  /** The timesteps to visit: `scheduler.timesteps.slice(beginIndex)`. */
  timesteps: number[];
  /** The index into `scheduler.timesteps` of the first one (diffusers' `t_start * order`). */
  beginIndex: number;
  /** The timestep `add_noise` forward-diffuses the image latents to (`timesteps[0]`). */
  latentTimestep: number;
}

/**
 * `scheduler.setTimesteps(steps)` then diffusers' `get_timesteps(steps, strength)`:
 * `init_timestep = min(int(steps * strength), steps)`, `t_start = max(steps - init_timestep, 0)`,
 * the timesteps from `t_start * order`, and `setBeginIndex(t_start * order)` where the
 * scheduler has it (unless `options.setBeginIndex` is false). Throws when `strength` leaves no step (`int(steps * strength) == 0`).
 *
 * Note that `steps * strength` is a float product: strength 0.29 with 100 steps gives
 * 28.999999999999996 and so 28 steps. Use {@link startStepTimesteps} for an exact start.
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import assert from "node:assert/strict";
 * import { img2imgTimesteps } from "./timesteps.ts";
 * const ddim = new DDIMScheduler();
 * const { timesteps, beginIndex } = img2imgTimesteps(ddim, 50, 0.8);
 * assert.deepEqual([beginIndex, timesteps.length], [10, 40]);
 * assert.equal(img2imgTimesteps(ddim, 100, 0.29).timesteps.length, 28); // 100 * 0.29 < 29
 * assert.throws(() => img2imgTimesteps(ddim, 4, 0.2), /leaves no denoising step/);
 * ```
 */
export function img2imgTimesteps(
  scheduler: Pick<Sampler, "setTimesteps" | "timesteps"> & SchedulerStartExtras,
  steps: number,
  strength: number,
  options: PartialScheduleOptions = {},
): PartialSchedule {
  checkSteps("img2imgTimesteps", steps);
  if (!(Number.isFinite(strength) && strength >= 0 && strength <= 1)) {
    throw new PipelineInputError(
      "img2imgTimesteps",
      "strength",
      `expected a number in [0, 1], got ${strength}`,
    );
  }
  const initTimestep = Math.min(Math.trunc(steps * strength), steps); // int(steps * strength)
  const tStart = Math.max(steps - initTimestep, 0);
  if (initTimestep === 0) {
    throw new PipelineInputError(
      "img2imgTimesteps",
      "strength",
      `strength ${strength} with ${steps} steps leaves no denoising step ` +
        `(int(steps * strength) = 0); expected steps * strength >= 1`,
    );
  }
  scheduler.setTimesteps(steps);
  return startAt(scheduler, tStart * orderOf(scheduler), "img2imgTimesteps", "strength", options);
}

/**
 * `scheduler.setTimesteps(steps)` then start at index `startStep` of `scheduler.timesteps`, as
 * the hand-written loop `for t in scheduler.timesteps[start_step:]` after
 * `latents = scheduler.add_noise(latents, noise, scheduler.timesteps[start_step])`. For a
 * scheduler of order 1 this equals {@link img2imgTimesteps} with
 * `strength = (steps - startStep) / steps` (up to the float rounding of `steps * strength`).
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import assert from "node:assert/strict";
 * import { startStepTimesteps } from "./timesteps.ts";
 * const ddim = new DDIMScheduler();
 * const { timesteps, latentTimestep } = startStepTimesteps(ddim, 50, 10);
 * assert.deepEqual([timesteps.length, latentTimestep], [40, ddim.timesteps[10]]);
 * assert.throws(() => startStepTimesteps(ddim, 50, 50), /expected an index below 50/);
 * ```
 */
export function startStepTimesteps(
  scheduler: Pick<Sampler, "setTimesteps" | "timesteps"> & SchedulerStartExtras,
  steps: number,
  startStep: number,
  options: PartialScheduleOptions = {},
): PartialSchedule {
  checkSteps("startStepTimesteps", steps);
  if (!Number.isInteger(startStep) || startStep < 0) {
    throw new PipelineInputError(
      "startStepTimesteps",
      "startStep",
      `expected an integer >= 0, got ${startStep}`,
    );
  }
  scheduler.setTimesteps(steps);
  return startAt(scheduler, startStep, "startStepTimesteps", "startStep", options);
}

function startAt(
  scheduler: Pick<Sampler, "setTimesteps" | "timesteps"> & SchedulerStartExtras,
  beginIndex: number,
  where: string,
  field: string,
  options: PartialScheduleOptions,
): PartialSchedule {
  const all = scheduler.timesteps;
  if (beginIndex >= all.length) {
    throw new PipelineInputError(
      where,
      field,
      `starts at index ${beginIndex} of a schedule of ${all.length} timesteps; ` +
        `expected an index below ${all.length}`,
    );
  }
  const timesteps = [...all.slice(beginIndex)];
  // get_timesteps: if hasattr(self.scheduler, "set_begin_index"): set_begin_index(t_start * order)
  if ((options.setBeginIndex ?? true) && typeof scheduler.setBeginIndex === "function") {
    scheduler.setBeginIndex(beginIndex);
  }
  return { timesteps, beginIndex, latentTimestep: timesteps[0] };
}

function orderOf(scheduler: SchedulerStartExtras): number {
  const order = scheduler.order ?? 1;
  if (!Number.isInteger(order) || order < 1) {
    throw new PipelineInputError("img2imgTimesteps", "scheduler.order", "expected an integer >= 1");
  }
  return order;
}

/**
 * Throws a {@link PipelineInputError} unless `steps` is a positive integer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSteps } from "./timesteps.ts";
 * checkSteps("text2img", 20);
 * assert.throws(() => checkSteps("text2img", 0), /steps/);
 * ```
 */
export function checkSteps(where: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new PipelineInputError(where, "steps", `expected a positive integer, got ${steps}`);
  }
}

/**
 * Throws a {@link PipelineInputError} for a `precision` other than float32: the float16 sampler
 * mode is text2img's only.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkFloat32 } from "./timesteps.ts";
 * checkFloat32("img2img", undefined);
 * assert.throws(() => checkFloat32("img2img", "float16"), /img2img: precision: the float16 sampler mode runs text2img only/);
 * ```
 */
export function checkFloat32(where: string, precision: Precision | undefined): void {
  if ((precision ?? "float32") !== "float32") {
    throw new PipelineInputError(
      where,
      "precision",
      `the float16 sampler mode runs text2img only; got ${precision}`,
    );
  }
}

/**
 * Throws a {@link PipelineInputError} when `sampler` draws its step noise from another
 * generator than the pipeline's: diffusers' pipelines use one generator for the initial
 * latents (or the VAE sample and the noise) and every step's noise, in that order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkSameGenerator } from "./timesteps.ts";
 * import { DDPMScheduler } from "../schedulers/ddpm.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const g = new TorchGenerator(0);
 * checkSameGenerator("text2img", schedulerSampler(new DDPMScheduler(), { generator: g }), g);
 * assert.throws(
 *   () => checkSameGenerator("text2img", schedulerSampler(new DDPMScheduler(), { generator: g }), new TorchGenerator(0)),
 *   /text2img: sampler: draws its step noise from another generator/,
 * );
 * ```
 */
export function checkSameGenerator(
  where: string,
  sampler: { readonly generator?: unknown },
  generator: unknown,
): void {
  if (sampler.generator !== undefined && sampler.generator !== generator) {
    throw new PipelineInputError(
      where,
      "sampler",
      "draws its step noise from another generator than the pipeline's; pass the same one " +
        "(one generator draws the initial latents, then every step's noise, as in diffusers)",
    );
  }
}
