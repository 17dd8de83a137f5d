import { defineCase } from "../case.ts";

/** img2img on digits-sd from a held-out digit (a "3" never trained on), redrawn as a 3. */
export default defineCase({
  name: "digits-sd-img2img",
  description: "digits-sd: img2img from a held-out digit, DDIM, strength 0.6, 20 steps, guidance 5",
  model: "fixtures/models/digits-sd",
  pipeline: "img2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  strength: 0.6,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 5,
  digit: { label: 3 },
  seed: 28,
});
