/**
 * The end of every pipeline: decode the final latents when a VAE decoder was given (with the
 * NaN / infinity check on the image) and assemble the {@link PromptPipelineResult}.
 *
 * @module
 */
import type { VaeDecoderModel } from "../models/types.ts";
import type { Precision } from "../numerics/f16.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import type { CommonPipelineOptions, PromptPipelineResult } from "./types.ts";
import { decodeLatents } from "./vae.ts";

/**
 * Decodes `latents` with `vaeDecoder` when one is given (`scalingFactor` is then required;
 * `latents / scalingFactor` in `precision`) and checks the image for NaN / infinity (reported
 * as step `stepCount`, tensor `image`).
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { maybeDecode } from "./result.ts";
 * const { image, decodeMs } = await maybeDecode(undefined, undefined, Tensor.zeros([1, 4, 2, 2]), 10);
 * assert.deepEqual([image, decodeMs], [undefined, 0]);
 * const vae = { decode: (z: Tensor) => Promise.resolve(Tensor.zeros([1, 3, z.shape[2] * 8, z.shape[3] * 8])) };
 * await assert.rejects(maybeDecode(vae, undefined, Tensor.zeros([1, 4, 2, 2]), 10), /scalingFactor: required/);
 * const decoded = await maybeDecode(vae, 0.18215, Tensor.zeros([1, 4, 2, 2]), 10);
 * assert.deepEqual(decoded.image?.shape, [1, 3, 16, 16]);
 * ```
 */
export async function maybeDecode(
  vaeDecoder: VaeDecoderModel | undefined,
  scalingFactor: number | undefined,
  latents: Tensor,
  stepCount: number,
  precision: Precision = "float32",
): Promise<{ image?: Tensor; decodeMs: number }> {
  if (!vaeDecoder) return { decodeMs: 0 };
  if (scalingFactor === undefined) {
    throw new PipelineInputError(
      "pipeline",
      "scalingFactor",
      "required with vaeDecoder (the VAE config's scaling_factor, e.g. 0.18215)",
    );
  }
  const start = performance.now();
  const image = await decodeLatents(vaeDecoder, latents, scalingFactor, precision);
  const decodeMs = performance.now() - start;
  assertFinite(image, { stepIndex: stepCount, tensor: "image" });
  return { image, decodeMs };
}

/**
 * What the loop part of a pipeline hands to {@link finishPipeline}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PipelineParts } from "./result.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const z = Tensor.zeros([1, 4, 2, 2]);
 * const parts: PipelineParts = {
 *   prompt: { embeds: Tensor.zeros([1, 77, 8]), encoderMs: 0 }, initLatents: z, timesteps: [999, 499],
 *   latents: z, loopMs: 2, modelMs: 1,
 * };
 * assert.equal(parts.timesteps.length, 2);
 * ```
 */
export interface PipelineParts {
  /** The prompt embeddings, their token ids when encoded here, and the encoder time. */
  prompt: { embeds: Tensor; inputIds?: number[][]; encoderMs: number };
  /** The latents entering step 0. */
  initLatents: Tensor;
  /** The timesteps visited. */
  timesteps: number[];
  /** The final latents (inpaint: after the last blend). */
  latents: Tensor;
  /** Loop and UNet wall times. */
  loopMs: number;
  /** Sum of the UNet calls. */
  modelMs: number;
  /** img2img / inpaint extras. */
  imageLatents?: Tensor;
  /** img2img / inpaint: the add_noise noise. */
  noise?: Tensor;
  /** inpaint: the keep mask. */
  keepMask?: Tensor;
  /** VAE encoder time. */
  encodeImageMs?: number;
}

/**
 * Decodes (when `opts.vaeDecoder` is given) and assembles the result of a pipeline run.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { finishPipeline } from "./result.ts";
 * const z = Tensor.zeros([1, 4, 2, 2]);
 * const r = await finishPipeline({}, {
 *   prompt: { embeds: Tensor.zeros([1, 77, 8]), encoderMs: 0 }, initLatents: z, timesteps: [1],
 *   latents: z, loopMs: 1, modelMs: 1,
 * });
 * assert.equal(r.latents, z);
 * assert.equal(r.image, undefined); // no decoder given
 * assert.deepEqual(r.timing, { encodePromptMs: 0, encodeImageMs: 0, loopMs: 1, modelMs: 1, decodeMs: 0 });
 * ```
 */
export async function finishPipeline(
  opts: Pick<CommonPipelineOptions, "vaeDecoder" | "scalingFactor" | "precision">,
  parts: PipelineParts,
): Promise<PromptPipelineResult> {
  const decoded = await maybeDecode(
    opts.vaeDecoder,
    opts.scalingFactor,
    parts.latents,
    parts.timesteps.length,
    opts.precision,
  );
  const result: PromptPipelineResult = {
    latents: parts.latents,
    promptEmbeds: parts.prompt.embeds,
    initLatents: parts.initLatents,
    timesteps: parts.timesteps,
    timing: {
      encodePromptMs: parts.prompt.encoderMs,
      encodeImageMs: parts.encodeImageMs ?? 0,
      loopMs: parts.loopMs,
      modelMs: parts.modelMs,
      decodeMs: decoded.decodeMs,
    },
  };
  if (parts.prompt.inputIds) result.inputIds = parts.prompt.inputIds;
  if (decoded.image) result.image = decoded.image;
  if (parts.imageLatents) result.imageLatents = parts.imageLatents;
  if (parts.noise) result.noise = parts.noise;
  if (parts.keepMask) result.keepMask = parts.keepMask;
  return result;
}
