import { defineCase } from "../case.ts";

/** DDIM with eta 0, 20 steps, classifier-free guidance 7.5: the sampler most ports start with. */
export default defineCase({
  name: "ddim-eta0",
  description: "DDIM eta 0, 20 steps, guidance 7.5 with a negative prompt",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  eta: 0,
  prompt: "a photograph of an astronaut riding a horse",
  negativePrompt: "blurry, low quality",
  guidanceScale: 7.5,
  seed: 0,
});
