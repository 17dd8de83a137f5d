/**
 * The one table of pipeline kinds a case can name: for each, which case fields it needs (read
 * by `defineCase`), whether it encodes a prompt, and how it runs (read by the runner). Adding a
 * pipeline kind is its own file in core/pipelines plus one row here.
 *
 * @module
 */
import type { VaeEncoderModel } from "../models/types.ts";
import type { Float32Math } from "../numerics/f32_math.ts";
import { img2img } from "../pipelines/img2img.ts";
import { inpaint } from "../pipelines/inpaint.ts";
import type { PromptSource } from "../pipelines/prompt.ts";
import { text2img } from "../pipelines/text2img.ts";
import type { CommonPipelineOptions, PipelineResult } from "../pipelines/types.ts";
import { unconditional } from "../pipelines/unconditional.ts";
import type { InversionSpec } from "../pipelines/inversion/methods.ts";
import { checkInversion, runInversion } from "./inversion_kinds.ts";
import { needs, promptInputs } from "./kind_inputs.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * The case fields a pipeline kind reads (a subset of `CaseSpec`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineCaseFields } from "./pipeline_kinds.ts";
 * const f: PipelineCaseFields = { pipeline: "img2img", image: "in.png", strength: 0.6 };
 * assert.deepEqual(f.strength, 0.6);
 * ```
 */
export interface PipelineCaseFields {
  /** The kind's name. */
  pipeline: string;
  /** The sampler (its `type`). */
  sampler?: { type: string };
  /** The prompt. */
  prompt?: unknown;
  /** The negative prompt. */
  negativePrompt?: unknown;
  /** Classifier-free guidance scale. */
  guidanceScale?: unknown;
  /** Image height in pixels. */
  height?: unknown;
  /** Image width in pixels. */
  width?: unknown;
  /** DDIMPipeline's `use_clipped_model_output`. */
  useClippedModelOutput?: unknown;
  /** Input image (PNG). */
  image?: unknown;
  /** Mask (PNG, white = repaint). */
  mask?: unknown;
  /** diffusers' `strength`. */
  strength?: unknown;
  /** The inversion method (the inversion kinds). */
  inversion?: unknown;
  /** The tutorial loop's `start_step` (the inversion kinds). */
  startStep?: unknown;
  /** DDIM's eta. */
  eta?: unknown;
  /** Inference steps. */
  steps?: unknown;
}

/**
 * What a pipeline kind's `run` gets: the common options, and the case's images and geometry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PIPELINE_KINDS, type PipelineRunInputs } from "./pipeline_kinds.ts";
 * const partial: Partial<PipelineRunInputs> = { latentShape: [1, 4, 8, 8] };
 * assert.deepEqual(partial.latentShape?.length, 4);
 * // img2img on a folder whose VAE encoder was refused at load says why.
 * const vaeEncoderUnusable = "m/vae_encoder/model.onnx: output 'latent_sample': ...";
 * await assert.rejects(
 *   PIPELINE_KINDS.img2img.run({ ...partial, vaeEncoderUnusable } as PipelineRunInputs),
 *   /^Error: pipeline 'img2img' needs a usable VAE encoder; m\/vae_encoder\/model\.onnx: /,
 * );
 * ```
 */
export interface PipelineRunInputs extends Omit<CommonPipelineOptions, "prompt" | "guidanceScale"> {
  /** The prompt (the kinds whose row has `prompt`). */
  prompt?: PromptSource;
  /** Classifier-free guidance scale (the kinds whose row has `prompt`). */
  guidanceScale?: number;
  /**
   * The latent shape of a text2img run; of an unconditional one, the image shape
   * `[1, in_channels, sample_size, sample_size]` (a pixel-space model: VAE factor 1).
   */
  latentShape: readonly number[];
  /** The model's VAE encoder (img2img, inpaint). */
  vaeEncoder?: VaeEncoderModel;
  /**
   * Why the model folder's VAE encoder was not loaded (`LoadedModel.unusable.vae_encoder`, the
   * file named first), for img2img's and inpaint's error.
   */
  vaeEncoderUnusable?: string;
  /** The case's image [1, 3, H, W] in [-1, 1]. */
  image?: Tensor;
  /** The case's latent-size keep mask (inpaint). */
  keepMask?: Tensor;
  /** diffusers' `strength`. */
  strength?: number;
  /** float32 exp of the VAE sample. */
  math?: Float32Math;
  /** The inversion kinds: the method. */
  inversion?: InversionSpec;
  /** The inversion kinds: the tutorial's `start_step`. */
  startStep?: number;
  /**
   * The inversion kinds: the model folder's scheduler_config.json object and the case's
   * `sampler.config` overrides, from which the sampling pass's DDIMScheduler is made.
   */
  schedulerConfig?: {
    json: Readonly<Record<string, unknown>>;
    overrides?: Record<string, unknown>;
    source?: string;
  };
}

