import { defineCase } from "../case.ts";

/** DDIM eta 0 on the trained digits-sd model, 20 steps, classifier-free guidance 5. */
export default defineCase({
  name: "digits-sd-ddim-g5",
  description: "digits-sd: DDIM eta 0, 20 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  eta: 0,
  prompt: "a handwritten digit 7",
  guidanceScale: 5,
  digit: { label: 7 },
  seed: 20,
});
