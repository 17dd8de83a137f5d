import { defineCase } from "../../../case.ts";

/**
 * A user's own model: an SD 2.1-shaped pipeline (v-prediction, linear projections, "!" padding)
 * that diffparity did not build. Its references are made from the diffusers folder by
 * `deno task refs --cases examples/your-model/cases` and live beside this file, in refs/.
 */
export default defineCase({
  name: "sd2-ddim",
  description: "your model: DDIM from its own scheduler_config.json, 10 steps, guidance 7.5",
  model: "examples/your-model/model/onnx",
  torchModel: "examples/your-model/model/diffusers",
  pipeline: "text2img",
  sampler: { type: "DDIMScheduler" },
  steps: 10,
  prompt: "a watercolor painting of a lighthouse at dawn",
  negativePrompt: "blurry",
  guidanceScale: 7.5,
  seed: 42,
});
