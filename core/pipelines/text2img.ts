/**
 * text2img as StableDiffusionPipeline.__call__: encode the prompt (negative first with
 * guidance), `setTimesteps`, initial latents `randn * init_noise_sigma` from the run's
 * generator, the one denoising loop over the sampler with the guided denoiser, then the optional
 * decode. The CompVis PLMS / labml DDIM samplers have `initNoiseSigma` 1: x_T = `randn`. With
 * `precision` "float16" the whole loop runs in half, as diffusers does with float16 prompt
 * embeddings (see `CommonPipelineOptions.precision`).
 *
 * @module
 */
import { toHalf } from "../tensor/half_ops.ts";
import { guidedDenoiser } from "./denoiser.ts";
import { prepareLatents } from "./latents.ts";
import { denoiseLoop } from "./loop.ts";
import { promptEmbeddings } from "./prompt.ts";
import { finishPipeline } from "./result.ts";
import { checkSameGenerator, checkSteps } from "./timesteps.ts";
import type { CommonPipelineOptions, PromptPipelineResult } from "./types.ts";

/**
 * Options of {@link text2img}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Text2ImgOptions } from "./text2img.ts";
 * const settings: Partial<Text2ImgOptions> = { steps: 20, guidanceScale: 7.5, latentShape: [1, 4, 16, 16] };
 * assert.deepEqual(settings.latentShape, [1, 4, 16, 16]);
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
 * import assert from "node:assert/strict";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { text2img } from "./text2img.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // a stand-in model
 * const result = await text2img({
 *   unet, sampler: schedulerSampler(new DDIMScheduler()), generator: new TorchGenerator(0),
 *   prompt: { embeds: Tensor.zeros([2, 77, 8]) }, steps: 10, guidanceScale: 7.5,
 *   latentShape: [1, 4, 8, 8],
 * });
 * assert.deepEqual([result.timesteps.length, result.latents.shape], [10, [1, 4, 8, 8]]);
 * ```
 */
export async function text2img(opts: Text2ImgOptions): Promise<PromptPipelineResult> {
  checkSteps("text2img", opts.steps);
  checkSameGenerator("text2img", opts.sampler, opts.generator);
  const encoded = await promptEmbeddings(opts.prompt, opts.guidanceScale);
  const { sampler, generator } = opts;
  const precision = opts.precision ?? "float32";
  // float16 export: the text encoder returns float16 (encode_prompt keeps its dtype)
  const prompt = precision === "float16" ? { ...encoded, embeds: toHalf(encoded.embeds) } : encoded;
  sampler.setTimesteps(opts.steps); // retrieve_timesteps
  // prepare_latents(..., prompt_embeds.dtype, ...)
  const initLatents = prepareLatents(
    generator,
    opts.latentShape,
    sampler.initNoiseSigma,
    precision,
  );
  const loop = await denoiseLoop({
    stepper: sampler,
    denoiser: guidedDenoiser(opts.unet, prompt.embeds, opts.guidanceScale, precision),
    sample: initLatents,
    hooks: opts.hooks,
  });
  return await finishPipeline(opts, { prompt, initLatents, ...loop, latents: loop.sample });
}
