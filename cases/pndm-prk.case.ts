import { defineCase } from "../case.ts";

/** PNDM with its Runge-Kutta (PRK) warm-up, then PLMS. */
export default defineCase({
  name: "pndm-prk",
  description: "PNDM with PRK warm-up (skip_prk_steps false), 20 steps",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler", config: { skip_prk_steps: false } },
  steps: 20,
  prompt: "a red bicycle leaning on a brick wall",
  guidanceScale: 7.5,
  seed: 3,
});
