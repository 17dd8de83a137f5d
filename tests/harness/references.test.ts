import assert from "node:assert/strict";
import { CaseReferenceError, readCaseReference } from "../../core/harness/references.ts";
import { writeSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("a shipped onnx reference has one model output and sample per model call", async () => {
  const ref = await readCaseReference("fixtures/refs/cases/pndm-prk.onnx.safetensors");
  assert.equal(ref.backend, "onnx");
  assert.equal(ref.steps, ref.timesteps.length);
  assert.ok(ref.steps > 20, "PRK warm-up adds model calls");
  assert.equal(ref.sampleIn(0), ref.initLatents);
  assert.deepEqual(ref.sampleIn(3)!.data, ref.prevSample(2)!.data);
  assert.deepEqual(ref.prevSample(ref.steps - 1)!.data, ref.latents.data);
  assert.ok(
    ref.imageU8 && ref.imageU8.data.every((v) => Number.isInteger(v) && v >= 0 && v <= 255),
  );
  assert.equal(ref.inputIds?.length, 2 * 77);
});

Deno.test("a torch reference holds no per-step tensors", async () => {
  const ref = await readCaseReference("fixtures/refs/cases/ddim-eta0.torch.safetensors");
  assert.equal(ref.backend, "torch");
  assert.equal(ref.steps, 0);
  assert.equal(ref.modelOutput(0), undefined);
});

Deno.test("a reference lacking a tensor names the file and tensor", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await writeSafetensors(path, { timesteps: new Tensor(new Float32Array([1]), [1]) });
  await assert.rejects(readCaseReference(path), (err: unknown) => {
    assert.ok(err instanceof CaseReferenceError);
    assert.equal(
      err.message,
      `${path}: tensor 'init_latents' missing; regenerate with \`deno task refs\``,
    );
    return true;
  });
  await Deno.remove(path);
});

Deno.test("a float16 reference says its sampler ran in float16 and holds F16 latents", async () => {
  const ref = await readCaseReference("fixtures/refs/cases/fp16-sampler.onnx.safetensors");
  assert.equal(ref.samplerDtype, "float16");
  assert.equal(ref.steps, 21);
  // F16 read as float32: every value a half
  for (const t of [ref.initLatents, ref.latents, ref.promptEmbeds!, ref.prevSample(5)!]) {
    assert.ok(t.data.every((v) => Math.f16round(v) === v));
  }
  assert.equal(
    (await readCaseReference("fixtures/refs/cases/pndm-plms.onnx.safetensors")).samplerDtype,
    "float32",
  );
});

Deno.test("a reference with an unknown sampler_dtype names the file and the field", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  const z = Tensor.zeros([1, 4, 2, 2]);
  await writeSafetensors(path, {
    timesteps: { dtype: "I64", shape: [0], data: new Uint8Array(0) },
    init_latents: z,
    latents: z,
    prompt_embeds: Tensor.zeros([1, 77, 8]),
    input_ids: { dtype: "I64", shape: [1, 1], data: new Uint8Array(8) },
  }, { sampler_dtype: "bfloat16" });
  await assert.rejects(
    readCaseReference(path),
    (e) =>
      e instanceof CaseReferenceError &&
      e.message ===
        `${path}: metadata sampler_dtype: got "bfloat16" (expected "float32" or "float16")`,
  );
  await Deno.remove(path);
});
