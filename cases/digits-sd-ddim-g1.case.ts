import { defineCase } from "../case.ts";

/**
 * DDIM eta 0 on the trained digits-sd model, 20 steps, guidance 1 (one batch, no unconditional
 * half).
 */
export default defineCase({
  name: "digits-sd-ddim-g1",
  description: "digits-sd: DDIM eta 0, 20 steps, guidance 1",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  eta: 0,
  prompt: "a handwritten digit 2",
  guidanceScale: 1,
  digit: { label: 2 },
  seed: 21,
});
