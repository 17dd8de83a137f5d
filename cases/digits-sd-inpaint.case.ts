import { defineCase } from "../case.ts";

/**
 * Legacy inpaint on digits-sd: the right half of a held-out "3" repainted (re-noised each step).
 */
export default defineCase({
  name: "digits-sd-inpaint",
  description:
    "digits-sd: inpaint the right half of a held-out digit, DDIM, strength 0.75, 20 steps",
  model: "fixtures/models/digits-sd",
  pipeline: "inpaint",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  strength: 0.75,
  image: "fixtures/images/digit-heldout.png",
  mask: "fixtures/images/mask-digit-half.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 5,
  digit: { label: 3 },
  seed: 29,
});
