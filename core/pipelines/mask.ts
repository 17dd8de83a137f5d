/**
 * The inpaint mask and blend of diffusers' StableDiffusionInpaintPipelineLegacy (last shipped
 * in diffusers 0.19; labml's `paint` is the same idea): the mask image (white = repaint) is
 * downsampled to latent size by nearest neighbour, divided by 255, repeated over the latent
 * channels and inverted (1 = keep the original); after every step the original latents,
 * re-noised to the step's timestep, replace the kept region.
 *
 * @module
 */
import { add, mul, sub } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import { checkImage8, type Image8, toGray } from "./image.ts";

const f32 = Math.fround;

/**
 * The latent-size keep mask [1, C, H/f, W/f] of a mask image (gray or RGB, converted as PIL's
 * `convert("L")`), as the legacy pipeline's `preprocess_mask`: PIL nearest resize
 * (source pixel `floor((x + 0.5) * W / (W/f))`), `/ 255` in float32, tiled over `channels`,
 * then `1 - mask`. `W` and `H` must be multiples of `f`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepMaskFromImage } from "./mask.ts";
 * const white = { width: 2, height: 2, channels: 1 as const, data: new Uint8Array([255, 255, 255, 255]) };
 * const keep = keepMaskFromImage(white, 2, 4);
 * assert.deepEqual(keep.shape, [1, 4, 1, 1]);
 * assert.deepEqual([...keep.data], [0, 0, 0, 0]); // repaint everywhere
 * ```
 */
export function keepMaskFromImage(mask: Image8, vaeScaleFactor: number, channels: number): Tensor {
  if (!Number.isInteger(vaeScaleFactor) || vaeScaleFactor < 1) {
    throw new PipelineInputError(
      "keepMaskFromImage",
      "vaeScaleFactor",
      `expected a positive integer, got ${vaeScaleFactor}`,
    );
  }
  if (!Number.isInteger(channels) || channels < 1) {
    throw new PipelineInputError(
      "keepMaskFromImage",
      "channels",
      `expected a positive integer, got ${channels}`,
    );
  }
  const gray = toGray(mask);
  checkImage8(gray, 1, "mask");
  const { width: w, height: h } = gray;
  if (w % vaeScaleFactor !== 0 || h % vaeScaleFactor !== 0) {
    throw new PipelineInputError(
      "keepMaskFromImage",
      "mask",
      `expected width and height multiples of ${vaeScaleFactor}, got ${w}x${h}`,
    );
  }
  const lw = w / vaeScaleFactor;
  const lh = h / vaeScaleFactor;
  const plane = new Float32Array(lw * lh);
  for (let y = 0; y < lh; y++) {
    // Pillow's NEAREST resize samples the source pixel under the output pixel's centre.
    const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / lh));
    for (let x = 0; x < lw; x++) {
      const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / lw));
      const m = f32(gray.data[sy * w + sx] / 255); // np.array(mask).astype(np.float32) / 255.0
      plane[y * lw + x] = f32(1 - m); // mask = 1 - mask  (repaint white, keep black)
    }
  }
  const out = new Float32Array(channels * plane.length);
  for (let c = 0; c < channels; c++) out.set(plane, c * plane.length); // np.tile(mask, (C, 1, 1))
  return new Tensor(out, [1, channels, lh, lw]);
}

/**
 * `original * keep + latents * (1 - keep)` in float32, in that order (the legacy inpaint
 * pipeline's `(init_latents_proper * mask) + (latents * (1 - mask))`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { blendKept } from "./mask.ts";
 * const keep = new Tensor(new Float32Array([1, 0]), [2]);
 * const out = blendKept(new Tensor(new Float32Array([5, 5]), [2]), new Tensor(new Float32Array([7, 7]), [2]), keep);
 * assert.deepEqual([...out.data], [5, 7]);
 * ```
 */
export function blendKept(original: Tensor, latents: Tensor, keep: Tensor): Tensor {
  for (const [field, t] of [["latents", latents], ["keep", keep]] as const) {
    if (!t.sameShape(original)) {
      throw new PipelineInputError(
        "blendKept",
        field,
        `expected shape [${original.shape.join(", ")}], got [${t.shape.join(", ")}]`,
      );
    }
  }
  // (init_latents_proper * mask) + (latents * (1 - mask))
  return add(mul(original, keep), mul(latents, sub(1, keep)));
}
