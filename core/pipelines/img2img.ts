/**
 * img2img as StableDiffusionImg2ImgPipeline.__call__: encode the prompt, set the timesteps and
 * start where `strength` (or an explicit `startStep`) says, encode the image to latents with
 * the VAE's `latent_dist.sample(generator)`, draw the noise, `add_noise` to the first
 * timestep, run the loop over the remaining timesteps, then the optional decode.
 *
 * @module
 */
import type { Float32Math } from "../numerics/f32_math.ts";
import type { VaeEncoderModel } from "../models/types.ts";
import type { Sampler } from "../schedulers/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { guidedDenoiser } from "./denoiser.ts";
import { denoiseLoop } from "./loop.ts";
import { promptEmbeddings } from "./prompt.ts";
import { finishPipeline } from "./result.ts";
import {
  checkFloat32,
  checkSameGenerator,
  checkSteps,
  img2imgTimesteps,
  type PartialSchedule,
  type PartialScheduleOptions,
  type SchedulerStartExtras,
  startStepTimesteps,
} from "./timesteps.ts";
import type {
  CommonPipelineOptions,
  NoiseSource,
  PipelineHooks,
  PromptPipelineResult,
} from "./types.ts";
import { encodeImageLatents, hookedImageLatents, type LatentMode } from "./vae.ts";

/**
 * Options of {@link img2img} (and of inpaint, which adds a mask).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Img2ImgOptions } from "./img2img.ts";
 * const settings: Partial<Img2ImgOptions> = { steps: 20, strength: 0.6, guidanceScale: 7.5 };
 * assert.equal(settings.strength, 0.6);
 * ```
 */
export interface Img2ImgOptions extends CommonPipelineOptions {
  /** The VAE encoder. */
  vaeEncoder: VaeEncoderModel;
  /** The VAE config's `scaling_factor` (0.18215 for SD 1.x). */
  scalingFactor: number;
  /** The input image [1, 3, H, W] in [-1, 1] (see `imageToTensor`). */
  image: Tensor;
  /** diffusers' `strength` in (0, 1] (default 0.8, diffusers' default); excludes `startStep`. */
  strength?: number;
  /** Start at this index of `scheduler.timesteps` instead (the hand-written loop's `start_step`). */
  startStep?: number;
  /** `"sample"` (diffusers) or `"mean"` of the latent distribution; default `"sample"`. */
  latentMode?: LatentMode;
  /** float32 `exp` of the latent distribution's std (default `ieeeMath`). */
  math?: Float32Math;
}

/**
 * What {@link prepareImg2ImgStart} gives the loop.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Img2ImgStart } from "./img2img.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const z = Tensor.zeros([1, 4, 2, 2]);
 * const start: Img2ImgStart = {
 *   schedule: { timesteps: [500, 250], beginIndex: 2, latentTimestep: 500 },
 *   imageLatents: z, noise: z, initLatents: z, encodeImageMs: 0,
 * };
 * assert.equal(start.schedule.latentTimestep, start.schedule.timesteps[0]);
 * ```
 */
export interface Img2ImgStart {
  /** Timesteps and begin index. */
  schedule: PartialSchedule;
  /** `scaling_factor * latent_dist.sample(generator)`. */
  imageLatents: Tensor;
  /** The noise drawn after the VAE sample. */
  noise: Tensor;
  /** `scheduler.addNoise(imageLatents, noise, schedule.latentTimestep)`: the latents of step 0. */
  initLatents: Tensor;
  /** VAE encoder time, milliseconds. */
  encodeImageMs: number;
}

/**
 * The start of img2img / inpaint, as StableDiffusionImg2ImgPipeline (get_timesteps, then
 * prepare_latents): timesteps from `strength` or `startStep`, then the two draws in this
 * order: the VAE sample, then the noise; then `add_noise` at the first timestep. `schedule`
 * is passed to the timesteps function (inpaint: `{ setBeginIndex: false }`).
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import assert from "node:assert/strict";
 * import { prepareImg2ImgStart } from "./img2img.ts";
 * const vaeEncoder = { encode: (_x: Tensor) => Promise.resolve(Tensor.zeros([1, 8, 2, 2])) };
 * const start = await prepareImg2ImgStart({
 *   sampler: schedulerSampler(new DDIMScheduler()), steps: 10, strength: 0.6, vaeEncoder,
 *   image: Tensor.zeros([1, 3, 16, 16]), scalingFactor: 0.18215, generator: new TorchGenerator(0),
 * });
 * assert.deepEqual(start.schedule, { timesteps: [500, 400, 300, 200, 100, 0], beginIndex: 4, latentTimestep: 500 });
 * assert.deepEqual([start.imageLatents.shape, start.initLatents.shape], [[1, 4, 2, 2], [1, 4, 2, 2]]);
 * ```
 */
