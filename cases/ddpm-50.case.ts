import { defineCase } from "../case.ts";

/** DDPM ancestral sampling, 50 steps, fixed_small variance. */
export default defineCase({
  name: "ddpm-50",
  description: "DDPM, 50 steps, fixed_small variance, guidance 7.5",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDPMScheduler", config: { variance_type: "fixed_small" } },
  steps: 50,
  prompt: "an oil painting of a fox in the snow",
  guidanceScale: 7.5,
  seed: 2,
});
