/**
 * Denoisers: the model as every sampler sees it, `(x, t) => prediction` (k-diffusion's model
 * interface). Conditioning and classifier-free guidance are closed over here, so samplers,
 * steppers and the one loop never see prompts or batches.
 *
 * @module
 */
import type { UNetModel } from "../models/types.ts";
import type { Precision } from "../numerics/f16.ts";
import type { Denoiser } from "../schedulers/types.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { concat } from "../tensor/ops.ts";
import { predictGuided, usesGuidance } from "./guidance.ts";

/**
 * The text-conditioned UNet with classifier-free guidance, as StableDiffusionPipeline.__call__
 * evaluates it: `cat([x] * 2)` (with guidance), the UNet with `embeds` (negative prompt first),
 * then `uncond + scale * (text - uncond)` in float32 (with `precision` "float16": the UNet's
 * output taken as half, guidance in torch's CPU half arithmetic). `x` is the already scaled
 * model input. `cfg` (default: scale > 1) batches at any scale, as code that always guides does
 * (the DDIM inversion tutorial's `do_classifier_free_guidance=True`). B images at once: `x` of
 * batch B and `embeds` of 2B rows, the B negative ones first (`num_images_per_prompt`'s layout).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { guidedDenoiser } from "./denoiser.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const batches: number[] = [];
 * const unet = { predict: (x: Tensor) => (batches.push(x.shape[0]), Promise.resolve(x.clone())) };
 * const denoise = guidedDenoiser(unet, Tensor.zeros([2, 77, 8]), 7.5);
 * const out = await denoise(Tensor.zeros([1, 4, 2, 2]), 981);
 * assert.deepEqual([out.shape, batches], [[1, 4, 2, 2], [2]]);
 * ```
 */
export function guidedDenoiser(
  unet: UNetModel,
  embeds: Tensor,
  guidanceScale: number,
  precision: Precision = "float32",
  cfg: boolean = usesGuidance(guidanceScale),
): Denoiser {
  return async (x, t) =>
    (await predictGuided(unet, cfg ? concat([x, x]) : x, t, embeds, guidanceScale, precision, cfg))
      .modelOutput;
}

/**
 * An unconditional UNet (pixel-space DDPM, class-free models): `(x, t) => unet.predict(x, t)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unconditionalDenoiser } from "./denoiser.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const unet = {
 *   predict: (x: Tensor, t: number) => Promise.resolve(new Tensor(x.data.map(() => t), x.shape)),
 * };
 * assert.deepEqual((await unconditionalDenoiser(unet)(Tensor.zeros([1, 1, 2, 2]), 7)).data[0], 7);
 * ```
 */
export function unconditionalDenoiser(unet: UNetModel): Denoiser {
  return (x, t) => unet.predict(x, t);
}
