/**
 * The shape of a case declaration (`CaseSpec`, one interface per pipeline kind's fields) and of
 * a case after `defineCase` (`Case`). Types only: `defineCase` (case.ts) validates them.
 *
 * @module
 */
import type { CaseToleranceOverrides, CaseTolerances } from "./case_tolerances.ts";
import type { Precision } from "../numerics/f16.ts";
import type { SamplerSpec } from "../schedulers/samplers.ts";
import type { PipelineKindName } from "./pipeline_kinds.ts";
import type { InversionSpec } from "../pipelines/inversion/methods.ts";

/**
 * Which pipeline a case runs: a key of `PIPELINE_KINDS`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineKind } from "./case.ts";
 * const k: PipelineKind = "img2img";
 * assert.deepEqual(k, "img2img");
 * ```
 */
export type PipelineKind = PipelineKindName;

/**
 * One experiment: model, loop, sampler, seed and inputs, its references and tolerances.
 * Paths are relative to the repository root (or absolute). Which inputs a case has depends on
 * its pipeline kind: a {@link PromptCaseSpec} (text2img, img2img, inpaint) has a prompt and a
 * guidance scale, an {@link UnconditionalCaseSpec} (DDPMPipeline / DDIMPipeline) has neither.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CaseSpec, defineCase } from "./case.ts";
 * const spec: CaseSpec = {
 *   name: "ddim-eta0",
 *   model: "fixtures/models/tiny-sd",
 *   pipeline: "text2img",
 *   sampler: { type: "DDIMScheduler" },
 *   steps: 20,
 *   prompt: "a photo of an astronaut riding a horse",
 *   guidanceScale: 7.5,
 *   seed: 0,
 * };
 * assert.equal(defineCase(spec).references.torch, "fixtures/refs/cases/ddim-eta0.torch.safetensors");
 * ```
 */
export type CaseSpec =
  | PromptCaseSpec
  | UnconditionalCaseSpec
  | InversionCaseSpec
  | PixelInversionCaseSpec;

/**
 * The fields every case has, whatever its pipeline kind.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseSpecBase } from "./case.ts";
 * const common: Omit<CaseSpecBase, "pipeline"> = {
 *   name: "x", model: "m", sampler: { type: "DDPMScheduler" }, steps: 1000, seed: 0,
 * };
 * assert.equal(common.steps, 1000);
 * ```
 */
