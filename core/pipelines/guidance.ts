/**
 * Classifier-free guidance as StableDiffusionPipeline.__call__ does it: the UNet runs once per
 * step on `cat([latents] * 2)` (unconditional half first) scaled by `scale_model_input`, and the
 * two halves are combined as `uncond + scale * (text - uncond)` in float32, in that order.
 *
 * @module
 */
import type { UNetModel } from "../models/types.ts";
import type { Precision } from "../numerics/f16.ts";
import { halfAdd, halfMulScalar, halfSub, toHalf } from "../tensor/half_ops.ts";
import { addScaled, concat, sliceBatch, sub } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";

/**
 * Whether a guidance scale turns classifier-free guidance on (diffusers:
 * `do_classifier_free_guidance = guidance_scale > 1`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { usesGuidance } from "./guidance.ts";
 * assert.equal(usesGuidance(7.5), true);
 * assert.equal(usesGuidance(1), false); // one batch, no negative prompt
 * ```
 */
export function usesGuidance(guidanceScale: number): boolean {
  return guidanceScale > 1;
}

/**
 * `uncond + scale * (text - uncond)`, each operation rounded to float32 as torch does; the
 * Python float `scale` is first rounded to float32, as torch does with a scalar operand of a
 * float32 tensor. With `precision` "float16" (half inputs), each operation is torch's CPU half
 * arithmetic: the scale's float32 value times the half difference, rounded to half.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { classifierFreeGuidance } from "./guidance.ts";
 * const u = new Tensor(new Float32Array([1]), [1]);
 * const c = new Tensor(new Float32Array([2]), [1]);
 * assert.equal(classifierFreeGuidance(u, c, 7.5).data[0], 8.5);
 * const t = new Tensor(new Float32Array([1.0009765625]), [1]); // 1 + 2^-10
 * assert.equal(classifierFreeGuidance(u, t, 7.3, "float16").data[0], 1.0068359375); // half
 * assert.equal(classifierFreeGuidance(u, t, 7.3).data[0], 1.0071289539337158); // float32
 * assert.throws(() => classifierFreeGuidance(u, Tensor.zeros([2]), 7.5), /expected the shape of uncond \[1\]/);
 * ```
 */
export function classifierFreeGuidance(
  uncond: Tensor,
  text: Tensor,
  scale: number,
  precision: Precision = "float32",
): Tensor {
  if (!uncond.sameShape(text)) {
    throw new PipelineInputError(
      "classifierFreeGuidance",
      "text",
      `expected the shape of uncond [${uncond.shape.join(", ")}], got [${text.shape.join(", ")}]`,
    );
  }
  // StableDiffusionPipeline.__call__: noise_pred_uncond + guidance_scale * (text - uncond)
  if (precision === "float16") {
    return halfAdd(uncond, halfMulScalar(halfSub(text, uncond), scale));
  }
  return addScaled(uncond, sub(text, uncond), scale);
}

/**
 * The UNet's input batch before scaling: `cat([latents] * 2)` with guidance, `latents` alone
 * without.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { guidanceBatch } from "./guidance.ts";
 * assert.deepEqual(guidanceBatch(Tensor.zeros([1, 4, 8, 8]), 7.5).shape, [2, 4, 8, 8]);
 * assert.deepEqual(guidanceBatch(Tensor.zeros([1, 4, 8, 8]), 1).shape, [1, 4, 8, 8]);
 * ```
 */
export function guidanceBatch(latents: Tensor, guidanceScale: number): Tensor {
  return usesGuidance(guidanceScale) ? concat([latents, latents]) : latents;
}

/**
 * What one guided model evaluation gives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GuidedOutput } from "./guidance.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const g: GuidedOutput = {
 *   modelInput: Tensor.zeros([2, 4, 2, 2]), // batch 2 with guidance
 *   modelOutput: Tensor.zeros([1, 4, 2, 2]),
 *   rawOutput: Tensor.zeros([2, 4, 2, 2]),
 *   modelMs: 0,
 * };
 * assert.equal(g.modelInput.shape[0], 2);
 * ```
 */
