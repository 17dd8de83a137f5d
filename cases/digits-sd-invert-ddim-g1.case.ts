import { defineCase } from "../case.ts";

/** diffusers' DDIM inversion of a held-out digit without guidance, then DDIM back. */
export default defineCase({
  name: "digits-sd-invert-ddim-g1",
  description:
    "digits-sd: DDIM inversion round trip (Pix2PixZero's invert, then DDIM), 10 steps, guidance 1",
  model: "fixtures/models/digits-sd",
  pipeline: "inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "ddim" },
  steps: 10,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 1,
  digit: { label: 3 },
  seed: 0,
});
