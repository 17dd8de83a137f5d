/**
 * The VAE ends of the pipelines: encoding an image to scaled latents through diffusers'
 * `DiagonalGaussianDistribution` (its `sample(generator)` or its mean), and decoding latents
 * after dividing by the scaling factor. All arithmetic is float32, in diffusers' order.
 *
 * @module
 */
import type { VaeDecoderModel, VaeEncoderModel } from "../models/types.ts";
import type { Precision } from "../numerics/f16.ts";
import { halfDivScalar } from "../tensor/half_ops.ts";
import { add, clamp, div, mul, scale } from "../tensor/ops.ts";
import { Tensor } from "../tensor/tensor.ts";
import { type Float32Math, ieeeMath } from "../numerics/f32_math.ts";
import { PipelineInputError } from "./errors.ts";
import { assertFinite } from "./finite.ts";
import type { NoiseSource, PipelineHooks } from "./types.ts";

/**
 * The latent distribution of an encoded image, as diffusers' `DiagonalGaussianDistribution`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LatentDistribution } from "./vae.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const d: LatentDistribution = {
 *   mean: Tensor.zeros([1, 4, 1, 1]),
 *   logvar: Tensor.zeros([1, 4, 1, 1]),
 *   std: new Tensor(new Float32Array([1, 1, 1, 1]), [1, 4, 1, 1]), // exp(0.5 * 0)
 * };
 * assert.equal(Math.max(...d.std.data), 1);
 * ```
 */
export interface LatentDistribution {
  /** The mean, [B, C, h, w]. */
  mean: Tensor;
  /** The log-variance after `clamp(logvar, -30, 20)`. */
  logvar: Tensor;
  /** `exp(0.5 * logvar)`. */
  std: Tensor;
}

/**
 * Splits VAE encoder output `[B, 2C, h, w]` into mean and clamped log-variance and computes the
 * standard deviation, as `DiagonalGaussianDistribution.__init__`.
 *
 * `exp` comes from `math`: correctly rounded by default; torch's float32 `exp` kernel is within
 * 1 ulp of it but not always equal, and a reference's recorded or inferred table reproduces it.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { latentDistribution } from "./vae.ts";
 * const moments = new Tensor(new Float32Array([0.5, -40]), [1, 2, 1, 1]);
 * const d = latentDistribution(moments);
 * assert.deepEqual([d.mean.data[0], d.logvar.data[0]], [0.5, -30]); // logvar clamped
 * assert.equal(d.std.data[0], Math.fround(Math.exp(-15)));
 * ```
 */
export function latentDistribution(
  parameters: Tensor,
  math: Float32Math = ieeeMath,
): LatentDistribution {
  if (parameters.shape.length !== 4 || parameters.shape[1] % 2 !== 0) {
    throw new PipelineInputError(
      "latentDistribution",
      "parameters",
      `expected VAE encoder output [B, 2C, h, w], got [${parameters.shape.join(", ")}]`,
    );
  }
  const [mean, rawLogvar] = splitChannels(parameters); // torch.chunk(parameters, 2, dim=1)
  const logvar = clamp(rawLogvar, -30, 20); // torch.clamp(self.logvar, -30.0, 20.0)
  const half = scale(logvar, 0.5);
  const sd = new Float32Array(half.size);
  for (let i = 0; i < sd.length; i++) sd[i] = math.exp(half.data[i]); // torch.exp(0.5 * logvar)
  return { mean, logvar, std: new Tensor(sd, mean.shape) };
}

/** `torch.chunk(t, 2, dim=1)` of a [B, 2C, h, w] tensor. */
function splitChannels(t: Tensor): [Tensor, Tensor] {
  const [b, c2, h, w] = t.shape;
  const c = c2 / 2;
  const plane = c * h * w;
  const first = new Float32Array(b * plane);
  const second = new Float32Array(b * plane);
  for (let i = 0; i < b; i++) {
    first.set(t.data.subarray(2 * i * plane, (2 * i + 1) * plane), i * plane);
    second.set(t.data.subarray((2 * i + 1) * plane, (2 * i + 2) * plane), i * plane);
  }
  return [new Tensor(first, [b, c, h, w]), new Tensor(second, [b, c, h, w])];
}

