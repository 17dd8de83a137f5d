import { defineCase } from "../case.ts";

/**
 * The float16 sampler mode: PNDM's PLMS steps (the Stable Diffusion / optimum default) with the
 * float16 UNet export, the whole loop in half as optimum's ORTStableDiffusionPipeline runs a
 * `--dtype fp16` export. The references are diffusers' StableDiffusionPipeline with float16
 * prompt embeddings (fixtures/gen/cases_fp16.py): on the ONNX files every step, F16 tensors; the
 * torch one is the PyTorch pipeline cast to float16 (CPU half kernels, final latents and image
 * only), whose UNet kernels differ from onnxruntime's float16 ones: the dumper measured 0.125 max
 * |d| on final latents reaching about 53 (a few half ulps there), relative L2 1.8e-3, so that
 * comparison is bounded by relative L2 and cosine instead. Run in float32 mode, the same case
 * ends far from its reference (tests/harness/runner.test.ts prints the figure).
 */
export default defineCase({
  name: "fp16-sampler",
  description: "PNDM skip_prk_steps (PLMS), 20 steps, float16 UNet, sampler in float16",
  model: "fixtures/models/tiny-sd",
  unet: "fixtures/models/tiny-sd-unet-fp16/model.onnx",
  pipeline: "text2img",
  sampler: { type: "PNDMScheduler", config: { skip_prk_steps: true } },
  precision: "float16",
  steps: 20,
  prompt: "a photograph of an astronaut riding a horse",
  negativePrompt: "blurry, low quality",
  guidanceScale: 7.5,
  seed: 0,
  tolerances: {
    // float16 ONNX UNet vs float16 PyTorch UNet: kernel differences in half, not a sampler bug.
    freeRunTorch: { maxAbs: null, relL2: 5e-3, cosineMin: 0.9999 },
  },
});
