/**
 * A diffusers {@link Scheduler} as a {@link Sampler}: each step is StableDiffusionPipeline
 * .__call__'s loop body, `scale_model_input`, the (guided) model, `scheduler.step`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import type { Denoiser, Sampler, Scheduler, StepOptions, StepOutput } from "./types.ts";

/**
 * Options of {@link schedulerSampler}: what diffusers passes to every `step` call.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SchedulerSamplerOptions } from "./scheduler_sampler.ts";
 * const o: SchedulerSamplerOptions = { eta: 0.5 };
 * assert.deepEqual(o.eta, 0.5);
 * ```
 */
export type SchedulerSamplerOptions = Pick<
  StepOptions,
  "eta" | "generator" | "precision" | "useClippedModelOutput"
>;

/**
 * Wraps `scheduler` so the one loop can drive it: step `i` runs at `scheduler.timesteps[i]`.
 * `eta`, `generator`, `precision` and `useClippedModelOutput` go to every `step` (DDIM with
 * eta > 0, DDPM and ancestral samplers draw from the generator there; `precision` "float16"
 * steps on half values; DDIMPipeline passes `use_clipped_model_output`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "./ddim.ts";
 * import { schedulerSampler } from "./scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const sampler = schedulerSampler(new DDIMScheduler());
 * sampler.setTimesteps(2);
 * const x = new Tensor(new Float32Array([1]), [1]);
 * const { prevSample } = await sampler.step((s) => Promise.resolve(s), x, 0); // eps = x
 * // the same as scale_model_input, the model and step by hand
 * const ddim = new DDIMScheduler();
 * ddim.setTimesteps(2);
 * const t = ddim.timesteps[0];
 * assert.deepEqual(prevSample.data, ddim.step(ddim.scaleModelInput(x, t), t, x).prevSample.data);
 * ```
 */
export function schedulerSampler(
  scheduler: Scheduler & { readonly order?: number; setBeginIndex?(i: number): void },
  options: SchedulerSamplerOptions = {},
): Sampler {
  const stepOptions: StepOptions = {};
  if (options.eta !== undefined) stepOptions.eta = options.eta;
  if (options.generator !== undefined) stepOptions.generator = options.generator;
  if (options.precision !== undefined) stepOptions.precision = options.precision;
  if (options.useClippedModelOutput !== undefined) {
    stepOptions.useClippedModelOutput = options.useClippedModelOutput;
  }
  return {
    get timesteps() {
      return scheduler.timesteps;
    },
    get initNoiseSigma() {
      return scheduler.initNoiseSigma;
    },
    get order() {
      return scheduler.order;
    },
    generator: options.generator,
    setTimesteps: (n) => scheduler.setTimesteps(n),
    ...(typeof scheduler.setBeginIndex === "function"
      ? { setBeginIndex: (i: number) => scheduler.setBeginIndex!(i) }
      : {}),
    addNoise: (original, noise, t) => scheduler.addNoise(original, noise, t),
    async step(denoise: Denoiser, sample: Tensor, i: number): Promise<StepOutput> {
      const t = scheduler.timesteps[i];
      // latent_model_input = scheduler.scale_model_input(latent_model_input, t); it runs even when
      // the model output is replayed, since some schedulers (Euler) track their step index there
      const modelOutput = await denoise(scheduler.scaleModelInput(sample, t), t);
      return scheduler.step(modelOutput, t, sample, stepOptions);
    },
  };
}
