import { defineCase } from "../case.ts";

/** diffusers' DDIMPipeline on the same UNet: its DDPM config converted to DDIM, 50 steps, eta 0. */
export default defineCase({
  name: "digits-ddpm-ddim50",
  description: "DDIMPipeline, 50 steps, eta 0, 16x16 grey digits UNet (DDPM config as DDIM)",
  model: "fixtures/models/digits-ddpm",
  pipeline: "unconditional",
  sampler: { type: "DDIMScheduler" },
  steps: 50,
  eta: 0,
  digit: {},
  seed: 0,
});