export interface CaseSpecBase {
  /** Unique id: lowercase letters, digits and dashes; names the reference files. */
  name: string;
  /** One sentence on what the case shows. */
  description?: string;
  /** The model folder in optimum's ONNX layout. */
  model: string;
  /** Replaces the folder's unet/model.onnx (e.g. an fp16 export). */
  unet?: string;
  /**
   * For `deno task refs --cases <dir>`: the diffusers pipeline folder (`from_pretrained`
   * layout) that `model` was exported from, whose PyTorch modules make the torch reference and
   * whose pipeline runs the onnx one. Not read by the runner. The project's own models leave it
   * out (fixtures/gen rebuilds them).
   */
  torchModel?: string;
  /** The pipeline kind (a key of `PIPELINE_KINDS`). */
  pipeline: PipelineKind;
  /** The sampler and its config overrides. */
  sampler: SamplerSpec;
  /** Number of inference steps. */
  steps: number;
  /** DDIM eta (0 by default). */
  eta?: number;
  /**
   * The dtype the text2img loop runs in: `"float32"` (default), or `"float16"` as diffusers'
   * StableDiffusionPipeline runs with float16 prompt embeddings (optimum's ORT pipeline on a
   * `--dtype fp16` export): embeddings cast to half, half initial latents, the UNet's output
   * as half, guidance and the sampler's steps in torch's CPU half arithmetic. DDIMScheduler
   * (eta 0) and PNDMScheduler (PLMS) only. A reference whose metadata `sampler_dtype` says
   * otherwise is run anyway, with a warning.
   */
  precision?: Precision;
  /** Seed of the CPU torch generator that draws the initial latents and step noise. */
  seed: number;
  /**
   * Reference files; default `fixtures/refs/cases/<name>.{onnx,torch}.safetensors`, or, for a
   * case on a model outside fixtures/ loaded from a cases folder (`--cases <dir>`),
   * `<dir>/refs/<name>.{onnx,torch}.safetensors`: a user's references live beside their cases.
   */
  references?: { onnx?: string; torch?: string };
  /**
   * Tolerances per comparison, merged bound by bound over `defaultTolerances`: a given bound
   * replaces the default's, `null` removes it (`{ freeRunTorch: { maxAbs: null, relL2: 1e-3 } }`
   * keeps the default `cosineMin`, drops the default `maxAbs`).
   */
  tolerances?: CaseToleranceOverrides;
  /**
   * Which float32 sqrt/exp/log the reference-math runs use: `"auto"` (default) the table the
   * reference recorded, else one inferred from its tensors; `"recorded"` requires a recorded
   * table; `"inferred"` ignores a recorded table and infers one (what a reference captured by
   * plain diffusers or optimum gets); `"ieee"` compares with correctly rounded math only.
   */
  referenceMath?: ReferenceMathMode;
  /**
   * Score the case's decoded image with the digit classifier (for the digits models): the result
   * gets the classifier's most probable digit and its probability, and, with `label`, the
   * probability of the digit the case asked for. A reported figure, not a verdict.
   */
  digit?: DigitCheck;
  /**
   * For the reference dumper: make this case's references with deliberately non-IEEE torch
   * sqrt/exp/log (fixtures/gen/ref_math.py), as a machine whose math is not correctly rounded
   * would, on any machine. Ignored by the runner.
   */
  mathSkew?: boolean;
}

/**
 * What a case's `digit` field asks: which digit the image should show (0..9; left out for an
 * unconditional model) and which classifier scores it (default
 * `fixtures/models/digit-classifier.json`, written by fixtures/gen/dump_digit_classifier.py).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitCheck } from "./case.ts";
 * const seven: DigitCheck = { label: 7 };
 * assert.equal(seven.classifier, undefined);
 * ```
 */
export interface DigitCheck {
  /** The digit the prompt asks for. */
  label?: number;
  /** The classifier JSON (default fixtures/models/digit-classifier.json). */
  classifier?: string;
}

/**
 * A case whose pipeline encodes a prompt: text2img, img2img and inpaint (diffusers'
 * StableDiffusionPipeline and its img2img / legacy inpaint siblings).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type PromptCaseSpec } from "./case.ts";
 * const spec: PromptCaseSpec = {
 *   name: "img", model: "m", pipeline: "img2img", sampler: { type: "DDIMScheduler" }, steps: 10,
 *   prompt: "a cat", guidanceScale: 7.5, seed: 0, image: "in.png", strength: 0.6,
 * };
 * assert.equal(defineCase(spec).strength, 0.6);
 * ```
 */
export interface PromptCaseSpec extends CaseSpecBase {
  /** text2img, img2img or inpaint. */
  pipeline: Exclude<PipelineKind, "unconditional" | "inversion" | "pixel-inversion">;
  /** The prompt. */
  prompt: string;
  /** The negative prompt ("" by default, as diffusers' unconditional embedding). */
  negativePrompt?: string;
  /** Classifier-free guidance scale; <= 1 runs one batch without the unconditional half. */
  guidanceScale: number;
  /** Image height in pixels (default: the model's sample size times the VAE factor). */
  height?: number;
  /** Image width in pixels (default: as height). */
  width?: number;
  /** img2img / inpaint: the input image (PNG). */
  image?: string;
  /** inpaint: the mask (PNG, white = repaint). */
  mask?: string;
  /** img2img / inpaint: how much of the schedule to run (diffusers' `strength`). */
  strength?: number;
  /** DDIMPipeline's option: not a field of these pipelines. */
  useClippedModelOutput?: never;
  /** Not a field of these pipelines (the inversion kinds'). */
  inversion?: never;
  /** Not a field of these pipelines (the inversion kinds'). */
  startStep?: never;
}