export interface GuidedOutput {
  /** The batch handed to the UNet (scaled by the scheduler where one scales). */
  modelInput: Tensor;
  /** The guided model output, batch B (the raw output when guidance is off). */
  modelOutput: Tensor;
  /** The UNet's raw output, batch 2B with guidance (uncond first). */
  rawOutput: Tensor;
  /** Wall time of the UNet call, milliseconds. */
  modelMs: number;
}

/**
 * Runs the UNet on an already batched (and scaled) `modelInput` at timestep `t` and applies
 * guidance. With `cfg` (default: `guidanceScale > 1`) `embeds` holds 2B rows, the B negative ones
 * first, and `modelInput` the B latents twice, as StableDiffusionPipeline batches B images
 * (`num_images_per_prompt`); without it, B rows each. `cfg` true at a scale <= 1 batches anyway,
 * as code that always guides does (`uncond + 1 * (text - uncond)` is not bit for bit `text`).
 * With `precision` "float16" the UNet's output is taken as half (what a float16 export returns)
 * and guided in half.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { predictGuided } from "./guidance.ts";
 * const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) };
 * const out = await predictGuided(unet, Tensor.zeros([1, 4, 2, 2]), 981, Tensor.zeros([1, 77, 8]), 1);
 * assert.deepEqual(out.modelOutput.shape, [1, 4, 2, 2]);
 * await assert.rejects(
 *   predictGuided(unet, Tensor.zeros([1, 4, 2, 2]), 981, Tensor.zeros([1, 77, 8]), 7.5),
 *   /predictGuided: embeds: expected an even batch/,
 * );
 * // three images per prompt: 6 rows in, 3 guided out
 * const three = await predictGuided(unet, Tensor.zeros([6, 4, 2, 2]), 981, Tensor.zeros([6, 77, 8]), 7.5);
 * assert.deepEqual(three.modelOutput.shape, [3, 4, 2, 2]);
 * ```
 */
export async function predictGuided(
  unet: UNetModel,
  modelInput: Tensor,
  t: number,
  embeds: Tensor,
  guidanceScale: number,
  precision: Precision = "float32",
  cfg: boolean = usesGuidance(guidanceScale),
): Promise<GuidedOutput> {
  const rows = embeds.shape[0];
  if (!(rows > 0) || (cfg && rows % 2 !== 0)) {
    throw new PipelineInputError(
      "predictGuided",
      "embeds",
      `expected ${
        cfg ? "an even batch (negative prompts first" : "a batch of at least 1 (no guidance"
      }, guidance scale ${guidanceScale}), got shape [${embeds.shape.join(", ")}]`,
    );
  }
  if (modelInput.shape[0] !== rows) {
    throw new PipelineInputError(
      "predictGuided",
      "modelInput",
      `expected batch ${rows} (the embeddings' rows), got shape [${modelInput.shape.join(", ")}]`,
    );
  }
  const start = performance.now();
  const predicted = await unet.predict(modelInput, t, embeds);
  const rawOutput = precision === "float16" ? toHalf(predicted) : predicted;
  const modelMs = performance.now() - start;
  if (!rawOutput.sameShape(modelInput)) {
    throw new PipelineInputError(
      "predictGuided",
      "unet output",
      `expected the input shape [${modelInput.shape.join(", ")}], got [${
        rawOutput.shape.join(", ")
      }]`,
    );
  }
  let modelOutput = rawOutput;
  if (cfg) {
    // noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
    const uncond = sliceBatch(rawOutput, 0, rows / 2);
    const text = sliceBatch(rawOutput, rows / 2, rows);
    modelOutput = classifierFreeGuidance(uncond, text, guidanceScale, precision);
  }
  return { modelInput, modelOutput, rawOutput, modelMs };
}
