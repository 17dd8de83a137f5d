import { defineCase } from "../case.ts";

/**
 * The ddim-eta0 experiment on the second model (SD 2.x-shaped: v-prediction, trailing spacing,
 * zero terminal SNR, 6 latent channels, VAE factor 4): only the model path differs.
 */
export default defineCase({
  name: "v-ddim-eta0",
  description: "DDIM eta 0 on tiny-sd-v (v_prediction, trailing, zero SNR), guidance 7.5",
  model: "fixtures/models/tiny-sd-v",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  eta: 0,
  prompt: "a photograph of an astronaut riding a horse",
  negativePrompt: "blurry, low quality",
  guidanceScale: 7.5,
  seed: 0,
});
