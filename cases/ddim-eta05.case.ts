import { defineCase } from "../case.ts";

/** DDIM with eta 0.5: every step draws variance noise from the seeded CPU torch generator. */
export default defineCase({
  name: "ddim-eta05",
  description: "DDIM eta 0.5, 20 steps, guidance 7.5; step noise from the torch CPU generator",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  eta: 0.5,
  prompt: "a watercolor painting of a lighthouse at dusk",
  guidanceScale: 7.5,
  seed: 1,
});
