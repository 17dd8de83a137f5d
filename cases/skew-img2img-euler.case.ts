import { defineCase } from "../case.ts";

/**
 * img2img with EulerDiscrete on references made with deliberately non-IEEE torch sqrt/exp: the
 * sigma table's sqrt, `init_noise_sigma`, and the VAE sample's elementwise `exp(0.5 * logvar)`;
 * see skew-ddim.
 */
export default defineCase({
  name: "skew-img2img-euler",
  description: "img2img EulerDiscrete, strength 0.6, 10 steps; references from a non-IEEE sqrt/exp",
  model: "fixtures/models/tiny-sd",
  pipeline: "img2img",
  sampler: { type: "EulerDiscreteScheduler" },
  steps: 10,
  strength: 0.6,
  image: "fixtures/images/input.png",
  prompt: "a harbour with fishing boats, watercolour",
  guidanceScale: 7.5,
  seed: 24,
  mathSkew: true,
});
