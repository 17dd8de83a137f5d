import { defineCase } from "../case.ts";

/** PNDM (PLMS) on references made with deliberately non-IEEE torch sqrt; see skew-ddim. */
export default defineCase({
  name: "skew-pndm",
  description: "PNDM skip_prk_steps, 10 steps; references from a non-IEEE sqrt",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler", config: { skip_prk_steps: true } },
  steps: 10,
  prompt: "a snowy mountain village at night",
  guidanceScale: 7.5,
  seed: 23,
  mathSkew: true,
});
