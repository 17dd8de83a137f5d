/**
 * The shapes shared by the pipelines and the loop: the noise source, the per-step record handed to
 * `onStep`, the replay hooks, and what a pipeline returns.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
import type { UNetModel, VaeDecoderModel } from "../models/types.ts";
import type { Sampler, StepOptions } from "../schedulers/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { PromptSource } from "./prompt.ts";

/**
 * Anything that draws standard normal tensors call after call; `TorchGenerator` (CPU torch
 * numbers) is the one the pipelines are meant for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { NoiseSource } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const zeros: NoiseSource = { randn: (shape) => Tensor.zeros(shape) };
 * assert.deepEqual(zeros.randn([1, 4, 2, 2]).shape, [1, 4, 2, 2]);
 * ```
 */
export interface NoiseSource {
  /**
   * Draws a tensor of `shape` from N(0, 1); with `dtype` "float16", torch's half draw (its
   * values are halves).
   */
  randn(shape: readonly number[], dtype?: Precision): Tensor;
}

/**
 * What the loop reports for every model call `index` (diffusers' `for i, t in
 * enumerate(timesteps)` when a step calls the model once).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepRecord } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = Tensor.zeros([1, 4, 2, 2]);
 * const r: StepRecord = {
 *   index: 0, step: 0, call: 0, t: 981, sample: x, modelInput: x, modelOutput: x, prevSample: x,
 *   sampleOverridden: false, modelOutputOverridden: false, modelMs: 12.5, stepMs: 0.25,
 * };
 * assert.equal(`${r.index} ${r.t} ${r.modelMs.toFixed(1)}`, "0 981 12.5");
 * ```
 */
export interface StepRecord {
  /** The model-call index, from 0 (what the hooks and the references are indexed by). */
  index: number;
  /** The stepper's step this call belongs to (an index into its timesteps). */
  step: number;
  /** The call's rank within its step, from 0 (PLMS's first step makes calls 0 and 1). */
  call: number;
  /** The timestep given to the model and to the sampler's step. */
  t: number;
  /** The latents entering this step (after `overrideSample`); see `denoiseLoop`. */
  sample: Tensor;
  /** What the denoiser ran on: `scale_model_input(sample, t)` for a diffusers scheduler. */
  modelInput: Tensor;
  /** The guided model output handed to the step (after `overrideModelOutput`). */
  modelOutput: Tensor;
  /** The sampler's x0 estimate, where it computes one. */
  predOriginalSample?: Tensor;
  /** The latents after the step (inpaint: after the mask blend). */
  prevSample: Tensor;
  /** Inpaint only: the sampler's result before the mask blend. */
  unblendedPrevSample?: Tensor;
  /** True when `overrideSample` replaced the sample. */
  sampleOverridden: boolean;
  /** True when `overrideModelOutput` replaced the model output (the UNet was not called). */
  modelOutputOverridden: boolean;
  /** Wall time of the UNet call, milliseconds (0 when overridden). */
  modelMs: number;
  /** Wall time of the sampler step (and inpaint blend), milliseconds. */
  stepMs: number;
}

/**
 * A value or a promise of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MaybePromise } from "./types.ts";
 * const sync: MaybePromise<number> = 1;
 * const later: MaybePromise<number> = Promise.resolve(1);
 * assert.deepEqual([await sync, await later], [1, 1]);
 * ```
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Observation and replay hooks of a loop. Overrides returning `undefined` change nothing;
 * a returned tensor must have the shape of what it replaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineHooks, StepRecord } from "./types.ts";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { denoiseLoop } from "./loop.ts";
 * const records: StepRecord[] = [];
 * const reference = new Tensor(new Float32Array([0.5]), [1]);
 * const hooks: PipelineHooks = {
 *   onStep: (r) => void records.push(r),
 *   overrideModelOutput: (i) => (i === 1 ? reference : undefined), // a reference tensor for step 1
 * };
 * const stepper = schedulerSampler(new DDIMScheduler());
 * stepper.setTimesteps(2);
 * await denoiseLoop({ stepper, denoiser: (x) => Promise.resolve(x.clone()), sample: Tensor.zeros([1]), hooks });
 * assert.deepEqual(records.map((r) => r.modelOutputOverridden), [false, true]);
 * assert.equal(records[1].modelOutput, reference);
 * ```
 */
export interface PipelineHooks {
  /** Called after every step with its record (awaited). */
  onStep?(record: StepRecord): MaybePromise<void>;
  /** Replaces the latents entering step `index` (batch 1, before guidance batching). */
  overrideSample?(index: number, t: number): MaybePromise<Tensor | undefined>;
  /** Replaces the guided model output of step `index`; the UNet is then not called. */
  overrideModelOutput?(index: number, t: number): MaybePromise<Tensor | undefined>;
  /**
   * img2img / inpaint: replaces `scaling_factor * latent_dist.sample` after it was drawn (the
   * generator still makes that draw, so the noise after it is unchanged). Lets a replay take
   * the reference image latents and isolate the loop from the VAE's float32 `exp`.
   */
  overrideImageLatents?(): MaybePromise<Tensor | undefined>;
  /**
   * Stops the loop at the end of the step in which the model was called this many times (a
   * replay over a reference that holds per-step tensors for the first calls only); the
   * pipeline then finishes on that step's latents, and its `timesteps` are the calls made.
   * A whole number >= 1; absent, the loop runs every step.
   */
  stopAfterCalls?: number;
}

