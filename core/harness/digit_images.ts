/**
 * Images to digit-classifier features, and the digits data set's upsampling, mirroring
 * fixtures/gen/digits_data.py: a model's image goes to grey levels in [0, 1] (the channel mean
 * of RGB), is block-averaged to 8x8 and scaled to scikit-learn's 0..16; a raw 8x8 digit is
 * upsampled bilinearly (torch's `interpolate(mode="bilinear", align_corners=False)`) to a
 * model's size in [-1, 1], as the models were trained on.
 *
 * @module
 */
import { FileError } from "../tensor/errors.ts";
import { sliceBatch } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { HeldoutDigits } from "./digit_classifier.ts";

/**
 * The value range of images given to {@link digitFeatures}, said explicitly:
 * - `"[-1,1]"`: a model's raw output (a VAE decoder's image, a pixel-space sample); it is
 *   postprocessed as diffusers does, `(x / 2 + 0.5).clamp(0, 1)` in float32;
 * - `"[0,1]"`: already postprocessed; every value must lie in [0, 1] (nothing is clamped).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DigitImageRange } from "./digit_images.ts";
 * const decoderOutput: DigitImageRange = "[-1,1]";
 * assert.equal(decoderOutput, "[-1,1]");
 * ```
 */
export type DigitImageRange = "[0,1]" | "[-1,1]";

/** The postprocessed value of a `[-1,1]` pixel: `(x / 2 + 0.5).clamp(0, 1)` in float32. */
function unit(x: number): number {
  return Math.min(Math.max(Math.fround(Math.fround(x / 2) + 0.5), 0), 1);
}

/**
 * Classifier features of images [N, C, H, W]: grey = the mean of the C channels (float64),
 * block mean over (H / size) x (W / size) pixels to `size x size`, times `scale`; `size`
 * 8 and `scale` 16 give scikit-learn's digits features (digits_data.to_classifier_features).
 * Returns N rows of `size * size` features, row-major, float64.
 *
 * @throws {RangeError} for a shape other than [N, C, H, W] with H and W multiples of `size`,
 * a NaN or infinite value, or (range `"[0,1]"`) a value outside [0, 1]; the message names
 * the element.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { digitFeatures } from "./digit_images.ts";
 * // one 2x2 RGB image, channels 0, 0.5, 1 (grey 0.5 everywhere), to 1x1 features
 * const rgb = new Tensor(new Float32Array([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1]), [1, 3, 2, 2]);
 * assert.deepEqual([...digitFeatures(rgb, "[0,1]", 1)], [8]);
 * const signed = new Tensor(new Float32Array([-1, 1, 3, -3]), [1, 1, 2, 2]); // clamped after /2+0.5
 * assert.deepEqual([...digitFeatures(signed, "[-1,1]", 1)], [8]);
 * assert.throws(() => digitFeatures(signed, "[0,1]", 1), /element 0 is -1, outside \[0, 1\]/);
 * ```
 */
export function digitFeatures(
  images: Tensor,
  range: DigitImageRange,
  size = 8,
  scale = 16,
): Float64Array {
  const fn = "digitFeatures";
  if (range !== "[0,1]" && range !== "[-1,1]") {
    throw new RangeError(`${fn}: range: expected "[0,1]" or "[-1,1]", got ${String(range)}`);
  }
  const [n, c, h, w] = images.shape;
  if (images.shape.length !== 4 || c < 1 || h % size !== 0 || w % size !== 0 || h === 0) {
    throw new RangeError(
      `${fn}: images: expected [N, C, H, W] with H and W multiples of ${size}, got [${
        images.shape.join(", ")
      }]`,
    );
  }
  const kh = h / size;
  const kw = w / size;
  const plane = h * w;
  const out = new Float64Array(n * size * size);
  const grey = new Float64Array(plane);
  for (let b = 0; b < n; b++) {
    grey.fill(0);
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * plane;
      for (let p = 0; p < plane; p++) {
        const x = images.data[base + p];
        if (!Number.isFinite(x)) {
          throw new RangeError(
            `${fn}: images: element ${base + p} is ${x}; expected finite values`,
          );
        }
        if (range === "[0,1]" && (x < 0 || x > 1)) {
          throw new RangeError(
            `${fn}: images: element ${base + p} is ${x}, outside [0, 1] (range "[0,1]"; ` +
              `a model's raw output is range "[-1,1]")`,
          );
        }
        grey[p] += range === "[0,1]" ? x : unit(x);
      }
    }
    for (let p = 0; p < plane; p++) grey[p] /= c;
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        let s = 0;
        for (let y = i * kh; y < (i + 1) * kh; y++) {
          for (let x = j * kw; x < (j + 1) * kw; x++) s += grey[y * w + x];
        }
        out[(b * size + i) * size + j] = (s / (kh * kw)) * scale;
      }
    }
  }
  return out;
}

/** Source index and weights of torch's bilinear `align_corners=False` for one output index. */
function linearTaps(
  out: number,
  inSize: number,
  outSize: number,
): [number, number, number, number] {
  const scale = Math.fround(inSize / outSize);
  // area_pixel_compute_source_index: max(scale * (i + 0.5) - 0.5, 0), in float32
  const real = Math.max(Math.fround(Math.fround(scale * (out + 0.5)) - 0.5), 0);
  const i0 = Math.floor(real);
  const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
  const l1 = Math.fround(real - i0);
  return [i0, i1, Math.fround(1 - l1), l1];
}