/**
 * An input file a pipeline kind reads, named by its case field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PIPELINE_KINDS } from "./pipeline_kinds.ts";
 * assert.deepEqual(PIPELINE_KINDS.inpaint.files, ["image", "mask"]);
 * ```
 */
export type PipelineFile = "image" | "mask";

/**
 * One row of {@link PIPELINE_KINDS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PIPELINE_KINDS } from "./pipeline_kinds.ts";
 * const spec = { pipeline: "inpaint", image: "a.png", mask: "m.png", strength: 2 };
 * assert.deepEqual(PIPELINE_KINDS.inpaint.check(spec), ["strength", "expected a number in (0, 1]"]);
 * ```
 */
export interface PipelineDefinition {
  /**
   * The input files this kind reads, by case field: `image` (RGB PNG, the image to start
   * from) and `mask` (grey PNG, white = repaint). The runner loads them, and their hashes guard
   * the references.
   */
  readonly files: readonly PipelineFile[];
  /**
   * Whether the kind encodes a prompt: its cases need `prompt` and `guidanceScale`, the runner
   * passes the prompt (the reference's embeddings in the replays), and its references hold
   * `prompt_embeds` and `input_ids`.
   */
  readonly prompt: boolean;
  /**
   * Whether the case's image is the UNet's own sample (a pixel-space model, no VAE): read in the
   * UNet's channel count (grey for one channel) at its `sample_size`.
   */
  readonly pixelImage?: boolean;
  /**
   * The first problem with the case's other fields for this kind as `[field, problem]`, or null
   * (`defineCase` has already checked that every field of `files` names a file).
   */
  check(spec: PipelineCaseFields): [string, string] | null;
  /** Runs the pipeline. */
  run(inputs: PipelineRunInputs): Promise<PipelineResult>;
}

/** `strength` of img2img / inpaint: diffusers' `strength` in (0, 1]. */
function checkStrength(spec: PipelineCaseFields): [string, string] | null {
  const s = spec.strength;
  return s !== undefined && !(typeof s === "number" && s > 0 && s <= 1)
    ? ["strength", "expected a number in (0, 1]"]
    : null;
}

/** The prompt, image and VAE encoder of img2img / inpaint (the VAE encoder checked first). */
function imageInputs(inputs: PipelineRunInputs, pipeline: string) {
  const vaeEncoder = needs(
    inputs.vaeEncoder,
    inputs.vaeEncoderUnusable === undefined
      ? "vae_encoder/model.onnx in the model folder"
      : `a usable VAE encoder; ${inputs.vaeEncoderUnusable}`,
    pipeline,
  );
  const image = needs(inputs.image, "an image", pipeline);
  const scalingFactor = needs(inputs.scalingFactor, "the VAE's scaling_factor", pipeline);
  return { ...promptInputs(inputs, pipeline), vaeEncoder, image, scalingFactor };
}

/** Fields of a prompt kind's case that only the unconditional kind has. */
function checkPromptKind(spec: PipelineCaseFields): [string, string] | null {
  return spec.useClippedModelOutput !== undefined
    ? [
      "useClippedModelOutput",
      `DDIMPipeline's option (pipeline 'unconditional'); pipeline '${spec.pipeline}' has none`,
    ]
    : null;
}

/** The samplers of the unconditional kind: the pipeline diffusers runs each with. */
const UNCONDITIONAL_SAMPLERS: Readonly<Record<string, string>> = {
  DDPMScheduler: "DDPMPipeline",
  DDIMScheduler: "DDIMPipeline",
};

/**
 * An unconditional case: DDPMPipeline / DDIMPipeline take no prompt, size or image, and each
 * runs its own scheduler (DDIMPipeline converts any to DDIM; DDPMPipeline passes `generator` to
 * `step`, which PNDM and LMS do not take, and calls no `scale_model_input`, which sigma
 * schedulers need), so the sampler is DDPMScheduler or DDIMScheduler.
 */
