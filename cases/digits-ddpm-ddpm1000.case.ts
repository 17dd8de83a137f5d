import { defineCase } from "../case.ts";

/** diffusers' DDPMPipeline on a pixel-space UNet: 1000 ancestral steps, noise from the generator. */
export default defineCase({
  name: "digits-ddpm-ddpm1000",
  description: "DDPMPipeline, 1000 steps, 16x16 grey digits UNet; step noise from the generator",
  model: "fixtures/models/digits-ddpm",
  pipeline: "unconditional",
  sampler: { type: "DDPMScheduler" },
  steps: 1000,
  digit: {},
  seed: 0,
});
