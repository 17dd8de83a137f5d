import { defineCase } from "../case.ts";

/** EDICT as diffusers' community EDICTPipeline runs it (float32, VAE sample, p 0.93). */
export default defineCase({
  name: "digits-sd-invert-edict",
  description: "digits-sd: EDICT round trip (community EDICTPipeline), p 0.93, 6 steps, guidance 3",
  model: "fixtures/models/digits-sd",
  pipeline: "inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "edict", mixing: 0.93, latent: "sample" },
  steps: 6,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 3,
  digit: { label: 3 },
  seed: 0,
});