/**
 * A case of the `unconditional` pipeline: diffusers' DDPMPipeline (sampler DDPMScheduler) or
 * DDIMPipeline (DDIMScheduler, with `eta` and `useClippedModelOutput`) on a pixel-space UNet.
 * The image size is the UNet's `sample_size`; there is no prompt, guidance, image or VAE.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type UnconditionalCaseSpec } from "./case.ts";
 * const spec: UnconditionalCaseSpec = {
 *   name: "digits-ddim", model: "fixtures/models/digits-ddpm", pipeline: "unconditional",
 *   sampler: { type: "DDIMScheduler" }, steps: 50, eta: 0, seed: 0, useClippedModelOutput: true,
 * };
 * assert.equal(defineCase(spec).useClippedModelOutput, true);
 * ```
 */
export interface UnconditionalCaseSpec extends CaseSpecBase {
  /** DDPMPipeline / DDIMPipeline. */
  pipeline: "unconditional";
  /**
   * DDIMPipeline's `use_clipped_model_output` (DDIMScheduler only): re-derive the model output
   * from the clipped x0 prediction. Left out, nothing is passed, as diffusers' default None.
   */
  useClippedModelOutput?: boolean;
  /** Not a field of this pipeline (DDPMPipeline / DDIMPipeline take no prompt). */
  prompt?: never;
  /** Not a field of this pipeline. */
  negativePrompt?: never;
  /** Not a field of this pipeline. */
  guidanceScale?: never;
  /** Not a field of this pipeline (the size is the UNet's `sample_size`). */
  height?: never;
  /** Not a field of this pipeline (the size is the UNet's `sample_size`). */
  width?: never;
  /** Not a field of this pipeline. */
  image?: never;
  /** Not a field of this pipeline. */
  mask?: never;
  /** Not a field of this pipeline. */
  strength?: never;
  /** Not a field of this pipeline (the inversion kinds'). */
  inversion?: never;
  /** Not a field of this pipeline (the inversion kinds'). */
  startStep?: never;
}

/**
 * A round trip on a latent text model (docs/inversion.md): the image encoded (the VAE's mean
 * times the scaling factor, or a sample), inverted to noise by `inversion.method` at
 * `guidanceScale`, sampled back with the model's config as a DDIMScheduler, and decoded.
 * `steps` is each pass's step count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { InversionCaseSpec } from "./case_spec.ts";
 * const c: InversionCaseSpec = {
 *   name: "invert", model: "fixtures/models/digits-sd", pipeline: "inversion",
 *   sampler: { type: "DDIMScheduler" }, inversion: { method: "ddim" }, steps: 10,
 *   prompt: "a handwritten digit 3", guidanceScale: 1, image: "fixtures/images/digit-heldout.png", seed: 0,
 * };
 * assert.equal(c.inversion.method, "ddim");
 * ```
 */
export interface InversionCaseSpec extends CaseSpecBase {
  /** The round trip on a latent text model. */
  pipeline: "inversion";
  /** The method and its options (core/pipelines/inversion/methods.ts). */
  inversion: InversionSpec;
  /** The prompt of both passes (the source prompt). */
  prompt: string;
  /** The negative prompt ("" by default; negative-prompt inversion uses the prompt). */
  negativePrompt?: string;
  /** Classifier-free guidance scale of both passes. */
  guidanceScale: number;
  /** The image (PNG, the model's pixel size). */
  image: string;
  /** The tutorial loop's `start_step` (default 0). */
  startStep?: number;
  /** Not a field of this pipeline (the image sets the size). */
  height?: never;
  /** Not a field of this pipeline (the image sets the size). */
  width?: never;
  /** Not a field of this pipeline. */
  mask?: never;
  /** Not a field of this pipeline. */
  strength?: never;
  /** Not a field of this pipeline. */
  useClippedModelOutput?: never;
}