export async function prepareImg2ImgStart(
  opts:
    & Pick<
      Img2ImgOptions,
      "sampler" | "steps" | "strength" | "startStep" | "vaeEncoder" | "image" | "scalingFactor"
    >
    & {
      generator: NoiseSource;
      latentMode?: LatentMode;
      hooks?: PipelineHooks;
      math?: Float32Math;
    },
  schedule: PartialScheduleOptions = {},
): Promise<Img2ImgStart> {
  const scheduler: Sampler & SchedulerStartExtras = opts.sampler;
  if (opts.strength !== undefined && opts.startStep !== undefined) {
    throw new PipelineInputError(
      "img2img",
      "startStep",
      "expected either strength or startStep, not both",
    );
  }
  const partial = opts.startStep !== undefined
    ? startStepTimesteps(scheduler, opts.steps, opts.startStep, schedule)
    : img2imgTimesteps(scheduler, opts.steps, opts.strength ?? 0.8, schedule);
  const encoded = await encodeImageLatents(
    opts.vaeEncoder,
    opts.image,
    opts.generator,
    opts.scalingFactor,
    opts.latentMode ?? "sample",
    opts.math,
  );
  const imageLatents = await hookedImageLatents(encoded.latents, opts.hooks, "img2img");
  // prepare_latents: noise = randn_tensor(shape, generator); add_noise(init_latents, noise, t0)
  const noise = opts.generator.randn(imageLatents.shape);
  const initLatents = scheduler.addNoise(imageLatents, noise, partial.latentTimestep);
  return {
    schedule: partial,
    imageLatents,
    noise,
    initLatents,
    encodeImageMs: encoded.encoderMs,
  };
}

/**
 * Runs img2img. Draw order on `generator`: the VAE sample, the noise, then any noise the
 * scheduler's `step` draws.
 *
 * @example
 * ```ts
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import assert from "node:assert/strict";
 * import { img2img } from "./img2img.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) }; // stand-in models
 * const vaeEncoder = { encode: (_x: Tensor) => Promise.resolve(Tensor.zeros([1, 8, 2, 2])) };
 * const result = await img2img({
 *   unet, vaeEncoder, sampler: schedulerSampler(new DDIMScheduler()), generator: new TorchGenerator(0),
 *   prompt: { embeds: Tensor.zeros([1, 77, 8]) }, steps: 10, guidanceScale: 1,
 *   image: Tensor.zeros([1, 3, 16, 16]), scalingFactor: 0.18215, strength: 0.5,
 * });
 * assert.deepEqual(result.timesteps, [400, 300, 200, 100, 0]);
 * assert.deepEqual(result.latents.shape, [1, 4, 2, 2]);
 * ```
 */
export async function img2img(opts: Img2ImgOptions): Promise<PromptPipelineResult> {
  checkSteps("img2img", opts.steps);
  checkFloat32("img2img", opts.precision);
  checkSameGenerator("img2img", opts.sampler, opts.generator);
  const prompt = await promptEmbeddings(opts.prompt, opts.guidanceScale);
  const start = await prepareImg2ImgStart(opts);
  const loop = await denoiseLoop({
    stepper: opts.sampler,
    denoiser: guidedDenoiser(opts.unet, prompt.embeds, opts.guidanceScale),
    sample: start.initLatents,
    begin: start.schedule.beginIndex,
    hooks: opts.hooks,
  });
  return await finishPipeline(opts, {
    prompt,
    initLatents: start.initLatents,
    ...loop,
    latents: loop.sample,
    imageLatents: start.imageLatents,
    noise: start.noise,
    encodeImageMs: start.encodeImageMs,
  });
}