function checkUnconditional(spec: PipelineCaseFields): [string, string] | null {
  const none = "DDPMPipeline / DDIMPipeline have no such input; remove it";
  for (const field of ["prompt", "negativePrompt", "guidanceScale"] as const) {
    if (spec[field] !== undefined) {
      return [field, `pipeline 'unconditional' takes no prompt: ${none}`];
    }
  }
  for (const field of ["height", "width"] as const) {
    if (spec[field] !== undefined) {
      return [
        field,
        `pipeline 'unconditional' takes the image size from the model's unet/config.json ` +
        `sample_size, as DDPMPipeline / DDIMPipeline do; remove it`,
      ];
    }
  }
  for (const field of ["image", "mask", "strength"] as const) {
    if (spec[field] !== undefined) {
      return [field, `pipeline 'unconditional' starts from noise only: ${none}`];
    }
  }
  const type = spec.sampler?.type ?? "";
  if (!Object.hasOwn(UNCONDITIONAL_SAMPLERS, type)) {
    return [
      "sampler.type",
      `pipeline 'unconditional' runs diffusers' DDPMPipeline (DDPMScheduler) or DDIMPipeline ` +
      `(DDIMScheduler); got ${JSON.stringify(type)}`,
    ];
  }
  const clipped = spec.useClippedModelOutput;
  if (clipped !== undefined && typeof clipped !== "boolean") {
    return ["useClippedModelOutput", "expected a boolean"];
  }
  if (clipped !== undefined && type !== "DDIMScheduler") {
    return [
      "useClippedModelOutput",
      `DDIMPipeline's option; ${type} runs ${UNCONDITIONAL_SAMPLERS[type]}, which has none`,
    ];
  }
  return null;
}

/**
 * Every pipeline kind, by name. The inversion kinds run an image -> invert -> sample back round
 * trip (core/pipelines/inversion/round_trip.ts; docs/inversion.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PIPELINE_KINDS } from "./pipeline_kinds.ts";
 * assert.deepEqual(Object.keys(PIPELINE_KINDS), [
 *   "text2img", "img2img", "inpaint", "unconditional", "inversion", "pixel-inversion",
 * ]);
 * assert.deepEqual(
 *   PIPELINE_KINDS.unconditional.check({ pipeline: "unconditional", sampler: { type: "DDPMScheduler" }, prompt: "a cat" }),
 *   ["prompt", "pipeline 'unconditional' takes no prompt: DDPMPipeline / DDIMPipeline have no such input; remove it"],
 * );
 * ```
 */
export const PIPELINE_KINDS: Readonly<
  Record<
    "text2img" | "img2img" | "inpaint" | "unconditional" | "inversion" | "pixel-inversion",
    PipelineDefinition
  >
> = Object.freeze({
  text2img: {
    files: [],
    prompt: true,
    check: checkPromptKind,
    run: async (inputs) => await text2img(promptInputs(inputs, "text2img")),
  },
  img2img: {
    files: ["image"],
    prompt: true,
    check: (spec) => checkPromptKind(spec) ?? checkStrength(spec),
    run: async (inputs) => await img2img(imageInputs(inputs, "img2img")),
  },
  inpaint: {
    files: ["image", "mask"],
    prompt: true,
    check: (spec) => checkPromptKind(spec) ?? checkStrength(spec),
    run: async (inputs) =>
      await inpaint({
        ...imageInputs(inputs, "inpaint"),
        keepMask: needs(inputs.keepMask, "a mask", "inpaint"),
      }),
  },
  unconditional: {
    files: [],
    prompt: false,
    check: checkUnconditional,
    run: (inputs) => unconditional({ ...inputs, imageShape: inputs.latentShape }),
  },
  inversion: {
    files: ["image"],
    prompt: true,
    check: (spec) => checkInversion(spec, false),
    run: (inputs) => runInversion(inputs, false),
  },
  "pixel-inversion": {
    files: ["image"],
    prompt: false,
    pixelImage: true,
    check: (spec) => checkInversion(spec, true),
    run: (inputs) => runInversion(inputs, true),
  },
});

/**
 * The pipeline kinds' names.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineKindName } from "./pipeline_kinds.ts";
 * const k: PipelineKindName = "inpaint";
 * assert.deepEqual(k, "inpaint");
 * ```
 */
export type PipelineKindName = keyof typeof PIPELINE_KINDS;
