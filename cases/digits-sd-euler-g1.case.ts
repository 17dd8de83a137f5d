import { defineCase } from "../case.ts";

/**
 * Euler on the trained digits-sd model, 20 steps, guidance 1 (one batch, no unconditional half).
 */
export default defineCase({
  name: "digits-sd-euler-g1",
  description: "digits-sd: Euler, 20 steps, guidance 1",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "EulerDiscreteScheduler" },
  steps: 20,
  prompt: "a handwritten digit 1",
  guidanceScale: 1,
  digit: { label: 1 },
  seed: 27,
});
