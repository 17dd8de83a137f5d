import assert from "node:assert/strict";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { FileError } from "../../core/tensor/errors.ts";
import {
  providerAvailability,
  ProviderUnavailableError,
} from "../../core/models/execution_provider.ts";
import { OnnxSession } from "../../core/models/onnx_session.ts";

const GRAPHS = "fixtures/models-test";
const DECODER = `${GRAPHS}/vae_decoder.onnx`;

function latentFeed(): Record<string, ort.Tensor> {
  return { latent_sample: new ort.Tensor("float32", new Float32Array([1, 2, 3, 4]), [1, 4, 1, 1]) };
}

Deno.test("a CPU session exposes the declared IO, the provider and the settings", async () => {
  const s = await OnnxSession.create(`${GRAPHS}/unet_int64.onnx`);
  try {
    assert.equal(s.provider, "cpu");
    assert.equal(s.requestedProvider, "cpu");
    assert.equal(s.fallbackReason, undefined);
    assert.deepEqual(s.inputs, [
      { name: "sample", type: "float32", shape: ["batch", 4, "height", "width"] },
      { name: "timestep", type: "int64", shape: ["steps"] },
      { name: "encoder_hidden_states", type: "float32", shape: ["batch", "sequence", 8] },
    ]);
    assert.deepEqual(s.outputs, [
      { name: "out_sample", type: "float32", shape: ["batch", 4, "height", "width"] },
    ]);
    assert.equal(s.settings.intraOpNumThreads, 1);
    assert.ok(s.loadMs >= 0);
    const r = s.record();
    assert.equal(r.file, `${GRAPHS}/unet_int64.onnx`);
    assert.equal(r.onnxruntimeVersion, "1.30.0");
    assert.equal(r.runs, 0);
    assert.equal(r.lastRunMs, undefined);
  } finally {
    await s.release();
  }
});

Deno.test("run records the time of each call and calls onRun", async () => {
  const s = await OnnxSession.create(DECODER);
  try {
    const seen: number[] = [];
    s.onRun = (ms) => seen.push(ms);
    const out = await s.run(latentFeed());
    await s.run(latentFeed());
    // W_DEC = [[1,0,0,1],[0,1,0,-1],[0,0,1,2]] on latents [1,2,3,4], then nearest x2.
    assert.deepEqual([...out.sample.data], [5, 5, 5, 5, -2, -2, -2, -2, 11, 11, 11, 11]);
    assert.equal(s.runs, 2);
    assert.equal(seen.length, 2);
    assert.equal(s.lastRunMs, seen[1]);
    assert.equal(s.totalRunMs, seen[0] + seen[1]);
    assert.equal(s.record().runs, 2);
  } finally {
    await s.release();
  }
});

Deno.test("checkPlacement profiles the first run and counts nodes per provider", async () => {
  // Unoptimised, the decoder graph runs its own two nodes (Conv, Resize); at level "all"
  // onnxruntime adds layout reorders, which are counted too (nodes of the optimised graph).
  const s = await OnnxSession.create(DECODER, {
    checkPlacement: true,
    graphOptimizationLevel: "disabled",
  });
  try {
    assert.equal(s.record().placement, undefined);
    assert.equal(s.placementOps, undefined);
    await s.run(latentFeed());
    assert.deepEqual(s.placement, { CPUExecutionProvider: 2 });
    assert.deepEqual(s.placementOps, { CPUExecutionProvider: { Conv: 1, Resize: 1 } });
    assert.deepEqual(s.record().placement, { CPUExecutionProvider: 2 });
  } finally {
    await s.release();
  }
});

