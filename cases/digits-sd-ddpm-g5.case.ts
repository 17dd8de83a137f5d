import { defineCase } from "../case.ts";

/**
 * DDPM ancestral sampling (noise from the case's generator) on the trained digits-sd model, 20
 * steps, classifier-free guidance 5.
 */
export default defineCase({
  name: "digits-sd-ddpm-g5",
  description: "digits-sd: DDPM, 20 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "DDPMScheduler" },
  steps: 20,
  prompt: "a handwritten digit 4",
  guidanceScale: 5,
  digit: { label: 4 },
  seed: 22,
});
