/**
 * Prompt encoding as StableDiffusionPipeline.encode_prompt: CLIP token ids padded to the
 * model's length, the text encoder's `last_hidden_state`, and with guidance the negative
 * prompt's embeddings first: `cat([negative, positive])`.
 *
 * @module
 */
import type { PromptTokenizer, TextEncoderModel } from "../models/types.ts";
import { concat } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";

/**
 * The result of {@link encodePrompt}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { EncodedPrompt } from "./prompt.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const p: EncodedPrompt = {
 *   embeds: Tensor.zeros([2, 4, 8]), // with guidance: negative first
 *   inputIds: [[49406, 49407, 49407, 49407], [49406, 320, 49407, 49407]],
 *   encoderMs: 0,
 * };
 * assert.equal(p.inputIds.length, p.embeds.shape[0]);
 * ```
 */
export interface EncodedPrompt {
  /** The UNet's `encoder_hidden_states`: [2, L, D] with guidance (negative first), else [1, L, D]. */
  embeds: Tensor;
  /** The token id rows in the same order as `embeds` (negative first with guidance). */
  inputIds: number[][];
  /** Wall time of the text encoder calls, milliseconds. */
  encoderMs: number;
}

/**
 * Encodes `prompt` (and, when `doCfg`, `negativePrompt`, default "") with one text encoder call
 * per prompt as diffusers does (positive first), and returns the embeddings batched for the
 * UNet: `cat([negative, positive])` with guidance, the positive ones alone without.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { encodePrompt } from "./prompt.ts";
 * const tokenizer = { modelMaxLength: 4, encode: (s: string) => [49406, s.length, 49407, 49407] };
 * const textEncoder = {
 *   encode: (ids: number[][]) => Promise.resolve(Tensor.zeros([ids.length, 4, 8])),
 * };
 * const { embeds, inputIds } = await encodePrompt(tokenizer, textEncoder, "a cat", "", true);
 * assert.deepEqual(embeds.shape, [2, 4, 8]);
 * assert.deepEqual(inputIds, [[49406, 0, 49407, 49407], [49406, 5, 49407, 49407]]); // negative first
 * ```
 */
export async function encodePrompt(
  tokenizer: PromptTokenizer,
  textEncoder: TextEncoderModel,
  prompt: string,
  negativePrompt: string | undefined,
  doCfg: boolean,
): Promise<EncodedPrompt> {
  if (typeof prompt !== "string") {
    throw new PipelineInputError("encodePrompt", "prompt", "expected a string");
  }
  if (negativePrompt !== undefined && typeof negativePrompt !== "string") {
    throw new PipelineInputError("encodePrompt", "negativePrompt", "expected a string");
  }
  const start = performance.now();
  const positiveIds = tokenIds(tokenizer, prompt, "prompt");
  const positive = await encodeRow(textEncoder, positiveIds, "prompt");
  if (!doCfg) {
    return { embeds: positive, inputIds: [positiveIds], encoderMs: performance.now() - start };
  }
  const negativeIds = tokenIds(tokenizer, negativePrompt ?? "", "negativePrompt");
  const negative = await encodeRow(textEncoder, negativeIds, "negativePrompt");
  if (!negative.sameShape(positive)) {
    throw new PipelineInputError(
      "encodePrompt",
      "negativePrompt",
      `expected embeddings of shape [${positive.shape.join(", ")}], got [${
        negative.shape.join(", ")
      }]`,
    );
  }
  return {
    embeds: concat([negative, positive]), // torch.cat([negative_prompt_embeds, prompt_embeds])
    inputIds: [negativeIds, positiveIds],
    encoderMs: performance.now() - start,
  };
}

function tokenIds(tokenizer: PromptTokenizer, text: string, field: string): number[] {
  const ids = tokenizer.encode(text);
  if (ids.length !== tokenizer.modelMaxLength) {
    throw new PipelineInputError(
      "encodePrompt",
      field,
      `the tokenizer returned ${ids.length} ids, expected modelMaxLength = ${tokenizer.modelMaxLength}`,
    );
  }
  return ids;
}

async function encodeRow(encoder: TextEncoderModel, ids: number[], field: string): Promise<Tensor> {
  const out = await encoder.encode([ids]);
  if (out.shape.length !== 3 || out.shape[0] !== 1 || out.shape[1] !== ids.length) {
    throw new PipelineInputError(
      "encodePrompt",
      field,
      `expected text encoder output [1, ${ids.length}, D], got [${out.shape.join(", ")}]`,
    );
  }
  return out;
}

/**
 * A prompt as a pipeline takes it: text with the tokenizer and text encoder to encode it, or
 * embeddings already made (batch 2, negative first, when guidance is on; else batch 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PromptSource } from "./prompt.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const given: PromptSource = { embeds: Tensor.zeros([2, 77, 768]) };
 * assert.ok("embeds" in given);
 * assert.deepEqual(given.embeds.shape, [2, 77, 768]);
 * ```
 */
export type PromptSource =
  | { embeds: Tensor }
  | {
    tokenizer: PromptTokenizer;
    textEncoder: TextEncoderModel;
    prompt: string;
    negativePrompt?: string;
  };

/**
 * The UNet's `encoder_hidden_states` for a {@link PromptSource} and guidance scale: encodes
 * text with {@link encodePrompt}, or checks that given embeddings have the batch guidance needs.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { promptEmbeddings } from "./prompt.ts";
 * const { embeds } = await promptEmbeddings({ embeds: Tensor.zeros([1, 77, 8]) }, 1);
 * assert.deepEqual(embeds.shape, [1, 77, 8]);
 * await assert.rejects(
 *   promptEmbeddings({ embeds: Tensor.zeros([1, 77, 8]) }, 7.5),
 *   /prompt.embeds: expected \[2, L, D\] for guidance scale 7.5/,
 * );
 * ```
 */
export async function promptEmbeddings(
  source: PromptSource,
  guidanceScale: number,
): Promise<EncodedPrompt | { embeds: Tensor; inputIds?: undefined; encoderMs: number }> {
  if (!Number.isFinite(guidanceScale)) {
    throw new PipelineInputError("pipeline", "guidanceScale", "expected a finite number");
  }
  const doCfg = guidanceScale > 1;
  if ("embeds" in source) {
    const e = source.embeds;
    if (e.shape.length !== 3 || e.shape[0] !== (doCfg ? 2 : 1)) {
      throw new PipelineInputError(
        "pipeline",
        "prompt.embeds",
        `expected [${doCfg ? 2 : 1}, L, D] for guidance scale ${guidanceScale}${
          doCfg ? " (negative prompt first)" : ""
        }, got [${e.shape.join(", ")}]`,
      );
    }
    return { embeds: e, encoderMs: 0 };
  }
  return await encodePrompt(
    source.tokenizer,
    source.textEncoder,
    source.prompt,
    source.negativePrompt,
    doCfg,
  );
}
