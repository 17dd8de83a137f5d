// The WebGPU execution provider on a real adapter: in CI, Mesa's lavapipe (the software Vulkan
// driver that .ci/install-lavapipe.sh installs), so the WebGPU code path runs on any machine.
//
// Inputs are the model_io references (fixtures/gen/dump_model_io.py); every output is compared
// with the CPU provider's output for the same input, computed here (the CPU provider equals Python
// onnxruntime bit for bit, see load_model_folder.test.ts). WebGPU kernels are not the CPU's
// (other summation orders, fused ops, float16 arithmetic for float16 models), so the outputs
// differ; each bound below is 2.4x to 3x the difference measured on lavapipe (Mesa 25.0.7,
// LLVM 15, onnxruntime-node 1.30.0, x86-64), which is the same run after run, with any
// LP_NUM_THREADS and with LP_NATIVE_VECTOR_WIDTH 128 or 256.
//
// Without an adapter these tests are ignored (with the reason printed), except in CI (CI=true),
// where the first test fails instead: .ci/run installs lavapipe first.
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { maxAbsDiff, relativeL2 } from "../../core/harness/metrics.ts";
import { ProviderUnavailableError } from "../../core/models/execution_provider.ts";
import { type LoadedModel, loadModelFolder } from "../../core/models/load_model_folder.ts";
import { OnnxSession } from "../../core/models/onnx_session.ts";
import { timestepShape } from "../../core/models/onnx_unet.ts";
import { fromOrtFloat, numbersToOrt, toOrtFloat } from "../../core/models/ort_tensor.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import type { Tensor } from "../../core/tensor/tensor.ts";

const PROBE_GRAPH = "fixtures/models-test/vae_decoder.onnx";

type Component = "text_encoder" | "unet" | "vae_encoder" | "vae_decoder";

/** Whether a WebGPU session can be created here, and if not, onnxruntime's reason. */
async function webgpuAdapter(): Promise<string | undefined> {
  try {
    const s = await OnnxSession.create(PROBE_GRAPH, { executionProvider: "webgpu" });
    await s.release();
    return undefined;
  } catch (e) {
    if (e instanceof ProviderUnavailableError) return e.reason;
    throw e;
  }
}

const unavailable = await webgpuAdapter();
const inCi = Deno.env.get("CI") === "true";
if (unavailable !== undefined && !inCi) {
  console.log(
    `tests/models/webgpu.test.ts: WebGPU tests ignored, no adapter: ${unavailable}. ` +
      "Run .ci/install-lavapipe.sh (Debian 12) for a software one; with CI=true this fails.",
  );
}
/** The model tests need an adapter; without one only the test below reports (and in CI fails). */
const ignore = unavailable !== undefined;

Deno.test({
  name: "a WebGPU adapter is available (required when CI=true)",
  ignore: ignore && !inCi,
  fn() {
    assert.equal(
      unavailable,
      undefined,
      `CI=true but WebGPU cannot run: ${unavailable}; .ci/run installs lavapipe with ` +
        ".ci/install-lavapipe.sh, and it must have failed",
    );
  },
});

/** Operators that only compute shapes here; onnxruntime keeps them on CPU by design. */
const SHAPE_OPS = new Set([
  "Shape",
  "Gather",
  "Unsqueeze",
  "Concat",
  "Slice",
  "Reshape",
  "Cast",
  "Equal",
  "Where",
  "Range",
  "Add",
  "Mul",
  "Div",
]);

/** The heavy operators, which must all run on WebGPU. */
const COMPUTE_OPS = [
  "Conv",
  "MatMul",
  "Gemm",
  "Softmax",
  "InstanceNormalization",
  "LayerNormalization",
  "Resize",
];

