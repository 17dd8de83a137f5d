/**
 * Inpainting as diffusers' StableDiffusionInpaintPipelineLegacy (diffusers <= 0.19): img2img's
 * start, and after every step the original latents re-noised to the step's timestep replace
 * the kept region: `latents = add_noise(orig, noise, t) * keep + latents * (1 - keep)`; after
 * the loop `latents = orig * keep + latents * (1 - keep)`. Unlike img2img, the legacy
 * pipeline never calls the scheduler's `set_begin_index`, so LMS / Euler locate each timestep by
 * value in `step` and `add_noise`.
 *
 * @module
 */
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import { guidedDenoiser } from "./denoiser.ts";
import { type Img2ImgOptions, prepareImg2ImgStart } from "./img2img.ts";
import { denoiseLoop } from "./loop.ts";
import { blendKept } from "./mask.ts";
import { promptEmbeddings } from "./prompt.ts";
import { finishPipeline } from "./result.ts";
import { checkFloat32, checkSameGenerator, checkSteps } from "./timesteps.ts";
import type { PromptPipelineResult } from "./types.ts";

/**
 * Options of {@link inpaint}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InpaintOptions } from "./inpaint.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const settings: Partial<InpaintOptions> = { steps: 20, strength: 0.75, keepMask: Tensor.zeros([1, 4, 8, 8]) };
 * assert.deepEqual(settings.keepMask?.shape, [1, 4, 8, 8]);
 * ```
 */
export interface InpaintOptions extends Img2ImgOptions {
  /** The latent-size mask [1, C, h, w], 1 = keep the original (see `keepMaskFromImage`). */
  keepMask: Tensor;
}

/**
 * Runs inpaint. Draw order on `generator`: the VAE sample, the noise, then any noise the
 * scheduler's `step` draws. Step records carry the blended latents as `prevSample` and the
 * scheduler's result as `unblendedPrevSample`.
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import assert from "node:assert/strict";
 * import { inpaint } from "./inpaint.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // stand-in models
 * const vaeEncoder = { encode: (_x: Tensor) => Promise.resolve(Tensor.zeros([1, 8, 2, 2])) };
 * const result = await inpaint({
 *   unet, vaeEncoder, sampler: schedulerSampler(new DDIMScheduler()), generator: new TorchGenerator(0),
 *   prompt: { embeds: Tensor.zeros([1, 77, 8]) }, steps: 10, guidanceScale: 1,
 *   image: Tensor.zeros([1, 3, 16, 16]), scalingFactor: 0.18215, strength: 0.5,
 *   keepMask: Tensor.zeros([1, 4, 2, 2]), // repaint everywhere
 * });
 * assert.deepEqual(result.timesteps, [400, 300, 200, 100, 0]);
 * assert.deepEqual(result.keepMask?.shape, [1, 4, 2, 2]);
 * ```
 */
export async function inpaint(opts: InpaintOptions): Promise<PromptPipelineResult> {
  checkSteps("inpaint", opts.steps);
  checkFloat32("inpaint", opts.precision);
  checkSameGenerator("inpaint", opts.sampler, opts.generator);
  const prompt = await promptEmbeddings(opts.prompt, opts.guidanceScale);
  // the legacy pipeline's get_timesteps does not call set_begin_index
  const start = await prepareImg2ImgStart(opts, { setBeginIndex: false });
  const { sampler } = opts;
  const keep = opts.keepMask;
  if (!keep || !keep.sameShape(start.imageLatents)) {
    throw new PipelineInputError(
      "inpaint",
      "keepMask",
      `expected shape [${start.imageLatents.shape.join(", ")}] (the image latents), got ${
        keep ? `[${keep.shape.join(", ")}]` : String(keep)
      }`,
    );
  }
  assertFinite(keep, { stepIndex: -1, tensor: "keepMask" });
  const orig = start.imageLatents;
  const loop = await denoiseLoop({
    stepper: sampler,
    denoiser: guidedDenoiser(opts.unet, prompt.embeds, opts.guidanceScale),
    sample: start.initLatents,
    begin: start.schedule.beginIndex,
    hooks: opts.hooks,
    afterStep: (latents, _i, t) => {
      // init_latents_proper = self.scheduler.add_noise(init_latents_orig, noise, torch.tensor([t]))
      const proper = sampler.addNoise(orig, start.noise, t);
      return blendKept(proper, latents, keep);
    },
  });
  // use original latents corresponding to unmasked portions of the image
  const latents = blendKept(orig, loop.sample, keep);
  return await finishPipeline(opts, {
    prompt,
    initLatents: start.initLatents,
    ...loop,
    latents,
    imageLatents: orig,
    noise: start.noise,
    keepMask: keep,
    encodeImageMs: start.encodeImageMs,
  });
}
