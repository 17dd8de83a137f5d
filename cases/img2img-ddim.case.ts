import { defineCase } from "../case.ts";

/** img2img: the input image is VAE-encoded, noised to 60% of the schedule and denoised. */
export default defineCase({
  name: "img2img-ddim",
  description: "img2img with DDIM, strength 0.6, 20 steps",
  model: "fixtures/models/tiny-sd",
  pipeline: "img2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  strength: 0.6,
  image: "fixtures/images/input.png",
  prompt: "a landscape in the style of van gogh",
  guidanceScale: 7.5,
  seed: 6,
});
