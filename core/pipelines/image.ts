/**
 * Images to and from tensors, as diffusers' VaeImageProcessor: `preprocess` (RGB bytes / 255,
 * then `2x - 1`, NCHW) and `postprocess(output_type="pil")` (`(x * 0.5 + 0.5).clamp(0, 1)`,
 * then `(x * 255).round()` to bytes with numpy's round-half-to-even).
 *
 * @module
 */
import { f32, roundHalfEven } from "../numerics/f32.ts";
import { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";

/**
 * An 8-bit image, row-major, channels interleaved (`channels` = 3 for RGB, 1 for gray).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Image8 } from "./image.ts";
 * const red: Image8 = { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) };
 * assert.equal(red.data.length, red.width * red.height * red.channels);
 * ```
 */
export interface Image8 {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** 3 (RGB) or 1 (gray). */
  channels: 1 | 3;
  /** `height * width * channels` bytes. */
  data: Uint8Array;
}

/**
 * Checks that `image` is a well-formed {@link Image8} with the given channel count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkImage8 } from "./image.ts";
 * checkImage8({ width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }, 1, "mask");
 * assert.throws(
 *   () => checkImage8({ width: 2, height: 1, channels: 1, data: new Uint8Array([7]) }, 1, "mask"),
 *   /image: mask: expected a gray image with width \* height \* 1 bytes, got 2x1, 1 channel\(s\), 1 bytes/,
 * );
 * ```
 */
export function checkImage8(image: Image8, channels: 1 | 3, field: string): void {
  const ok = image && Number.isInteger(image.width) && image.width > 0 &&
    Number.isInteger(image.height) && image.height > 0 && image.channels === channels &&
    image.data instanceof Uint8Array &&
    image.data.length === image.width * image.height * channels;
  if (!ok) {
    throw new PipelineInputError(
      "image",
      field,
      `expected a ${channels === 3 ? "RGB" : "gray"} image with width * height * ${channels} ` +
        `bytes, got ${image?.width}x${image?.height}, ${image?.channels} channel(s), ` +
        `${image?.data?.length} bytes`,
    );
  }
}

/**
 * An RGB image as the VAE's input [1, 3, H, W] in [-1, 1]: `fround(v / 255)`, then
 * `2x - 1` in float32 (VaeImageProcessor.preprocess with `do_normalize`; no resize, so the
 * image must already have the size the caller wants, see `expect`). A grey image gives
 * [1, 1, H, W] the same way (a one-channel pixel-space model's input).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageToTensor } from "./image.ts";
 * const t = imageToTensor({ width: 1, height: 1, channels: 3, data: new Uint8Array([0, 255, 51]) });
 * assert.deepEqual(t.shape, [1, 3, 1, 1]);
 * assert.deepEqual([...t.data], [-1, 1, -0.6000000238418579]);
 * const grey = imageToTensor({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 255]) });
 * assert.deepEqual([grey.shape, [...grey.data]], [[1, 1, 1, 2], [-1, 1]]);
 * ```
 */
export function imageToTensor(
  image: Image8,
  expect?: { width: number; height: number },
): Tensor {
  checkImage8(image, image?.channels === 1 ? 1 : 3, "image");
  if (expect && (image.width !== expect.width || image.height !== expect.height)) {
    throw new PipelineInputError(
      "imageToTensor",
      "image",
      `expected ${expect.width}x${expect.height} pixels (no resizing is done), ` +
        `got ${image.width}x${image.height}`,
    );
  }
  const { width: w, height: h, channels: C } = image;
  const plane = w * h;
  const out = new Float32Array(C * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < C; c++) {
      // pil_to_numpy: astype(float32) / 255.0; normalize: 2.0 * images - 1.0
      const x = f32(image.data[p * C + c] / 255);
      out[c * plane + p] = f32(f32(2 * x) - 1);
    }
  }
  return new Tensor(out, [1, C, h, w]);
}

/**
 * One image of a decoder output [B, 3, H, W] (or a pixel-space pipeline's grey sample
 * [B, 1, H, W]) as bytes: `(x * 0.5 + 0.5).clamp(0, 1)` in float32, then `(x * 255).round()`
 * (half to even) as uint8 (VaeImageProcessor.postprocess with output_type "pil"; DDPMPipeline's
 * `(image / 2 + 0.5).clamp(0, 1)` then `numpy_to_pil` gives the same bytes, `x / 2` and
 * `x * 0.5` being the same float32, and a 1-channel image is its mode "L" picture). Throws on
 * NaN, which numpy would turn into an arbitrary byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { tensorToImage } from "./image.ts";
 * const img = tensorToImage(new Tensor(new Float32Array([-1, 0, 1]), [1, 3, 1, 1]));
 * assert.deepEqual([...img.data], [0, 128, 255]);
 * const grey = tensorToImage(new Tensor(new Float32Array([-1, 0.5]), [1, 1, 1, 2]));
 * assert.deepEqual([grey.channels, ...grey.data], [1, 0, 191]);
 * assert.throws(() => tensorToImage(Tensor.zeros([1, 4, 1, 1])), /expected \[B, 3, H, W\]/);
 * ```
 */
export function tensorToImage(image: Tensor, batchIndex = 0): Image8 {
  const channels = image.shape[1] as 1 | 3;
  if (image.shape.length !== 4 || (channels !== 3 && channels !== 1)) {
    throw new PipelineInputError(
      "tensorToImage",
      "image",
      `expected [B, 3, H, W] (RGB) or [B, 1, H, W] (grey), got [${image.shape.join(", ")}]`,
    );
  }
  const [b, , h, w] = image.shape;
  if (!Number.isInteger(batchIndex) || batchIndex < 0 || batchIndex >= b) {
    throw new PipelineInputError(
      "tensorToImage",
      "batchIndex",
      `expected an integer in [0, ${b}), got ${batchIndex}`,
    );
  }
  const plane = w * h;
  const base = batchIndex * channels * plane;
  const out = new Uint8Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) {
      const x = image.data[base + c * plane + p];
      if (Number.isNaN(x)) {
        throw new PipelineInputError(
          "tensorToImage",
          "image",
          `element ${base + c * plane + p} is NaN; expected finite values`,
        );
      }
      // denormalize: (images * 0.5 + 0.5).clamp(0, 1); numpy_to_pil: (images * 255).round()
      const y = Math.min(Math.max(f32(f32(x * 0.5) + 0.5), 0), 1);
      out[p * channels + c] = roundHalfEven(f32(y * 255));
    }
  }
  return { width: w, height: h, channels, data: out };
}

/**
 * An RGB image converted to gray as PIL's `convert("L")`: `(R * 19595 + G * 38470 + B * 7471 +
 * 0x8000) >> 16` (ITU-R 601-2 luma in 16-bit fixed point). A gray image is returned as is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toGray } from "./image.ts";
 * const g = toGray({ width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) });
 * assert.deepEqual([g.channels, g.data[0]], [1, 76]);
 * ```
 */
export function toGray(image: Image8): Image8 {
  if (image.channels === 1) {
    checkImage8(image, 1, "image");
    return image;
  }
  checkImage8(image, 3, "image");
  const n = image.width * image.height;
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const r = image.data[p * 3], g = image.data[p * 3 + 1], b = image.data[p * 3 + 2];
    // Pillow Convert.c: L24(rgb) = rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000
    out[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}
