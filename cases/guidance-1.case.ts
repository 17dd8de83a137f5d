import { defineCase } from "../case.ts";

/** Guidance 1: one batch, no unconditional half, as diffusers skips CFG at scale <= 1. */
export default defineCase({
  name: "guidance-1",
  description: "DDIM eta 0, 20 steps, guidance 1 (no CFG batch)",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 20,
  prompt: "a photograph of an astronaut riding a horse",
  guidanceScale: 1,
  seed: 8,
});
