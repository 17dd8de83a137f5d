/**
 * The denoising pipelines: text2img with classifier-free guidance, img2img, legacy inpaint,
 * their separable pieces (prompt encoding, guided model output, initial latents, img2img
 * timesteps, VAE encode / decode) for replaying one step in isolation, images and PNG files,
 * and the per-step records and replay hooks the harness uses.
 *
 * @example
 * ```ts
 * import { latentShape, text2img } from "./mod.ts";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { loadModelFolder } from "../models/load_model_folder.ts";
 * const m = await loadModelFolder("fixtures/models/tiny-sd");
 * const result = await text2img({
 *   unet: m.unet, scheduler: DDIMScheduler.fromConfig(m.schedulerConfig),
 *   generator: new TorchGenerator(0),
 *   prompt: { tokenizer: m.tokenizer, textEncoder: m.textEncoder, prompt: "a red barn" },
 *   steps: 20, guidanceScale: 7.5, latentShape: latentShape(128, 128, 8, 4),
 *   vaeDecoder: m.vaeDecoder, scalingFactor: 0.18215,
 * });
 * await m.release();
 * ```
 *
 * @module
 */
export { NonFiniteError, PipelineInputError, PngError } from "./errors.ts";
export { assertFinite } from "./finite.ts";
export {
  classifierFreeGuidance,
  guidanceBatch,
  guidedModelOutput,
  type GuidedOutput,
  predictGuided,
  usesGuidance,
} from "./guidance.ts";
export { checkImage8, type Image8, imageToTensor, tensorToImage, toGray } from "./image.ts";
export { img2img, type Img2ImgOptions, type Img2ImgStart, prepareImg2ImgStart } from "./img2img.ts";
export { inpaint, type InpaintOptions } from "./inpaint.ts";
export { latentShape, prepareLatents } from "./latents.ts";
export { denoiseLoop, type DenoiseLoopOptions, type DenoiseLoopResult } from "./loop.ts";
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
export {
  isStepSampler,
  samplerLoop,
  type SamplerLoopOptions,
  type SamplerLoopResult,
} from "./sampler_loop.ts";
export { checkSteps, text2img, type Text2ImgOptions } from "./text2img.ts";
export {
  img2imgTimesteps,
  type PartialSchedule,
  type PartialScheduleOptions,
  type SchedulerStartExtras,
  startStepTimesteps,
} from "./timesteps.ts";
export type {
  CommonPipelineOptions,
  NoiseSource,
  PipelineHooks,
  PipelineResult,
  PipelineTiming,
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
