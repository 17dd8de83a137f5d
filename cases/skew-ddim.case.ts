import { defineCase } from "../case.ts";

/**
 * References made with deliberately non-IEEE torch sqrt/exp/log (fixtures/gen/ref_math.py), as
 * on a machine whose float32 math is not correctly rounded: the recorded math makes the replay
 * and the free run exact, and the IEEE figure shows what that machine's math accounts for.
 */
export default defineCase({
  name: "skew-ddim",
  description: "DDIM eta 0, 10 steps; references from a non-IEEE sqrt (recorded math)",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 10,
  eta: 0,
  prompt: "a lighthouse on a rocky coast at dusk",
  guidanceScale: 7.5,
  seed: 21,
  mathSkew: true,
});
