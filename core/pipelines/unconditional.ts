/**
 * Unconditional pixel-space sampling as diffusers' DDPMPipeline.__call__ and
 * DDIMPipeline.__call__: the initial image `randn_tensor(image_shape, generator)` (no
 * `init_noise_sigma`), `set_timesteps`, then per timestep `unet(image, t)` and
 * `scheduler.step(model_output, t, image, ...)` through the one loop with the unconditional
 * denoiser. No prompt, no guidance, no VAE: the final sample is the image, which the pipeline
 * turns into a picture with `(image / 2 + 0.5).clamp(0, 1)` (`tensorToImage`).
 *
 * What distinguishes the two pipelines lives in the sampler: DDPMPipeline steps with
 * `generator` only; DDIMPipeline converts its scheduler with `DDIMScheduler.from_config` and
 * steps with `eta`, `use_clipped_model_output` and `generator` (`makeSampler`'s options).
 * Neither calls `scale_model_input`; `schedulerSampler` does, and for DDPM and DDIM it is the
 * identity.
 *
 * @module
 */
import { unconditionalDenoiser } from "./denoiser.ts";
import { PipelineInputError } from "./errors.ts";
import { denoiseLoop } from "./loop.ts";
import { checkSameGenerator, checkSteps } from "./timesteps.ts";
import type { CommonPipelineOptions, PipelineResult } from "./types.ts";

/**
 * Options of {@link unconditional}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { UnconditionalOptions } from "./unconditional.ts";
 * const settings: Partial<UnconditionalOptions> = { steps: 1000, imageShape: [1, 1, 16, 16] };
 * assert.deepEqual(settings.imageShape, [1, 1, 16, 16]);
 * ```
 */
export interface UnconditionalOptions
  extends Pick<CommonPipelineOptions, "unet" | "sampler" | "generator" | "steps" | "hooks"> {
  /**
   * `(batch_size, unet.config.in_channels, sample_size, sample_size)`, the pipelines'
   * `image_shape`.
   */
  imageShape: readonly number[];
}

/**
 * Runs DDPMPipeline / DDIMPipeline. Draw order on `generator`: the initial image, then any
 * noise the scheduler's `step` draws (DDPM, DDIM with eta > 0). `result.image` is the final
 * sample (the pipeline's `image` before `(image / 2 + 0.5).clamp(0, 1)`), the same tensor as
 * `result.latents`; there are no prompt embeddings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDPMScheduler } from "../schedulers/ddpm.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { unconditional } from "./unconditional.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(Tensor.zeros(x.shape)) }; // a stand-in
 * const generator = new TorchGenerator(0);
 * const result = await unconditional({
 *   unet, sampler: schedulerSampler(new DDPMScheduler(), { generator }), generator, steps: 10,
 *   imageShape: [1, 1, 4, 4],
 * });
 * // the initial image is the generator's first draw, unscaled
 * assert.deepEqual(result.initLatents.data, new TorchGenerator(0).randn([1, 1, 4, 4]).data);
 * assert.deepEqual([result.timesteps.length, result.image], [10, result.latents]);
 * assert.equal(result.promptEmbeds, undefined);
 * ```
 */
export async function unconditional(opts: UnconditionalOptions): Promise<PipelineResult> {
  checkSteps("unconditional", opts.steps);
  checkSameGenerator("unconditional", opts.sampler, opts.generator);
  const shape = opts.imageShape;
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new PipelineInputError(
      "unconditional",
      "imageShape",
      `expected [batch, channels, height, width] of positive integers, got [${shape.join(", ")}]`,
    );
  }
  // image = randn_tensor(image_shape, generator=generator, ...): no init_noise_sigma
  const initLatents = opts.generator.randn(shape);
  opts.sampler.setTimesteps(opts.steps); // self.scheduler.set_timesteps(num_inference_steps)
  const loop = await denoiseLoop({
    stepper: opts.sampler,
    denoiser: unconditionalDenoiser(opts.unet), // model_output = self.unet(image, t).sample
    sample: initLatents,
    hooks: opts.hooks,
  });
  return {
    latents: loop.sample,
    image: loop.sample,
    initLatents,
    timesteps: loop.timesteps,
    timing: {
      encodePromptMs: 0,
      encodeImageMs: 0,
      loopMs: loop.loopMs,
      modelMs: loop.modelMs,
      decodeMs: 0,
    },
  };
}
