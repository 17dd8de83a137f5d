import { defineCase } from "../case.ts";

/** PNDM with skip_prk_steps: the PLMS sampler diffusers' Stable Diffusion configs use. */
export default defineCase({
  name: "pndm-plms",
  description: "PNDM skip_prk_steps (PLMS), 20 steps",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler", config: { skip_prk_steps: true } },
  steps: 20,
  prompt: "a red bicycle leaning on a brick wall",
  guidanceScale: 7.5,
  seed: 3,
});