/** Runs the components named in `which` on the reference inputs; returns their outputs. */
async function runComponents(
  m: LoadedModel,
  refs: SafetensorsFile,
  which: readonly Component[],
): Promise<Partial<Record<Component, Tensor>>> {
  const out: Partial<Record<Component, Tensor>> = {};
  if (which.includes("text_encoder")) {
    const prompts: string[] = JSON.parse(refs.metadata.prompts);
    out.text_encoder = await m.textEncoder!.encode(prompts.map((p) => m.tokenizer!.encode(p)));
  }
  if (which.includes("unet")) {
    out.unet = await m.unet.predict(
      refs.tensor("unet.sample"),
      JSON.parse(refs.metadata.unet_timestep).value,
      refs.tensor("text_encoder.last_hidden_state"),
    );
  }
  if (which.includes("vae_encoder")) {
    out.vae_encoder = await m.vaeEncoder!.encode(refs.tensor("vae_encoder.sample"));
  }
  if (which.includes("vae_decoder")) {
    out.vae_decoder = await m.vaeDecoder!.decode(refs.tensor("vae_decoder.latent_sample"));
  }
  return out;
}

function sessionOf(m: LoadedModel, c: Component) {
  return {
    text_encoder: m.textEncoder!,
    unet: m.unet,
    vae_encoder: m.vaeEncoder!,
    vae_decoder: m.vaeDecoder!,
  }[c].session;
}

/** Loads `folder` on CPU and on WebGPU (placement checked) and runs `which` on both. */
async function cpuAndWebgpu(
  name: string,
  folder: string,
  unet: string | undefined,
  which: readonly Component[],
): Promise<{
  cpu: Partial<Record<Component, Tensor>>;
  gpu: Partial<Record<Component, Tensor>>;
  sessions: Record<string, OnnxSession>;
}> {
  const refs = await readSafetensors(`fixtures/refs/model_io/${name}.safetensors`);
  const cpuModel = await loadModelFolder(folder, { unet });
  let cpu;
  try {
    cpu = await runComponents(cpuModel, refs, which);
  } finally {
    await cpuModel.release();
  }
  const gpuModel = await loadModelFolder(folder, {
    unet,
    session: { executionProvider: "webgpu", checkPlacement: true },
  });
  try {
    const gpu = await runComponents(gpuModel, refs, which);
    const sessions = Object.fromEntries(which.map((c) => [c, sessionOf(gpuModel, c)]));
    return { cpu, gpu, sessions };
  } finally {
    await gpuModel.release();
  }
}

/** The session was created on WebGPU, and every compute operator really ran there. */
function assertRanOnWebgpu(s: OnnxSession, what: string): void {
  assert.equal(s.requestedProvider, "webgpu", what);
  assert.equal(s.provider, "webgpu", what);
  assert.equal(s.fallbackReason, undefined, what);
  assert.equal(s.record().provider, "webgpu", what);
  const ops = s.placementOps;
  assert.ok(ops !== undefined, `${what}: placement not recorded`);
  const onGpu = ops.WebGpuExecutionProvider ?? {};
  const onCpu = ops.CPUExecutionProvider ?? {};
  assert.ok(Object.keys(onGpu).length > 0, `${what}: no node ran on WebGPU`);
  for (const op of Object.keys(onCpu)) {
    assert.ok(SHAPE_OPS.has(op), `${what}: ${op} ran on CPU (${JSON.stringify(onCpu)})`);
  }
  const compute = COMPUTE_OPS.filter((op) => onGpu[op] !== undefined);
  assert.ok(
    compute.length > 0,
    `${what}: no compute operator on WebGPU (${JSON.stringify(onGpu)})`,
  );
  assert.deepEqual(Object.keys(ops).sort(), Object.keys(s.placement ?? {}).sort(), what);
}

