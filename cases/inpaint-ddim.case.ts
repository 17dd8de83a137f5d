import { defineCase } from "../mod.ts";

/**
 * Inpainting by re-noising the original under the mask each step (diffusers' legacy method).
 *
 * Free-run tolerance against diffusers + onnxruntime: 2e-5 instead of the default 1e-5. The
 * VAE sample `mean + exp(0.5 * logvar) * noise` uses torch's float32 exp, which on x86 goes
 * through MKL and is not correctly rounded (1 ulp off on about 4.6% of inputs; ours is), so the
 * image latents differ by up to 6e-8 (the report's "image latents" row); re-noising the
 * original at every step carries that into the final latents: measured 1.19e-5. Given the
 * reference image latents, the scheduler replay is 0 ulp and the model replay 0.
 */
export default defineCase({
  name: "inpaint-ddim",
  description: "legacy inpaint with DDIM, strength 0.75, 20 steps",
  model: "fixtures/models/tiny-sd",
  pipeline: "inpaint",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  strength: 0.75,
  image: "fixtures/images/input.png",
  mask: "fixtures/images/mask.png",
  prompt: "a wooden bench in a park",
  guidanceScale: 7.5,
  seed: 7,
  tolerances: { freeRunOnnx: { maxAbs: 2e-5 } },
});