Deno.test({
  name: "cuda without its libraries fails with the provider named, or falls back when asked",
  ignore: providerAvailability("cuda").usable,
  async fn() {
    await assert.rejects(
      OnnxSession.create(DECODER, { executionProvider: "cuda" }),
      (e: unknown) =>
        e instanceof ProviderUnavailableError && e.provider === "cuda" &&
        e.message.includes("execution provider 'cuda' is unavailable") &&
        e.message.includes("libonnxruntime_providers_cuda"),
    );
    const s = await OnnxSession.create(DECODER, { executionProvider: "cuda", fallback: true });
    try {
      assert.equal(s.requestedProvider, "cuda");
      assert.equal(s.provider, "cpu");
      assert.match(s.fallbackReason ?? "", /libonnxruntime_providers_cuda/);
      assert.equal(s.record().fallbackReason, s.fallbackReason);
      const out = await s.run(latentFeed());
      assert.deepEqual([...out.sample.data].slice(0, 4), [5, 5, 5, 5]);
    } finally {
      await s.release();
    }
  },
});

Deno.test("webgpu either runs (and matches CPU) or fails naming the provider", async () => {
  let session: OnnxSession | undefined;
  try {
    session = await OnnxSession.create(DECODER, { executionProvider: "webgpu" });
  } catch (e) {
    assert.ok(e instanceof ProviderUnavailableError, String(e));
    assert.equal(e.provider, "webgpu");
    assert.match(e.message, /execution provider 'webgpu' is unavailable/);
    const s = await OnnxSession.create(DECODER, { executionProvider: "webgpu", fallback: true });
    assert.equal(s.provider, "cpu");
    assert.equal(s.fallbackReason, e.reason);
    await s.release();
    return;
  }
  try {
    assert.equal(session.provider, "webgpu");
    const out = await session.run(latentFeed());
    assert.deepEqual([...out.sample.data], [5, 5, 5, 5, -2, -2, -2, -2, 11, 11, 11, 11]);
  } finally {
    await session.release();
  }
});

Deno.test("a missing or non-ONNX file is a FileError naming the path", async () => {
  await assert.rejects(
    OnnxSession.create(`${GRAPHS}/nope.onnx`),
    (e: unknown) =>
      e instanceof FileError && e.file === `${GRAPHS}/nope.onnx` &&
      /file not found \(expected an ONNX model file\)/.test(e.message),
  );
  await assert.rejects(
    OnnxSession.create(GRAPHS),
    (e: unknown) => e instanceof FileError && /is not a file/.test(e.message),
  );
  const dir = await Deno.makeTempDir();
  try {
    const bad = join(dir, "model.onnx");
    await Deno.writeTextFile(bad, "this is not a protobuf");
    await assert.rejects(
      OnnxSession.create(bad),
      (e: unknown) =>
        e instanceof FileError && e.file === bad &&
        /onnxruntime cannot load it \(.*Protobuf parsing failed.*\); expected an ONNX model file/
          .test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("feeds are checked against the declared inputs before onnxruntime runs", async () => {
  const s = await OnnxSession.create(DECODER);
  try {
    const wrongChannels = {
      latent_sample: new ort.Tensor("float32", new Float32Array(3), [1, 3, 1, 1]),
    };
    await assert.rejects(
      s.run(wrongChannels),
      (e: unknown) =>
        e instanceof FileError &&
        e.message ===
          `${DECODER}: input 'latent_sample': got float32 [1, 3, 1, 1]; the model declares ` +
            "float32 [batch_size, 4, latent_height, latent_width]",
    );
    const wrongType = {
      latent_sample: new ort.Tensor("float64", new Float64Array(4), [1, 4, 1, 1]),
    };
    await assert.rejects(
      s.run(wrongType),
      /got float64 \[1, 4, 1, 1\]; the model declares float32/,
    );
    await assert.rejects(
      s.run({}),
      /input 'latent_sample': not fed \(expected float32 \[batch_size, 4, latent_height, latent_width\]\)/,
    );
    await assert.rejects(
      s.run({ ...latentFeed(), extra: new ort.Tensor("float32", new Float32Array(1), [1]) }),
      /input 'extra': fed but not declared; the model has inputs \[latent_sample\]/,
    );
    assert.equal(s.runs, 0);
  } finally {
    await s.release();
  }
});
