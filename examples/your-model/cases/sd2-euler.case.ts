import { defineCase } from "../../../case.ts";

/** Your model with another sampler than its own: Euler over the same scheduler config. */
export default defineCase({
  name: "sd2-euler",
  description: "your model: Euler (v-prediction from its config), 10 steps, guidance 5",
  model: "examples/your-model/model/onnx",
  torchModel: "examples/your-model/model/diffusers",
  pipeline: "text2img",
  sampler: { type: "EulerDiscreteScheduler" },
  steps: 10,
  prompt: "the digit seven, handwritten",
  guidanceScale: 5,
  seed: 1,
});
