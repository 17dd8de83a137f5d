/**
 * The denoising pipelines: text2img with classifier-free guidance, img2img, legacy inpaint,
 * unconditional pixel-space sampling (DDPMPipeline / DDIMPipeline),
 * their separable pieces (prompt encoding, guided model output, initial latents, img2img
 * timesteps, VAE encode / decode) for replaying one step in isolation, images and PNG files,
 * and the per-step records and replay hooks the harness uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng, latentShape, tensorToImage, text2img } from "./mod.ts";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * // stand-in models; a real run takes them from `loadModelFolder` (core/models)
 * const tokenizer = { modelMaxLength: 4, encode: (_s: string) => [49406, 320, 49407, 49407] };
 * const textEncoder = { encode: (ids: number[][]) => Promise.resolve(Tensor.zeros([ids.length, 4, 8])) };
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) };
 * const vaeDecoder = {
 *   decode: (z: Tensor) => Promise.resolve(Tensor.zeros([1, 3, z.shape[2] * 8, z.shape[3] * 8])),
 * };
 * const generator = new TorchGenerator(0);
 * const result = await text2img({
 *   unet, sampler: schedulerSampler(new DDIMScheduler(), { eta: 0, generator }), generator,
 *   prompt: { tokenizer, textEncoder, prompt: "a red barn" },
 *   steps: 4, guidanceScale: 7.5, latentShape: latentShape(16, 16, 8, 4),
 *   vaeDecoder, scalingFactor: 0.18215,
 * });
 * assert.deepEqual(result.latents.shape, [1, 4, 2, 2]);
 * assert.deepEqual(result.promptEmbeds.shape, [2, 4, 8]); // negative prompt first
 * const png = encodePng(tensorToImage(result.image!));
 * assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
 * ```
 *
 * @module
 */
export { NonFiniteError, PipelineInputError } from "./errors.ts";
export { assertFinite } from "./finite.ts";
export {
  classifierFreeGuidance,
  guidanceBatch,
  type GuidedOutput,
  predictGuided,
  usesGuidance,
} from "./guidance.ts";
export { checkImage8, type Image8, imageToTensor, tensorToImage, toGray } from "./image.ts";
export { imageGrid, tensorToImages } from "./image_grid.ts";
export { img2img, type Img2ImgOptions, type Img2ImgStart, prepareImg2ImgStart } from "./img2img.ts";
export { inpaint, type InpaintOptions } from "./inpaint.ts";
export { latentShape, prepareLatents } from "./latents.ts";
export {
  type EdictArithmetic,
  edictInverter,
  edictMixing,
  type EdictOptions,
  edictSampler,
  type EdictScheduler,
  edictStart,
  type EdictState,
} from "./inversion/edict.ts";
export { fixedPointInverter, type FixedPointOptions } from "./inversion/fixed_point.ts";
export {
  type Conditioning,
  fixedPointOptions,
  inverseSchedulerOf,
  INVERSION_METHODS,
  type InversionMethod,
  type InversionMethodName,
  type InversionPlan,
  type InversionSpec,
  planInversion,
} from "./inversion/methods.ts";
export { roundTrip, type RoundTripOptions, type RoundTripResult } from "./inversion/round_trip.ts";
export { tutorialInverter, tutorialSampler, type TutorialScheduler } from "./inversion/tutorial.ts";
export {
  denoiseLoop,
  type DenoiseLoopOptions,
  type DenoiseLoopResult,
  type LoopState,
} from "./loop.ts";
export { guidedDenoiser, unconditionalDenoiser } from "./denoiser.ts";
export { blendKept, keepMaskFromImage } from "./mask.ts";
export {
  decodePngGray,
  decodePngRgb,
  encodePng,
  readPngGray,
  readPngRgb,
  writePng,
} from "./png.ts";
export { type EncodedPrompt, encodePrompt, promptEmbeddings, type PromptSource } from "./prompt.ts";
export { finishPipeline, maybeDecode, type PipelineParts } from "./result.ts";
export { text2img, type Text2ImgOptions } from "./text2img.ts";
export { unconditional, type UnconditionalOptions } from "./unconditional.ts";
export {
  checkSteps,
  img2imgTimesteps,
  type PartialSchedule,
  type PartialScheduleOptions,
  type SchedulerStartExtras,
  startStepTimesteps,
} from "./timesteps.ts";
export type {
  CommonPipelineOptions,
  MaybePromise,
  NoiseSource,
  PipelineHooks,
  PipelineResult,
  PipelineTiming,
  PromptPipelineResult,
  StepRecord,
} from "./types.ts";
export {
  decodeLatents,
  encodeImageLatents,
  type ImageLatents,
  type LatentDistribution,
  latentDistribution,
  type LatentMode,
  sampleLatentDistribution,
  unscaleLatents,
} from "./vae.ts";
