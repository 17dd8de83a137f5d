import { defineCase } from "../case.ts";

/**
 * The DDIM inversion walkthrough's hand-written invert / sample loop, as written, sampling back
 * from part-way as the walkthrough does: `sample(start_latents=inverted[-(start_step + 1)],
 * start_step=2)`.
 */
export default defineCase({
  name: "digits-sd-invert-tutorial",
  description:
    "digits-sd: the DDIM inversion tutorial's loop (diffusion-models-class unit 4), 10 steps, guidance 3.5, start step 2",
  model: "fixtures/models/digits-sd",
  pipeline: "inversion",
  sampler: { type: "DDIMScheduler" },
  inversion: { method: "tutorial" },
  steps: 10,
  image: "fixtures/images/digit-heldout.png",
  prompt: "a handwritten digit 3",
  guidanceScale: 3.5,
  startStep: 2,
  digit: { label: 3 },
  seed: 0,
});
