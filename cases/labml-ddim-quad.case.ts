import { defineCase } from "../case.ts";

/** labml's DDIM sampler with quadratic time discretisation. */
export default defineCase({
  name: "labml-ddim-quad",
  description: "labml DDIM, quad discretisation, 20 steps, eta 0",
  model: "fixtures/models/tiny-sd",
  pipeline: "text2img",
  sampler: { type: "LabmlDDIM", discretize: "quad" },
  steps: 20,
  prompt: "a bowl of ramen, studio lighting",
  guidanceScale: 7.5,
  seed: 5,
});
