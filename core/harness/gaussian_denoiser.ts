/**
 * A model whose probability-flow ODE is solved in closed form: data drawn element-wise from
 * N(mean, std^2). Its ideal noise prediction at noise level sigma (x_sigma = x0 + sigma * eps, the
 * variance-exploding form of the latents) is `E[eps | x] = sigma (x_sigma - mean) / (std^2 +
 * sigma^2)`, so the ODE `dx/dsigma = eps` has the solution `x(sigma) = mean + (x(sigma0) - mean) *
 * sqrt(std^2 + sigma^2) / sqrt(std^2 + sigma0^2)`, and the ideal denoiser is `D(x; sigma) = mean +
 * std^2 / (std^2 + sigma^2) (x - mean)` (Karras et al. 2022, "Elucidating the Design Space of
 * Diffusion-Based Generative Models", the ODE of eq. 1 with D of a Gaussian). The sampler study
 * measures orders against it where a trained model's ODE is not smooth enough to.
 *
 * The denoiser is called as a UNet is: with the scheduler's scaled model input, the
 * variance-preserving latents `x_sigma / sqrt(1 + sigma^2)`, and a timestep t, whose sigma it takes
 * from the training schedule as diffusers' `_sigma_to_t` maps them (log-linear between integers).
 *
 * @module
 */
import type { Denoiser } from "../schedulers/types.ts";
import { Tensor } from "../tensor/tensor.ts";

/**
 * Gaussian data: per element mean and standard deviation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GaussianData } from "./gaussian_denoiser.ts";
 * const g: GaussianData = { mean: 0.5, std: 0.25 };
 * assert.equal(g.std, 0.25);
 * ```
 */
export interface GaussianData {
  /** The mean of every element. */
  mean: number;
  /** Their standard deviation (> 0). */
  std: number;
}

/**
 * The sigma of a (possibly fractional) timestep: `sqrt((1 - a) / a)` of `alphasCumprod` at an
 * integer, log-linear in between (the inverse of diffusers' `_sigma_to_t`), clamped to the table.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sigmaOfTimestep } from "./gaussian_denoiser.ts";
 * const a = new Float32Array([0.75, 0.5]); // sigmas sqrt(1/3), 1
 * assert.ok(Math.abs(sigmaOfTimestep(a, 0) - Math.sqrt(1 / 3)) < 1e-7);
 * assert.ok(Math.abs(sigmaOfTimestep(a, 0.5) - Math.exp(0.5 * Math.log(Math.sqrt(1 / 3)))) < 1e-7);
 * assert.equal(sigmaOfTimestep(a, 7), 1);
 * ```
 */
export function sigmaOfTimestep(alphasCumprod: Float32Array, t: number): number {
  const sigma = (i: number) => Math.sqrt((1 - alphasCumprod[i]) / alphasCumprod[i]);
  const last = alphasCumprod.length - 1;
  if (t <= 0) return sigma(0);
  if (t >= last) return sigma(last);
  const low = Math.floor(t);
  const w = t - low;
  if (w === 0) return sigma(low);
  return Math.exp((1 - w) * Math.log(sigma(low)) + w * Math.log(sigma(low + 1)));
}

/**
 * The ideal noise prediction of Gaussian data as a denoiser `(x_vp, t) => eps` (float64 inside,
 * float32 out), for any batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianDenoiser } from "./gaussian_denoiser.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const a = new Float32Array([0.5]); // sigma 1 at t = 0
 * const eps = await gaussianDenoiser({ mean: 0, std: 1 }, a)(new Tensor(new Float32Array([Math.SQRT1_2]), [1]), 0);
 * // x_sigma = sqrt(2) * x_vp = 1, so eps = 1 * (1 - 0) / (1 + 1)
 * assert.ok(Math.abs(eps.data[0] - 0.5) < 1e-7);
 * ```
 */
export function gaussianDenoiser(data: GaussianData, alphasCumprod: Float32Array): Denoiser {
  const s2 = data.std * data.std;
  return (x, t) => {
    const sigma = sigmaOfTimestep(alphasCumprod, t);
    const scale = Math.sqrt(1 + sigma * sigma);
    const k = sigma / (s2 + sigma * sigma);
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = k * (x.data[i] * scale - data.mean);
    return Promise.resolve(new Tensor(out, x.shape));
  };
}

/**
 * The exact variance-preserving latents at `sigmaMin` from variance-preserving latents `xT` at
 * `sigmaMax`: `x(sigmaMin) / sqrt(1 + sigmaMin^2)` with `x(sigmaMax) = xT * sqrt(1 + sigmaMax^2)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gaussianSolution } from "./gaussian_denoiser.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const xT = new Tensor(new Float32Array([1]), [1]);
 * // x_sigma(3) = sqrt(10); x(0) = sqrt(10) * sqrt(1) / sqrt(10) = 1
 * assert.ok(Math.abs(gaussianSolution({ mean: 0, std: 1 }, xT, 3, 0).data[0] - 1) < 1e-7);
 * ```
 */
export function gaussianSolution(
  data: GaussianData,
  xT: Tensor,
  sigmaMax: number,
  sigmaMin: number,
): Tensor {
  const s2 = data.std * data.std;
  const ratio = Math.sqrt(s2 + sigmaMin * sigmaMin) / Math.sqrt(s2 + sigmaMax * sigmaMax);
  const out = new Float32Array(xT.data.length);
  for (let i = 0; i < out.length; i++) {
    const atMax = xT.data[i] * Math.sqrt(1 + sigmaMax * sigmaMax);
    out[i] = (data.mean + (atMax - data.mean) * ratio) / Math.sqrt(1 + sigmaMin * sigmaMin);
  }
  return new Tensor(out, xT.shape);
}