/**
 * `mean + std * randn(mean.shape, generator)`, as `DiagonalGaussianDistribution.sample`: draws
 * one tensor from `generator`.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import { latentDistribution, sampleLatentDistribution } from "./vae.ts";
 * const d = latentDistribution(Tensor.zeros([1, 8, 2, 2]));
 * import assert from "node:assert/strict";
 * const ones = { randn: (s: readonly number[]) => new Tensor(new Float32Array(16).fill(1), s) };
 * assert.equal(sampleLatentDistribution(d, ones).data[0], 1); // 0 + 1 * 1
 * ```
 */
export function sampleLatentDistribution(dist: LatentDistribution, generator: NoiseSource): Tensor {
  const eps = generator.randn(dist.mean.shape);
  if (!eps.sameShape(dist.mean)) {
    throw new PipelineInputError(
      "sampleLatentDistribution",
      "generator",
      `randn returned shape [${eps.shape.join(", ")}], expected [${dist.mean.shape.join(", ")}]`,
    );
  }
  return add(dist.mean, mul(dist.std, eps)); // self.mean + self.std * sample
}

/**
 * `mode = "sample"` draws from the latent distribution (diffusers' `retrieve_latents` default);
 * `"mean"` takes its mean (`latent_dist.mode()`, sample_mode `"argmax"`) and draws nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { LatentMode } from "./vae.ts";
 * const deterministic: LatentMode = "mean";
 * assert.notEqual(deterministic, "sample");
 * ```
 */
export type LatentMode = "sample" | "mean";

/**
 * The result of {@link encodeImageLatents}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ImageLatents } from "./vae.ts";
 * import { latentDistribution } from "./vae.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const distribution = latentDistribution(Tensor.zeros([1, 8, 2, 2]));
 * const l: ImageLatents = { latents: distribution.mean, distribution, encoderMs: 0 };
 * assert.deepEqual(l.latents.shape, [1, 4, 2, 2]); // [1, C, h, w]
 * ```
 */
export interface ImageLatents {
  /** `scalingFactor * sample` (or `* mean`): diffusers' `init_latents` before noise. */
  latents: Tensor;
  /** The latent distribution the encoder gave. */
  distribution: LatentDistribution;
  /** Wall time of the encoder call, milliseconds. */
  encoderMs: number;
}

/**
 * Encodes `image` ([B, 3, H, W] in [-1, 1]) and returns `scalingFactor * latents`, where the
 * latents are `latent_dist.sample(generator)` or its mean (StableDiffusionImg2ImgPipeline
 * .prepare_latents). The sample is the first draw from `generator`; `math` gives the float32
 * `exp` of the standard deviation (default IEEE).
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { encodeImageLatents } from "./vae.ts";
 * const vae = { encode: (_x: Tensor) => Promise.resolve(Tensor.zeros([1, 8, 2, 2])) };
 * const none = { randn: (s: readonly number[]) => Tensor.zeros(s) };
 * const { latents } = await encodeImageLatents(vae, Tensor.zeros([1, 3, 16, 16]), none, 0.18215, "mean");
 * assert.deepEqual(latents.shape, [1, 4, 2, 2]);
 * await assert.rejects(
 *   encodeImageLatents(vae, Tensor.zeros([1, 3, 16, 16]), none, 0),
 *   /encodeImageLatents: scalingFactor: expected a positive number/,
 * );
 * ```
 */
export async function encodeImageLatents(
  vaeEncoder: VaeEncoderModel,
  image: Tensor,
  generator: NoiseSource,
  scalingFactor: number,
  mode: LatentMode = "sample",
  math: Float32Math = ieeeMath,
): Promise<ImageLatents> {
  if (image.shape.length !== 4 || image.shape[1] !== 3) {
    throw new PipelineInputError(
      "encodeImageLatents",
      "image",
      `expected [B, 3, H, W], got [${image.shape.join(", ")}]`,
    );
  }
  checkScalingFactor("encodeImageLatents", scalingFactor);
  if (mode !== "sample" && mode !== "mean") {
    throw new PipelineInputError("encodeImageLatents", "mode", "expected 'sample' or 'mean'");
  }
  const start = performance.now();
  const parameters = await vaeEncoder.encode(image);
  const encoderMs = performance.now() - start;
  if (parameters.shape[0] !== image.shape[0]) {
    throw new PipelineInputError(
      "encodeImageLatents",
      "vae encoder output",
      `expected batch ${image.shape[0]}, got shape [${parameters.shape.join(", ")}]`,
    );
  }
  const distribution = latentDistribution(parameters, math);
  const z = mode === "sample"
    ? sampleLatentDistribution(distribution, generator)
    : distribution.mean;
  // prepare_latents: init_latents = self.vae.config.scaling_factor * init_latents
  return { latents: scale(z, scalingFactor), distribution, encoderMs };
}

