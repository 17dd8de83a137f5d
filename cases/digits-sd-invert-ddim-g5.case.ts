import { defineCase } from "../case.ts";

/** diffusers' DDIM inversion with guidance 5 both ways: the round trip drifts. */
export default defineCase({
  name: "digits-sd-invert-ddim-g5",
  description: "digits-sd: DDIM inversion round trip, 10 steps, guidance 5 both ways",
  model: "fixtures/models/digits-sd",
  pipeline: "inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "ddim" },
  steps: 10,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 5,
  digit: { label: 3 },
  seed: 0,
});