/**
 * Wall times of a pipeline run, milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineTiming } from "./types.ts";
 * const t: PipelineTiming = { encodePromptMs: 3, encodeImageMs: 0, loopMs: 40, modelMs: 35, decodeMs: 7 };
 * assert.equal(t.encodePromptMs + t.encodeImageMs + t.loopMs + t.decodeMs, 50); // modelMs is inside loopMs
 * ```
 */
export interface PipelineTiming {
  /** Text encoder calls (0 when embeddings were given). */
  encodePromptMs: number;
  /** VAE encoder call (img2img, inpaint). */
  encodeImageMs: number;
  /** All steps, hooks excluded. */
  loopMs: number;
  /** Sum of the UNet calls. */
  modelMs: number;
  /** VAE decoder call (0 when no decoder was given). */
  decodeMs: number;
}

/**
 * What a pipeline run returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineResult } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const z = Tensor.zeros([1, 4, 8, 8]);
 * const r: PipelineResult = {
 *   latents: z, promptEmbeds: Tensor.zeros([2, 77, 8]), initLatents: z, timesteps: [751, 501, 251, 1],
 *   timing: { encodePromptMs: 0, encodeImageMs: 0, loopMs: 4, modelMs: 3, decodeMs: 0 },
 * };
 * assert.equal(`${r.timesteps.length} steps, ${r.latents.shape}`, "4 steps, 1,4,8,8");
 * ```
 */
export interface PipelineResult {
  /** The final latents (inpaint: after the last blend with the original). */
  latents: Tensor;
  /**
   * The image before postprocessing, in about [-1, 1]: the decoder output [1, 3, H, W] when a
   * decoder was given; a pixel-space pipeline's final sample [1, C, H, W] (unconditional).
   */
  image?: Tensor;
  /**
   * The UNet's `encoder_hidden_states` (negative prompt first with guidance); absent for a
   * pipeline without a prompt (unconditional).
   */
  promptEmbeds?: Tensor;
  /** The token ids, when the prompt was encoded here. */
  inputIds?: number[][];
  /** The latents entering step 0 (after `init_noise_sigma` or `add_noise`). */
  initLatents: Tensor;
  /** The timesteps visited, one per model call. */
  timesteps: number[];
  /** img2img / inpaint: `scaling_factor * latent_dist.sample` of the input image. */
  imageLatents?: Tensor;
  /** img2img / inpaint: the noise given to `add_noise`. */
  noise?: Tensor;
  /** inpaint: the latent-size mask, 1 = keep the original (diffusers' `1 - mask`). */
  keepMask?: Tensor;
  /** Wall times. */
  timing: PipelineTiming;
}

/**
 * What a pipeline that encodes a prompt returns (text2img, img2img, inpaint): a
 * {@link PipelineResult} with its prompt embeddings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PromptPipelineResult } from "./types.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const z = Tensor.zeros([1, 4, 8, 8]);
 * const r: PromptPipelineResult = {
 *   latents: z, promptEmbeds: Tensor.zeros([2, 77, 8]), initLatents: z, timesteps: [1],
 *   timing: { encodePromptMs: 0, encodeImageMs: 0, loopMs: 4, modelMs: 3, decodeMs: 0 },
 * };
 * assert.deepEqual(r.promptEmbeds.shape, [2, 77, 8]); // never undefined here
 * ```
 */
export type PromptPipelineResult = PipelineResult & { promptEmbeds: Tensor };

/**
 * Options every pipeline takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CommonPipelineOptions } from "./types.ts";
 * import { DDIMScheduler } from "../schedulers/ddim.ts";
 * import { schedulerSampler } from "../schedulers/scheduler_sampler.ts";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * const generator = new TorchGenerator(0);
 * const withoutModels: Partial<CommonPipelineOptions> = {
 *   steps: 20, guidanceScale: 7.5, generator,
 *   sampler: schedulerSampler(new DDIMScheduler(), { eta: 0, generator }), // eta goes to the sampler
 * };
 * assert.equal(withoutModels.steps, 20);
 * ```
 */
export interface CommonPipelineOptions {
  /** The denoising model. */
  unet: UNetModel;
  /**
   * The sampler (the pipeline calls `setTimesteps(steps)`): a diffusers scheduler wrapped by
   * `schedulerSampler(scheduler, { eta, generator })`, a CompVis PLMS / labml DDIM sampler, or
   * whatever `makeSampler` builds from a case's sampler spec.
   */
  sampler: Sampler;
  /**
   * The one CPU torch generator of the run (`TorchGenerator`): initial latents or VAE sample
   * and noise, then whatever `step` draws.
   */
  generator: NonNullable<StepOptions["generator"]>;
  /** Text (with tokenizer and encoder) or ready embeddings. */
  prompt: PromptSource;
  /** Number of inference steps (`num_inference_steps`). */
  steps: number;
  /** Classifier-free guidance scale; <= 1 runs one batch without the negative prompt. */
  guidanceScale: number;
  /** Observation and replay hooks. */
  hooks?: PipelineHooks;
  /** When given, the final latents are decoded into `image`. */
  vaeDecoder?: VaeDecoderModel;
  /** The VAE config's `scaling_factor` (0.18215 for SD 1.x); needed with a VAE. */
  scalingFactor?: number;
  /**
   * The dtype the loop runs in (default "float32"). "float16" (text2img only) runs it as
   * StableDiffusionPipeline does with float16 prompt embeddings: embeddings cast to half,
   * half initial latents (`randn_tensor(..., dtype=float16)`), the UNet's output taken as
   * half, guidance and the sampler's steps in torch's CPU half arithmetic, and
   * `latents / scaling_factor` in half before the decoder. The sampler must be made with the
   * same precision (`makeSampler`).
   */
  precision?: Precision;
}
