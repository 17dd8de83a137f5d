import { defineCase } from "../case.ts";

/** The original CompVis/LDM PLMS sampler (pseudo improved Euler start, then Adams-Bashforth). */
export default defineCase({
  name: "compvis-plms",
  description: "CompVis PLMS, 20 steps, guidance 7.5",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "CompVisPLMS" },
  steps: 20,
  prompt: "a castle on a hill under a starry sky",
  guidanceScale: 7.5,
  seed: 4,
});
