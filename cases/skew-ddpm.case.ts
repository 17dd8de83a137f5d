import { defineCase } from "../case.ts";

/**
 * DDPM with `fixed_small_log` (torch.log, then torch.exp, every step) on references made with
 * deliberately non-IEEE torch sqrt/exp/log (fixtures/gen/ref_math.py); see skew-ddim.
 */
export default defineCase({
  name: "skew-ddpm",
  description: "DDPM fixed_small_log, 10 steps; references from a non-IEEE sqrt/exp/log",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDPMScheduler", config: { variance_type: "fixed_small_log" } },
  steps: 10,
  prompt: "a bowl of ripe pears on a wooden table",
  guidanceScale: 7.5,
  seed: 22,
  mathSkew: true,
});
