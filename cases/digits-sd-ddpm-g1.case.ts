import { defineCase } from "../case.ts";

/**
 * DDPM ancestral sampling (noise from the case's generator) on the trained digits-sd model, 20
 * steps, guidance 1 (one batch, no unconditional half).
 */
export default defineCase({
  name: "digits-sd-ddpm-g1",
  description: "digits-sd: DDPM, 20 steps, guidance 1",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "DDPMScheduler" },
  steps: 20,
  prompt: "a handwritten digit 9",
  guidanceScale: 1,
  digit: { label: 9 },
  seed: 23,
});
