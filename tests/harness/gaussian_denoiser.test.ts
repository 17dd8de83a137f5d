import assert from "node:assert/strict";
import {
  gaussianDenoiser,
  gaussianSolution,
  sigmaOfTimestep,
} from "../../core/harness/gaussian_denoiser.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
const { alphasCumprod } = DDIMScheduler.fromConfig(SD);
const data = { mean: 0.5, std: 0.5 };

Deno.test("sigmaOfTimestep inverts diffusers' _sigma_to_t: log-linear between integer timesteps", () => {
  const sigma = (i: number) => Math.sqrt((1 - alphasCumprod[i]) / alphasCumprod[i]);
  assert.equal(sigmaOfTimestep(alphasCumprod, 999), sigma(999));
  assert.equal(sigmaOfTimestep(alphasCumprod, 0), sigma(0));
  // _sigma_to_t(s) = low + (log s_low - log s) / (log s_low - log s_high), solved for s at t = 500.25
  const s = sigmaOfTimestep(alphasCumprod, 500.25);
  const t = 500 +
    (Math.log(sigma(500)) - Math.log(s)) / (Math.log(sigma(500)) - Math.log(sigma(501)));
  assert.ok(Math.abs(t - 500.25) < 1e-9);
  assert.equal(sigmaOfTimestep(alphasCumprod, -3), sigma(0));
  assert.equal(sigmaOfTimestep(alphasCumprod, 1200), sigma(999));
});

Deno.test("gaussianSolution is the ODE's solution: a fine RK4 in float64 over the denoiser's field agrees", () => {
  // dx/dsigma = eps(x, sigma) = sigma (x - mean) / (std^2 + sigma^2), integrated numerically
  const s2 = data.std ** 2;
  const f = (x: number, s: number) => s * (x - data.mean) / (s2 + s * s);
  const sMax = sigmaOfTimestep(alphasCumprod, 999);
  const sMin = sigmaOfTimestep(alphasCumprod, 0);
  const xT = new Tensor(new Float32Array([-1.5, 0.25, 2]), [3]);
  const exact = gaussianSolution(data, xT, sMax, sMin);
  const n = 20000;
  for (let i = 0; i < 3; i++) {
    let x = xT.data[i] * Math.sqrt(1 + sMax * sMax);
    // steps uniform in log sigma
    for (let k = 0; k < n; k++) {
      const a = sMax * (sMin / sMax) ** (k / n);
      const b = sMax * (sMin / sMax) ** ((k + 1) / n);
      const h = b - a;
      const k1 = f(x, a), k2 = f(x + h * k1 / 2, a + h / 2), k3 = f(x + h * k2 / 2, a + h / 2);
      const k4 = f(x + h * k3, b);
      x += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6;
    }
    assert.ok(Math.abs(x / Math.sqrt(1 + sMin * sMin) - exact.data[i]) < 1e-6);
  }
});

Deno.test("gaussianDenoiser answers the scaled model input at the timestep's sigma, any batch", async () => {
  const den = gaussianDenoiser(data, alphasCumprod);
  const t = 321.5;
  const s = sigmaOfTimestep(alphasCumprod, t);
  const xSigma = [0.1, -2, 3.5, 0.5];
  const input = new Tensor(Float32Array.from(xSigma, (v) => v / Math.sqrt(1 + s * s)), [2, 2]);
  const eps = await den(input, t);
  assert.deepEqual(eps.shape, [2, 2]);
  xSigma.forEach((x, i) => {
    const want = s * (x - data.mean) / (data.std ** 2 + s * s);
    assert.ok(Math.abs(eps.data[i] - want) < 1e-6 * Math.max(1, Math.abs(want)), `${i}`);
  });
});
