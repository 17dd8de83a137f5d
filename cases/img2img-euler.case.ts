import { defineCase } from "../case.ts";

/** img2img with the sigma-space Euler scheduler: scaled model input, sigma-based noising. */
export default defineCase({
  name: "img2img-euler",
  description: "img2img with EulerDiscrete, strength 0.6, 20 steps",
  model: "fixtures/models/tiny-sd",
  pipeline: "img2img",
  sampler: { type: "EulerDiscreteScheduler" },
  steps: 20,
  strength: 0.6,
  image: "fixtures/images/input.png",
  prompt: "a landscape in the style of van gogh",
  guidanceScale: 7.5,
  seed: 9,
});
