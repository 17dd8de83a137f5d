/**
 * The initial latents of text2img (StableDiffusionPipeline.prepare_latents) and the latent
 * shape of an image size.
 *
 * @module
 */
import type { Precision } from "../numerics/f16.ts";
import { halfMulScalar } from "../tensor/half_ops.ts";
import { mul } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { PipelineInputError } from "./errors.ts";
import type { NoiseSource } from "./types.ts";

/**
 * `[1, channels, height / f, width / f]`, the latent shape diffusers uses for an image of
 * `height x width` pixels (f = `2 ** (len(vae.config.block_out_channels) - 1)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { latentShape } from "./latents.ts";
 * assert.deepEqual(latentShape(512, 512, 8, 4), [1, 4, 64, 64]);
 * assert.throws(() => latentShape(500, 512, 8, 4), /latentShape: height: expected a positive multiple/);
 * ```
 */
export function latentShape(
  height: number,
  width: number,
  vaeScaleFactor: number,
  channels: number,
): number[] {
  for (const [field, v] of [["vaeScaleFactor", vaeScaleFactor], ["channels", channels]] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new PipelineInputError("latentShape", field, `expected a positive integer, got ${v}`);
    }
  }
  for (const [field, v] of [["height", height], ["width", width]] as const) {
    if (!Number.isInteger(v) || v < vaeScaleFactor || v % vaeScaleFactor !== 0) {
      throw new PipelineInputError(
        "latentShape",
        field,
        `expected a positive multiple of the VAE scale factor ${vaeScaleFactor}, got ${v}`,
      );
    }
  }
  return [1, channels, height / vaeScaleFactor, width / vaeScaleFactor];
}

/**
 * `randn_tensor(shape, generator) * init_noise_sigma` (StableDiffusionPipeline.prepare_latents):
 * one draw from `generator`, then a float32 multiply by the sigma rounded to float32. With
 * `precision` "float16": torch's half draw (`dtype=torch.float16`), times the sigma's float32
 * value, rounded to half (a half tensor times a Python float).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TorchGenerator } from "../tensor/torch_generator.ts";
 * import { prepareLatents } from "./latents.ts";
 * const latents = prepareLatents(new TorchGenerator(0), [1, 4, 8, 8], 1);
 * assert.deepEqual(latents.shape, [1, 4, 8, 8]);
 * // the same seed gives the same draw; sigma 2 doubles it
 * const doubled = prepareLatents(new TorchGenerator(0), [1, 4, 8, 8], 2);
 * assert.equal(doubled.data[0], Math.fround(latents.data[0] * 2));
 * const half = prepareLatents(new TorchGenerator(0), [1, 4, 8, 8], 1, "float16");
 * assert.equal(half.data[0], Math.f16round(latents.data[0])); // whole blocks of 16: rounded
 * ```
 */
export function prepareLatents(
  generator: NoiseSource,
  shape: readonly number[],
  initNoiseSigma: number,
  precision: Precision = "float32",
): Tensor {
  if (!(Number.isFinite(initNoiseSigma) && initNoiseSigma > 0)) {
    throw new PipelineInputError(
      "prepareLatents",
      "initNoiseSigma",
      `expected a positive number (the scheduler's init_noise_sigma), got ${initNoiseSigma}`,
    );
  }
  if (precision === "float16") {
    // randn_tensor(shape, generator=generator, dtype=torch.float16) * init_noise_sigma
    return halfMulScalar(generator.randn(shape, "float16"), initNoiseSigma);
  }
  const noise = generator.randn(shape);
  // latents = latents * self.scheduler.init_noise_sigma
  return mul(noise, initNoiseSigma);
}
