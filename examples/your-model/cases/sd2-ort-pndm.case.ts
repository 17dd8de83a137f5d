import { defineCase } from "../../../case.ts";

/**
 * References made elsewhere: examples/your-model/capture.py runs diffusers'
 * OnnxStableDiffusionPipeline over the export and StableDiffusionPipeline over the diffusers
 * folder, each under the capture helper (fixtures/gen/diffparity_capture.py). No `torchModel`:
 * `deno task refs --cases` leaves these references as they are and only records their sha256.
 */
export default defineCase({
  name: "sd2-ort-pndm",
  description:
    "your model, references captured from your own pipeline code: PNDM (PLMS, the SD default), 12 steps",
  model: "examples/your-model/model/onnx",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler" },
  steps: 12,
  prompt: "a watercolor painting of a lighthouse at dawn",
  negativePrompt: "blurry",
  guidanceScale: 7.5,
  seed: 7,
});