// Max |webgpu - cpu| measured on lavapipe, and the bound (2.4x to 3x).
const MEASURED: Record<string, Partial<Record<Component, { measured: number; bound: number }>>> = {
  "tiny-sd": {
    text_encoder: { measured: 1.43e-6, bound: 4e-6 }, // values up to 1.8
    unet: { measured: 2.19e-5, bound: 6e-5 }, // values up to 1.3
    vae_encoder: { measured: 6.71e-7, bound: 2e-6 }, // values up to 0.73
    vae_decoder: { measured: 9.24e-6, bound: 2.5e-5 }, // values up to 2.0
  },
  // float16 arithmetic on WebGPU; the CPU provider computes most float16 nodes in float32.
  // 8.1e-3 is about 8 float16 ulps at the largest values (1.26).
  "tiny-sd-unet-fp16": { unet: { measured: 8.06e-3, bound: 2e-2 } },
  "tiny-sd-v": {
    text_encoder: { measured: 1.07e-6, bound: 3e-6 },
    vae_encoder: { measured: 5.36e-7, bound: 1.5e-6 },
  },
};

for (
  const [name, folder, unet] of [
    ["tiny-sd", "fixtures/models/tiny-sd", undefined],
    [
      "tiny-sd-unet-fp16",
      "fixtures/models/tiny-sd",
      "fixtures/models/tiny-sd-unet-fp16/model.onnx",
    ],
    ["tiny-sd-v", "fixtures/models/tiny-sd-v", undefined],
  ] as const
) {
  const bounds = MEASURED[name];
  const which = Object.keys(bounds) as Component[];
  Deno.test({
    name: `${name} on webgpu: ${which.join(", ")} run on WebGPU and stay within the measured ` +
      "bounds of the CPU provider",
    ignore,
    async fn() {
      const { cpu, gpu, sessions } = await cpuAndWebgpu(name, folder, unet, which);
      const figures: string[] = [];
      for (const c of which) {
        assertRanOnWebgpu(sessions[c], `${name} ${c}`);
        const d = maxAbsDiff(gpu[c]!, cpu[c]!);
        figures.push(`${c} ${d.toExponential(2)}`);
        assert.ok(
          d <= bounds[c]!.bound,
          `${name} ${c}: max |webgpu - cpu| = ${d} > ${bounds[c]!.bound} ` +
            `(measured ${bounds[c]!.measured} on lavapipe)`,
        );
      }
      console.log(`${name}: max |webgpu - cpu|: ${figures.join(", ")}`);
    },
  });
}

// onnxruntime-node 1.30.0 runs Conv on WebGPU channels-last by default (preferredLayout NHWC),
// and its vectorised Conv2dMM path reads the wrong input channels when the input channel count
// is a multiple of 3 but not of 4 (6, 9, 18, ...) and the output channel count a multiple of 4:
// with 3 channels per read it indexes channel xCh / 4 instead of xCh (conv2d_mm.cc,
// `coord_a_snippet`; microsoft/onnxruntime issue 29651 reports the same symptom). tiny-sd-v has
// 6 latent channels, so its UNet and VAE decoder come out wrong; NCHW avoids that code path.
// This pins the cause of `verify --ep webgpu` failing on the tiny-sd-v cases; when an
// onnxruntime upgrade fixes it, the first assertion fails: then move these two components into
// the bounded comparison above.
Deno.test({
  name: "tiny-sd-v on webgpu: onnxruntime 1.30.0's channels-last Conv miscomputes 6-channel " +
    "inputs (UNet, VAE decoder); preferredLayout NCHW computes them right",
  ignore,
  async fn() {
    const name = "tiny-sd-v";
    const which = ["unet", "vae_decoder"] as const;
    const refs = await readSafetensors(`fixtures/refs/model_io/${name}.safetensors`);
    const { cpu, gpu } = await cpuAndWebgpu(name, "fixtures/models/tiny-sd-v", undefined, which);
    for (const c of which) {
      const rel = relativeL2(gpu[c]!, cpu[c]!);
      assert.ok(
        rel > 0.5,
        `${name} ${c}: relative L2 ${rel}; the defect is gone (measured 0.81 UNet, 0.89 VAE decoder)`,
      );
    }
    // The same two graphs with preferredLayout NCHW (measured max |d|: UNet 2.13e-5, VAE
    // decoder 1.63e-6).
    const cpuModel = await loadModelFolder("fixtures/models/tiny-sd-v");
    try {
      const t = cpuModel.unet.input("timestep");
      const unetFeeds = {
        sample: toOrtFloat(refs.tensor("unet.sample"), "float32", "sample"),
        timestep: numbersToOrt(
          [JSON.parse(refs.metadata.unet_timestep).value],
          timestepShape(t.shape),
          t.type,
          "timestep",
        ),
        encoder_hidden_states: toOrtFloat(
          refs.tensor("text_encoder.last_hidden_state"),
          "float32",
          "encoder_hidden_states",
        ),
      };
      const decoderFeeds = {
        latent_sample: toOrtFloat(refs.tensor("vae_decoder.latent_sample"), "float32", "latent"),
      };
      const nchw = [
        { c: "unet", path: cpuModel.unet.path, feeds: unetFeeds, out: "out_sample", bound: 6e-5 },
        {
          c: "vae_decoder",
          path: cpuModel.vaeDecoder!.path,
          feeds: decoderFeeds,
          out: "sample",
          bound: 4e-6,
        },
      ] as const;
      for (const { c, path, feeds, out, bound } of nchw) {
        const session = await ort.InferenceSession.create(path, {
          executionProviders: [{ name: "webgpu", preferredLayout: "NCHW" }],
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          logSeverityLevel: 3,
        });
        try {
          const result = await session.run(feeds);
          const d = maxAbsDiff(fromOrtFloat(result[out], c), cpu[c]!);
          assert.ok(d <= bound, `${name} ${c} with NCHW: max |webgpu - cpu| = ${d} > ${bound}`);
        } finally {
          await session.release();
        }
      }
    } finally {
      await cpuModel.release();
    }
  },
});

