import { defineCase } from "../case.ts";

/**
 * Inpainting by re-noising the original under the mask each step (diffusers' legacy method).
 *
 * The VAE sample `mean + exp(0.5 * logvar) * noise` uses torch's float32 exp, which on x86 goes
 * through MKL and is not correctly rounded (99 of the reference's 2048 exp results are 1 ulp
 * off); re-noising the original at every step carries that into the final latents: 1.05e-5 with
 * IEEE exp. With the reference's recorded exp the free run is exact, so the default tolerance
 * holds (the verdict shows the IEEE figure beside it).
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
});