/**
 * digits_data.upsample: raw digits [N, 8, 8] (grey levels 0..16, row-major, `count` images) to
 * float32 [N, 1, size, size] in [-1, 1]: `/ 16`, torch's bilinear interpolation
 * (`align_corners=False`, no antialias; float32 weights and sums), then `* 2 - 1` clamped to
 * [-1, 1]. For sizes that are 8 times a power of two every value is exact.
 *
 * @throws {RangeError} when `images8` does not hold `count` 8x8 images, or `size` is not a
 * positive integer.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { upsampleDigits } from "./digit_images.ts";
 * const digit = new Float64Array(64);
 * digit[0] = 16; // one white pixel in the corner
 * const up = upsampleDigits(digit, 1, 16);
 * assert.deepEqual(up.shape, [1, 1, 16, 16]);
 * assert.deepEqual([up.data[0], up.data[1], up.data[2]], [1, 0.5, -0.5]); // 1, 0.75, 0.25 in [0, 1]
 * ```
 */
export function upsampleDigits(images8: Float64Array, count: number, size: number): Tensor {
  const fn = "upsampleDigits";
  if (!Number.isInteger(count) || count < 0 || images8.length !== count * 64) {
    throw new RangeError(
      `${fn}: images8: expected ${count} images of 8x8 = ${
        count * 64
      } values, got ${images8.length}`,
    );
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`${fn}: size: expected a positive integer, got ${size}`);
  }
  const taps = Array.from({ length: size }, (_, o) => linearTaps(o, 8, size));
  const out = new Float32Array(count * size * size);
  for (let b = 0; b < count; b++) {
    const src = (y: number, x: number) => Math.fround(images8[b * 64 + y * 8 + x] / 16);
    for (let oy = 0; oy < size; oy++) {
      const [y0, y1, hy0, hy1] = taps[oy];
      for (let ox = 0; ox < size; ox++) {
        const [x0, x1, wx0, wx1] = taps[ox];
        // torch's generic kernel: (x00 * w0 + x01 * w1) * h0 + (x10 * w0 + x11 * w1) * h1
        const f = Math.fround;
        const top = f(f(src(y0, x0) * wx0) + f(src(y0, x1) * wx1));
        const bottom = f(f(src(y1, x0) * wx0) + f(src(y1, x1) * wx1));
        const v = f(f(top * hy0) + f(bottom * hy1));
        out[(b * size + oy) * size + ox] = Math.min(Math.max(f(f(v * 2) - 1), -1), 1);
      }
    }
  }
  return new Tensor(out, [count, 1, size, size]);
}

/**
 * The first `count` held-out digits taken class by class (the first 0, the first 1, ..., the first
 * 9, then the second of each, ...), upsampled as the models were trained, as a model's input
 * images [1, C, S, S] (grey in every channel), with their index and label.
 *
 * @throws {FileError} naming `folder` when the file holds fewer than `count` held-out digits.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classBalancedImages } from "./digit_images.ts";
 * const heldout = { count: 3, indices: [0, 10, 20], labels: [0, 0, 1], images: new Float64Array(3 * 64) };
 * const { images, meta } = classBalancedImages(heldout, 2, 16, 3, "model");
 * assert.deepEqual(meta, [{ index: 0, label: 0 }, { index: 20, label: 1 }]);
 * assert.deepEqual(images[0].shape, [1, 3, 16, 16]);
 * ```
 */
export function classBalancedImages(
  heldout: HeldoutDigits,
  count: number,
  size: number,
  channels: number,
  folder: string,
): { images: Tensor[]; meta: { index: number; label: number }[] } {
  if (count > heldout.count) {
    throw new FileError(
      folder,
      "images",
      `asked for ${count} held-out digits, the file has ${heldout.count}`,
    );
  }
  const byLabel = new Map<number, number[]>();
  heldout.labels.forEach((label, i) => byLabel.set(label, [...byLabel.get(label) ?? [], i]));
  const labels = [...byLabel.keys()].sort((a, b) => a - b);
  const order: number[] = [];
  for (let round = 0; order.length < count; round++) {
    for (const label of labels) {
      const i = byLabel.get(label)![round];
      if (i !== undefined && order.length < count) order.push(i);
    }
  }
  const pick = new Float64Array(count * 64);
  order.forEach((i, k) => pick.set(heldout.images.subarray(i * 64, (i + 1) * 64), k * 64));
  const grey = upsampleDigits(pick, count, size);
  const images = order.map((_, k) => {
    const one = sliceBatch(grey, k, k + 1);
    if (channels === 1) return one;
    // grey in every channel, as the models were trained (digits_data.py)
    const out = new Float32Array(channels * one.data.length);
    for (let c = 0; c < channels; c++) out.set(one.data, c * one.data.length);
    return new Tensor(out, [1, channels, size, size]);
  });
  return {
    images,
    meta: order.map((i) => ({ index: heldout.indices[i], label: heldout.labels[i] })),
  };
}
