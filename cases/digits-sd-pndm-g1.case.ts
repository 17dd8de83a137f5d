import { defineCase } from "../case.ts";

/**
 * PNDM skip_prk_steps (digits-sd's own scheduler, SD 1.5's config) on the trained digits-sd model,
 * 20 steps, guidance 1 (one batch, no unconditional half).
 */
export default defineCase({
  name: "digits-sd-pndm-g1",
  description: "digits-sd: PNDM (PLMS, the model's own scheduler), 20 steps, guidance 1",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler" },
  steps: 20,
  prompt: "a handwritten digit 8",
  guidanceScale: 1,
  digit: { label: 8 },
  seed: 25,
});
