import { defineCase } from "../case.ts";

/**
 * PNDM skip_prk_steps (digits-sd's own scheduler, SD 1.5's config) on the trained digits-sd model,
 * 20 steps, classifier-free guidance 5.
 */
export default defineCase({
  name: "digits-sd-pndm-g5",
  description: "digits-sd: PNDM (PLMS, the model's own scheduler), 20 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler" },
  steps: 20,
  prompt: "a handwritten digit 5",
  guidanceScale: 5,
  digit: { label: 5 },
  seed: 24,
});
