/**
 * text2img as StableDiffusionPipeline.__call__: encode the prompt (negative first with
 * guidance), `setTimesteps`, initial latents `randn * init_noise_sigma` from the run's
 * generator, the denoising loop, then the optional decode. With a CompVis PLMS / labml DDIM
 * `StepSampler` instead of a scheduler: x_T = `randn` (no sigma), then the sampler's own loop.
 *
 * @module
 */
import { PipelineInputError } from "./errors.ts";
import { prepareLatents } from "./latents.ts";
import { denoiseLoop } from "./loop.ts";
import { promptEmbeddings } from "./prompt.ts";
import { finishPipeline } from "./result.ts";
import { isStepSampler, samplerLoop } from "./sampler_loop.ts";
import type { CommonPipelineOptions, PipelineResult } from "./types.ts";

/**
 * Options of {@link text2img}.
 *
 * @example
 * ```ts
 * import type { Text2ImgOptions } from "./text2img.ts";
 * const settings: Partial<Text2ImgOptions> = { steps: 20, guidanceScale: 7.5, latentShape: [1, 4, 16, 16] };
 * ```
 */
export interface Text2ImgOptions extends CommonPipelineOptions {
  /** `[1, C, height / f, width / f]`; see `latentShape`. */
  latentShape: readonly number[];
}

/**
 * Runs text2img. Draw order on `generator`: the initial latents, then any noise the
 * scheduler's `step` draws. `result.timesteps` has one entry per model call (PLMS: one more
 * than its steps).
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { text2img } from "./text2img.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // a stand-in model
 * const result = await text2img({
 *   unet, scheduler: new DDIMScheduler(), generator: new TorchGenerator(0),
 *   prompt: { embeds: Tensor.zeros([2, 77, 8]) }, steps: 10, guidanceScale: 7.5,
 *   latentShape: [1, 4, 8, 8],
 * });
 * console.log(result.timesteps.length, result.latents.shape); // 10 [1, 4, 8, 8]
 * ```
 */
export async function text2img(opts: Text2ImgOptions): Promise<PipelineResult> {
  checkSteps("text2img", opts.steps);
  const prompt = await promptEmbeddings(opts.prompt, opts.guidanceScale);
  const { scheduler, generator } = opts;
  if (isStepSampler(scheduler)) {
    if (opts.eta !== undefined && opts.eta !== 0) {
      throw new PipelineInputError(
        "text2img",
        "eta",
        `a CompVis / labml sampler takes eta when it is constructed; got eta ${opts.eta} here`,
      );
    }
    // x_T = torch.randn(shape, generator) (the original samplers scale nothing)
    const initLatents = generator.randn(opts.latentShape);
    const loop = await samplerLoop({
      unet: opts.unet,
      sampler: scheduler,
      latents: initLatents,
      embeds: prompt.embeds,
      guidanceScale: opts.guidanceScale,
      hooks: opts.hooks,
    });
    return await finishPipeline(opts, { prompt, initLatents, ...loop });
  }
  scheduler.setTimesteps(opts.steps); // retrieve_timesteps
  const timesteps = [...scheduler.timesteps];
  const initLatents = prepareLatents(generator, opts.latentShape, scheduler.initNoiseSigma);
  const loop = await denoiseLoop({
    unet: opts.unet,
    scheduler,
    timesteps,
    latents: initLatents,
    embeds: prompt.embeds,
    guidanceScale: opts.guidanceScale,
    generator,
    eta: opts.eta,
    hooks: opts.hooks,
  });
  return await finishPipeline(opts, { prompt, initLatents, timesteps, ...loop });
}

/**
 * Throws a {@link PipelineInputError} unless `steps` is a positive integer.
 *
 * @example
 * ```ts
 * import { checkSteps } from "./text2img.ts";
 * checkSteps("text2img", 20);
 * ```
 */
export function checkSteps(where: string, steps: number): void {
  if (!Number.isInteger(steps) || steps < 1) {
    throw new PipelineInputError(where, "steps", `expected a positive integer, got ${steps}`);
  }
}
