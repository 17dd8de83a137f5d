import { defineCase } from "../case.ts";

/** Euler on the trained digits-sd model, 20 steps, classifier-free guidance 5. */
export default defineCase({
  name: "digits-sd-euler-g5",
  description: "digits-sd: Euler, 20 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "EulerDiscreteScheduler" },
  steps: 20,
  prompt: "a handwritten digit 6",
  guidanceScale: 5,
  digit: { label: 6 },
  seed: 26,
});
