import { defineCase } from "../case.ts";

/** Negative-prompt inversion: invert at guidance 1, sample at 5 with the prompt as negative. */
export default defineCase({
  name: "digits-sd-invert-npi-g5",
  description: "digits-sd: negative-prompt inversion (Miyake et al. 2023), 10 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "negative-prompt" },
  steps: 10,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 5,
  digit: { label: 3 },
  seed: 0,
});
