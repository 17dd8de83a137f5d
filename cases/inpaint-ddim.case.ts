import { defineCase } from "../mod.ts";

/** Inpainting by re-noising the original under the mask each step (diffusers' legacy method). */
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