/**
 * `latents / scalingFactor` in float32 (the divisor rounded to float32 first, as torch does
 * with a Python scalar): the decoder's input. With `precision` "float16" (half latents): the
 * float32 quotient rounded to half, as torch divides a half tensor by a Python float.
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { unscaleLatents } from "./vae.ts";
 * assert.equal(unscaleLatents(new Tensor(new Float32Array([0.5]), [1]), 0.5).data[0], 1);
 * const z = new Tensor(new Float32Array([1]), [1]);
 * assert.equal(unscaleLatents(z, 0.18215, "float16").data[0], 5.48828125); // 5.4899807 in half
 * ```
 */
export function unscaleLatents(
  latents: Tensor,
  scalingFactor: number,
  precision: Precision = "float32",
): Tensor {
  checkScalingFactor("unscaleLatents", scalingFactor);
  // StableDiffusionPipeline.__call__: self.vae.decode(latents / self.vae.config.scaling_factor)
  if (precision === "float16") return halfDivScalar(latents, scalingFactor);
  return div(latents, scalingFactor);
}

/**
 * Decodes latents to an image [B, 3, H, W] in about [-1, 1]: `vae_decoder(latents /
 * scalingFactor)`, the division in `precision` (see {@link unscaleLatents}).
 *
 * @example
 * ```ts
 * import { Tensor } from "../tensor/tensor.ts";
 * import assert from "node:assert/strict";
 * import { decodeLatents } from "./vae.ts";
 * const vae = { decode: (_z: Tensor) => Promise.resolve(Tensor.zeros([1, 3, 16, 16])) };
 * const image = await decodeLatents(vae, Tensor.zeros([1, 4, 2, 2]), 0.18215);
 * assert.deepEqual(image.shape, [1, 3, 16, 16]);
 * ```
 */
export async function decodeLatents(
  vaeDecoder: VaeDecoderModel,
  latents: Tensor,
  scalingFactor: number,
  precision: Precision = "float32",
): Promise<Tensor> {
  const image = await vaeDecoder.decode(unscaleLatents(latents, scalingFactor, precision));
  if (image.shape.length !== 4 || image.shape[0] !== latents.shape[0] || image.shape[1] !== 3) {
    throw new PipelineInputError(
      "decodeLatents",
      "vae decoder output",
      `expected [${latents.shape[0]}, 3, H, W], got [${image.shape.join(", ")}]`,
    );
  }
  return image;
}

function checkScalingFactor(where: string, scalingFactor: number): void {
  if (!(Number.isFinite(scalingFactor) && scalingFactor > 0)) {
    throw new PipelineInputError(
      where,
      "scalingFactor",
      `expected a positive number (the VAE config's scaling_factor, e.g. 0.18215), got ${scalingFactor}`,
    );
  }
}

/**
 * The image latents a pipeline goes on with: `latents`, or what the replay hook
 * `overrideImageLatents` gives instead (the reference's, isolating the loop from the VAE's float32
 * `exp`), checked for shape and for NaN / infinity.
 *
 * @throws {PipelineInputError} naming `who` when the hook's tensor has another shape;
 * `NonFiniteError` when the latents hold a NaN or infinity.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { hookedImageLatents } from "./vae.ts";
 * const z = Tensor.zeros([1, 4, 2, 2]);
 * const ref = new Tensor(new Float32Array(16).fill(0.5), [1, 4, 2, 2]);
 * assert.equal(await hookedImageLatents(z, { overrideImageLatents: () => ref }, "img2img"), ref);
 * assert.equal(await hookedImageLatents(z, undefined, "img2img"), z);
 * await assert.rejects(
 *   hookedImageLatents(z, { overrideImageLatents: () => Tensor.zeros([1]) }, "img2img"),
 *   /img2img: overrideImageLatents: expected a tensor of shape \[1, 4, 2, 2\]/,
 * );
 * ```
 */
export async function hookedImageLatents(
  latents: Tensor,
  hooks: Pick<PipelineHooks, "overrideImageLatents"> | undefined,
  who: string,
): Promise<Tensor> {
  const replaced = await hooks?.overrideImageLatents?.();
  if (replaced !== undefined && !replaced?.sameShape?.(latents)) {
    throw new PipelineInputError(
      who,
      "overrideImageLatents",
      `expected a tensor of shape [${latents.shape.join(", ")}]`,
    );
  }
  return assertFinite(replaced ?? latents, { stepIndex: -1, tensor: "imageLatents" });
}
