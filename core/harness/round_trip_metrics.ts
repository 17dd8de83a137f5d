/**
 * The figures of an inversion round trip (docs/inversion.md): latent error between z0 and the
 * reconstruction, pixel MSE and PSNR on [-1, 1] with data range 2 (EDICT's table's convention)
 * against the original and against the VAE-only reconstruction D(E(x)) (the ceiling no
 * encode/decode method can beat), SSIM, model evaluations and time.
 *
 * @module
 */
import type { VaeDecoderModel } from "../models/types.ts";
import type { PipelineResult } from "../pipelines/types.ts";
import { decodeLatents } from "../pipelines/vae.ts";
import type { RoundTripFigures } from "../results/schema.ts";
import { clamp } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { psnrFromMse, ssim } from "./image_metrics.ts";
import { maxAbsDiff, rmse } from "./metrics.ts";

/** Mean squared difference (metrics.ts' RMSE, squared), for tensors of one shape. */
function mse(a: Tensor, b: Tensor): number {
  if (!a.sameShape(b)) {
    throw new RangeError(
      `roundTripFigures: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] differ`,
    );
  }
  return rmse(a, b) ** 2;
}

/** [1, C, H, W] -> [C, H, W] for SSIM, values clamped to [-1, 1]. */
const picture = (t: Tensor) => clamp(t, -1, 1).reshape(t.shape.slice(1));

/**
 * PSNR of `image` against `reference` as the protocol measures it: both clamped to [-1, 1], data
 * range 2 (the convention of EDICT's table).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pixelPsnr } from "./round_trip_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const a = new Tensor(new Float32Array([0, 0.5, 1.5, -1]), [1, 1, 2, 2]);
 * const b = new Tensor(new Float32Array([0.1, 0.5, 1, -1]), [1, 1, 2, 2]);
 * assert.ok(Math.abs(pixelPsnr(a, b) - 10 * Math.log10(4 / (0.01 / 4))) < 1e-5); // 1.5 counts as 1
 * assert.equal(pixelPsnr(a, a), Infinity);
 * ```
 */
export function pixelPsnr(image: Tensor, reference: Tensor): number {
  return psnrFromMse(mse(picture(image), picture(reference)), 2);
}

/**
 * What one round trip gives to {@link roundTripFigures}. Images are [1, C, H, W] in [-1, 1]
 * (decoder outputs are clamped to it first, as the postprocessing does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RoundTripInputs } from "./round_trip_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = Tensor.zeros([1, 1, 16, 16]);
 * const r: RoundTripInputs = { z0: x, reconstruction: x, original: x, decoded: x, ceiling: x, nfe: 20, ms: 5 };
 * assert.equal(r.nfe, 20);
 * ```
 */
export interface RoundTripInputs {
  /** The latents the inversion started from. */
  z0: Tensor;
  /** The latents the sampling pass ended on. */
  reconstruction: Tensor;
  /** The original image. */
  original: Tensor;
  /** The reconstruction decoded (a pixel-space model: the reconstruction itself). */
  decoded: Tensor;
  /** D(E(x)): z0 decoded (a pixel-space model: the original). */
  ceiling: Tensor;
  /** Model evaluations, the classifier-free guidance batch counted as one. */
  nfe: number;
  /** Wall time of both passes, milliseconds. */
  ms: number;
}

/**
 * The round trip's figures.
 *
 * @throws {RangeError} when shapes differ or the images are smaller than SSIM's 11x11 window.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roundTripFigures } from "./round_trip_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = new Tensor(new Float32Array(256).map((_, i) => 0.5 * Math.sin(i)), [1, 1, 16, 16]);
 * const y = new Tensor(x.data.map((v) => v + 0.1), x.shape);
 * const f = roundTripFigures({ z0: x, reconstruction: y, original: x, decoded: y, ceiling: x, nfe: 20, ms: 1 });
 * assert.ok(Math.abs(f.latentMse - 0.01) < 1e-7);
 * assert.ok(Math.abs(f.psnr - 10 * Math.log10(4 / 0.01)) < 1e-4); // data range 2
 * assert.equal(f.ceilingPsnr, Infinity);
 * ```
 */
export function roundTripFigures(r: RoundTripInputs): RoundTripFigures {
  const [decoded, original, ceiling] = [r.decoded, r.original, r.ceiling].map(picture);
  const pixelMse = mse(decoded, original);
  const ceilingMse = mse(ceiling, original);
  return {
    latentMse: mse(r.reconstruction, r.z0),
    latentMaxAbs: maxAbsDiff(r.reconstruction, r.z0),
    pixelMse,
    psnr: psnrFromMse(pixelMse, 2),
    ssim: ssim(decoded, original, { dataRange: 2 }),
    ceilingPsnr: psnrFromMse(ceilingMse, 2),
    psnrVsCeiling: psnrFromMse(mse(decoded, ceiling), 2),
    nfe: r.nfe,
    ms: r.ms,
  };
}

/**
 * The round-trip figures of an inversion case's free run (undefined for other kinds): the
 * ceiling D(E(x)) is the model's decoder on the run's z0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { caseRoundTrip } from "./round_trip_metrics.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = Tensor.zeros([1, 1, 16, 16]);
 * const result = { latents: x, initLatents: x, image: x, timesteps: [1, 1], inversionCalls: 1,
 *   timing: { encodePromptMs: 0, encodeImageMs: 0, loopMs: 3, modelMs: 2, decodeMs: 0 } };
 * const f = await caseRoundTrip({ image: x, model: {}, scalingFactor: undefined }, result);
 * assert.deepEqual([f?.nfe, f?.latentMse, f?.psnr], [2, 0, Infinity]);
 * assert.equal(await caseRoundTrip({ image: x, model: {}, scalingFactor: undefined }, { ...result, inversionCalls: undefined }), undefined);
 * ```
 */
export async function caseRoundTrip(
  inputs: { image?: Tensor; model: { vaeDecoder?: VaeDecoderModel }; scalingFactor?: number },
  result: PipelineResult & { inversionCalls?: number },
): Promise<RoundTripFigures | undefined> {
  if (result.inversionCalls === undefined || !inputs.image || !result.image) return undefined;
  const decoder = inputs.model.vaeDecoder;
  const pixel = result.imageLatents === undefined;
  const ceiling = pixel || !decoder || inputs.scalingFactor === undefined
    ? inputs.image
    : await decodeLatents(decoder, result.initLatents, inputs.scalingFactor);
  return roundTripFigures({
    z0: result.initLatents,
    reconstruction: result.latents,
    original: inputs.image,
    decoded: result.image,
    ceiling,
    nfe: result.timesteps.length,
    ms: result.timing.loopMs,
  });
}
