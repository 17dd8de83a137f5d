import { defineCase } from "../case.ts";

/** img2img on the second model (v-prediction, 6 latent channels): only paths differ. */
export default defineCase({
  name: "v-img2img-ddim",
  description: "img2img with DDIM on tiny-sd-v, strength 0.6, 20 steps",
  model: "fixtures/models/tiny-sd-v",
  pipeline: "img2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  strength: 0.6,
  image: "fixtures/images/input-tiny-sd-v.png",
  prompt: "a landscape in the style of van gogh",
  guidanceScale: 7.5,
  seed: 6,
});