/**
 * A round trip on a pixel-space unconditional model (no VAE, no text): the image itself is
 * inverted and sampled back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PixelInversionCaseSpec } from "./case_spec.ts";
 * const c: PixelInversionCaseSpec = {
 *   name: "invert-pixels", model: "fixtures/models/digits-ddpm", pipeline: "pixel-inversion",
 *   sampler: { type: "DDIMScheduler" }, inversion: { method: "ddim" }, steps: 10,
 *   image: "fixtures/images/digit-heldout-16.png", seed: 0,
 * };
 * assert.equal(c.pipeline, "pixel-inversion");
 * ```
 */
export interface PixelInversionCaseSpec extends CaseSpecBase {
  /** The round trip on a pixel-space model. */
  pipeline: "pixel-inversion";
  /** The method and its options (not negative-prompt inversion: there is no prompt). */
  inversion: InversionSpec;
  /** The image (PNG at the UNet's sample size; grey for a one-channel model). */
  image: string;
  /** The tutorial loop's `start_step` (default 0). */
  startStep?: number;
  /** Not a field of this pipeline. */
  prompt?: never;
  /** Not a field of this pipeline. */
  negativePrompt?: never;
  /** Not a field of this pipeline. */
  guidanceScale?: never;
  /** Not a field of this pipeline. */
  height?: never;
  /** Not a field of this pipeline. */
  width?: never;
  /** Not a field of this pipeline. */
  mask?: never;
  /** Not a field of this pipeline. */
  strength?: never;
  /** Not a field of this pipeline. */
  useClippedModelOutput?: never;
}

/**
 * How a case takes the reference machine's math: see {@link CaseSpec.referenceMath}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type ReferenceMathMode } from "./case.ts";
 * const referenceMath: ReferenceMathMode = "inferred";
 * const c = defineCase({
 *   name: "x", model: "m", pipeline: "text2img", sampler: { type: "DDIMScheduler" }, steps: 2,
 *   prompt: "", guidanceScale: 1, seed: 0, referenceMath,
 * });
 * assert.equal(c.referenceMath, "inferred");
 * ```
 */
export type ReferenceMathMode = "auto" | "recorded" | "inferred" | "ieee";

/**
 * A case after `defineCase`: validated, frozen, with its reference paths filled in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type Case, defineCase } from "./case.ts";
 * const c: Case = defineCase({
 *   name: "x", model: "m", pipeline: "text2img", sampler: { type: "DDIMScheduler" }, steps: 2,
 *   prompt: "", guidanceScale: 1, seed: 0,
 * });
 * assert.ok(Object.isFrozen(c) && Object.isFrozen(c.tolerances));
 * assert.equal(c.references.onnx, "fixtures/refs/cases/x.onnx.safetensors");
 * ```
 */
export type Case =
  | Readonly<Omit<PromptCaseSpec, "references" | "tolerances"> & DefinedCaseFields>
  | Readonly<Omit<UnconditionalCaseSpec, "references" | "tolerances"> & DefinedCaseFields>
  | Readonly<Omit<InversionCaseSpec, "references" | "tolerances"> & DefinedCaseFields>
  | Readonly<Omit<PixelInversionCaseSpec, "references" | "tolerances"> & DefinedCaseFields>;

/**
 * What `defineCase` fills in: the reference paths and the merged tolerances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defineCase, type DefinedCaseFields } from "./case.ts";
 * const { references }: DefinedCaseFields = defineCase({
 *   name: "x", model: "m", pipeline: "unconditional", sampler: { type: "DDPMScheduler" }, steps: 2,
 *   seed: 0,
 * });
 * assert.equal(references.torch, "fixtures/refs/cases/x.torch.safetensors");
 * ```
 */
export interface DefinedCaseFields {
  /** The reference files, defaults filled in. */
  references: { onnx: string; torch: string };
  /** Every comparison's tolerance, the case's merged over the defaults. */
  tolerances: CaseTolerances;
}
