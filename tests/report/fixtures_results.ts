// A hand-built VerifyResult for the report tests (not produced by the code under test).
import type { VerifyResult } from "../../core/results/schema.ts";

export function sampleResult(): VerifyResult {
  const figures = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
  return {
    format: "diffparity-results/2",
    versions: { deno: "2.9.6", "onnxruntime-node": "1.30.0" },
    requestedProvider: "cpu",
    passed: 1,
    failed: 2,
    cases: [
      {
        name: "ddim-eta0",
        description: "DDIM <eta 0>",
        pipeline: "text2img",
        sampler: "DDIMScheduler",
        model: "fixtures/models/tiny-sd",
        provider: "cpu",
        status: "pass",
        comparisons: [{
          kind: "freeRunOnnx",
          reference: "fixtures/refs/cases/ddim-eta0.onnx.safetensors",
          subject: "final latents",
          tolerance: { maxAbs: 1e-5 },
          pass: true,
          worst: { ...figures, step: 19 },
          perStep: [{ step: 0, t: 951, ...figures }, { step: 1, t: 901, ...figures, maxAbs: 1e-7 }],
          failures: [],
        }],
        timing: {
          totalMs: 100,
          loadMs: 10,
          modelCalls: 20,
          unetMsTotal: 60,
          unetMsMean: 3,
          schedulerMsTotal: 2,
          decodeMs: 5,
        },
        latentsSha256: "ab".repeat(32),
      },
      {
        name: "ddpm-50",
        description: "DDPM",
        pipeline: "text2img",
        sampler: "DDPMScheduler",
        model: "fixtures/models/tiny-sd",
        provider: "cpu",
        status: "fail",
        comparisons: [{
          kind: "replayScheduler",
          reference: "fixtures/refs/cases/ddpm-50.onnx.safetensors",
          subject: "prevSample per step",
          tolerance: { maxUlp: 1 },
          pass: false,
          worst: { ...figures, maxUlp: 7, step: 3 },
          perStep: [],
          failures: ["maxUlp 7 > 1 (7x) at step 3 (t=921)"],
        }],
        timing: null,
        latentsSha256: null,
      },
      {
        name: "broken",
        description: "renamed input",
        pipeline: "text2img",
        sampler: "DDIMScheduler",
        model: "m",
        provider: "cpu",
        status: "error",
        error: "m/unet/model.onnx: input 'encoder_hidden_states' missing",
        comparisons: [],
        timing: null,
        latentsSha256: null,
      },
    ],
  };
}