// The "asked for but unavailable" path while an adapter exists: a child process that sees no
// Vulkan driver (VK_DRIVER_FILES / VK_ICD_FILENAMES point at a missing file) must get a
// ProviderUnavailableError naming webgpu, and with fallback a CPU session that records why.
// Runs with and without an adapter.
Deno.test("webgpu with no adapter: the error names the provider; fallback runs on CPU", async () => {
  const child = `
    import * as ort from "onnxruntime-node";
    import { OnnxSession } from "./core/models/onnx_session.ts";
    const path = ${JSON.stringify(PROBE_GRAPH)};
    const result = {};
    try {
      await OnnxSession.create(path, { executionProvider: "webgpu" });
      result.created = true;
    } catch (e) {
      result.error = { name: e.name, provider: e.provider, reason: e.reason, message: e.message };
    }
    const s = await OnnxSession.create(path, { executionProvider: "webgpu", fallback: true });
    const latents = new ort.Tensor("float32", new Float32Array([1, 2, 3, 4]), [1, 4, 1, 1]);
    const out = await s.run({ latent_sample: latents });
    result.fallback = { ...s.record(), sample: [...out.sample.data] };
    await s.release();
    console.log(JSON.stringify(result));
  `;
  const missing = "/nonexistent/diffparity-no-vulkan-driver.json";
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", "deno.json", child],
    env: { VK_DRIVER_FILES: missing, VK_ICD_FILENAMES: missing },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  const result = JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").pop()!);
  assert.equal(result.created, undefined, "a WebGPU session was created with no Vulkan driver");
  assert.equal(result.error.name, "ProviderUnavailableError");
  assert.equal(result.error.provider, "webgpu");
  assert.match(result.error.message, /^execution provider 'webgpu' is unavailable: /);
  assert.match(result.error.reason, /\(Failed to get a WebGPU adapter: No supported adapters\)/);
  assert.match(result.error.reason, /lavapipe/);
  assert.match(result.error.message, /pass fallback: true/);
  assert.equal(result.fallback.requestedProvider, "webgpu");
  assert.equal(result.fallback.provider, "cpu");
  assert.equal(result.fallback.fallbackReason, result.error.reason);
  // W_DEC = [[1,0,0,1],[0,1,0,-1],[0,0,1,2]] on latents [1,2,3,4], then nearest x2.
  assert.deepEqual(result.fallback.sample, [5, 5, 5, 5, -2, -2, -2, -2, 11, 11, 11, 11]);
});
