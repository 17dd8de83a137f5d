import { defineCase } from "../case.ts";

/** Pixel-space DDIM inversion on digits-ddpm: no VAE, no text. */
export default defineCase({
  name: "digits-ddpm-invert-ddim",
  description: "digits-ddpm: pixel-space DDIM inversion round trip, 10 steps",
  model: "fixtures/models/digits-ddpm",
  pipeline: "pixel-inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "ddim" },
  steps: 10,
  image: "fixtures/images/digit-heldout-16.png",
  digit: { label: 3 },
  seed: 0,
});
