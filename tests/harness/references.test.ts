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

Deno.test("a torch reference holds no per-step tensors, no picture and no prompt embeddings", async () => {
  const path = "fixtures/refs/cases/ddim-eta0.torch.safetensors";
  // the runner reads it without prompt tensors; the text encoder is compared with the onnx one
  await assert.rejects(readCaseReference(path), /tensor 'prompt_embeds' missing/);
  const ref = await readCaseReference(path, { prompt: false });
  assert.equal(ref.promptEmbeds, undefined);
  assert.equal(ref.backend, "torch");
  assert.equal(ref.steps, 0);
  assert.equal(ref.modelOutput(0), undefined);
  // verify compares the picture with the onnx reference's only (dump_cases.py reference_tensors)
  assert.equal(ref.imageU8, undefined);
  const onnx = await readCaseReference("fixtures/refs/cases/ddim-eta0.onnx.safetensors");
  assert.deepEqual(onnx.imageU8?.shape, [1, 3, 128, 128]);
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

Deno.test("diffusers' 1000-step DDPMPipeline reference holds per-step tensors for its first 100 calls", async () => {
  const path = "fixtures/refs/cases/digits-ddpm-ddpm1000.onnx.safetensors";
  const ref = await readCaseReference(path, { prompt: false });
  assert.equal(ref.metadata["recorded_steps"], "100");
  assert.deepEqual([ref.calls, ref.steps, ref.recordedSteps], [1000, 100, 100]);
  // timesteps, the initial and final latents and the image cover the whole run
  assert.deepEqual([ref.timesteps[0], ref.timesteps[99], ref.timesteps[999]], [999, 900, 0]);
  assert.deepEqual(ref.latents.shape, [1, 1, 16, 16]);
  assert.deepEqual(ref.imageU8?.shape, [1, 1, 16, 16]);
  assert.ok(ref.modelOutput(99) && ref.prevSample(99));
  assert.equal(ref.modelOutput(100), undefined);
  assert.equal(ref.prevSample(100), undefined);
  assert.deepEqual(ref.sampleIn(100)?.data, ref.prevSample(99)?.data); // entering call 100
  assert.equal(ref.sampleIn(101), undefined);
  // the last recorded step is not the end of the run
  assert.ok(ref.prevSample(99)!.data.some((v, i) => v !== ref.latents.data[i]));
  // its torch side has no per-step tensors, so nothing was cut and nothing says so
  const torch = await readCaseReference(path.replace(".onnx.", ".torch."), { prompt: false });
  assert.deepEqual([torch.calls, torch.steps, torch.recordedSteps], [1000, 0, undefined]);
  assert.equal(torch.metadata["recorded_steps"], undefined);
  // 50 calls: under the limit, every call recorded and no recorded_steps
  const ddim = await readCaseReference(
    "fixtures/refs/cases/digits-ddpm-ddim50.onnx.safetensors",
    { prompt: false },
  );
  assert.deepEqual([ddim.calls, ddim.steps, ddim.recordedSteps], [50, 50, undefined]);
  assert.equal(ddim.metadata["recorded_steps"], undefined);
});

/** A synthetic reference of 4 calls with `prev_sample.<i>` for the first `stored` of them. */
async function prefixFile(stored: number, metadata: Record<string, string> = {}): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  const x = Tensor.zeros([1, 1, 2, 2]);
  const tensors: Record<string, Tensor> = {
    timesteps: new Tensor(new Float32Array([999, 749, 499, 249]), [4]),
    init_latents: x,
    latents: x,
  };
  for (let i = 0; i < stored; i++) {
    tensors[`prev_sample.${i}`] = x;
    tensors[`model_output.${i}`] = x;
  }
  await writeSafetensors(path, tensors, metadata);
  return path;
}

Deno.test("readCaseReference: a prefix needs recorded_steps; a count unlike it is an error", async () => {
  const read = (path: string) => readCaseReference(path, { prompt: false });
  const cases: [stored: number, meta: Record<string, string>, error: string | null][] = [
    [4, {}, null], // every call
    [0, {}, null], // none (a torch reference)
    [2, { recorded_steps: "2" }, null], // the first 2 of 4
    [2, {}, "holds 2 steps of prev_sample but 4 timesteps"], // a truncated file, as before
    [3, { recorded_steps: "2" }, "holds 3 steps of prev_sample but metadata recorded_steps says 2"],
    [0, { recorded_steps: "2" }, "holds 0 steps of prev_sample but metadata recorded_steps says 2"],
    [
      4,
      { recorded_steps: "4" },
      'metadata recorded_steps: got "4" (expected a whole number from 1 to 3',
    ],
    [2, { recorded_steps: "two" }, 'metadata recorded_steps: got "two"'],
    [2, { recorded_steps: "02" }, 'metadata recorded_steps: got "02"'],
    [0, { recorded_steps: "0" }, 'metadata recorded_steps: got "0"'],
    [2, { recorded_steps: "2.0" }, 'metadata recorded_steps: got "2.0"'],
  ];
  for (const [stored, meta, error] of cases) {
    const path = await prefixFile(stored, meta);
    try {
      const what = `${stored} stored, ${JSON.stringify(meta)}`;
      if (error === null) {
        const ref = await read(path);
        assert.equal(ref.calls, 4, what);
        assert.equal(ref.steps, stored, what);
        assert.equal(ref.recordedSteps, meta.recorded_steps ? stored : undefined, what);
      } else {
        await assert.rejects(read(path), (e) => {
          assert.ok(e instanceof CaseReferenceError, what);
          assert.equal(e.file, path);
          assert.ok(e.message.startsWith(`${path}: ${error}`), `${what}: ${e.message}`);
          return true;
        });
      }
    } finally {
      await Deno.remove(path);
    }
  }
});

Deno.test("an inversion reference: the pass boundary, the tutorial's start part-way, EDICT's model inputs", async () => {
  const path = `${await Deno.makeTempDir()}/inv.onnx.safetensors`;
  const x = (v: number) => new Tensor(new Float32Array([v]), [1, 1]);
  const ts = new Tensor(new Float32Array([101, 201, 301, 301, 201, 101]), [6]);
  const steps: Record<string, Tensor> = {};
  for (let i = 0; i < 6; i++) {
    steps[`prev_sample.${i}`] = x(i + 1);
    steps[`model_output.${i}`] = x(-i);
  }
  const base = { timesteps: ts, init_latents: x(0), latents: x(6), ...steps };
  await writeSafetensors(path, base, { inversion_calls: "3", sampling_starts_from: "1" });
  const ref = await readCaseReference(path, { prompt: false });
  assert.equal(ref.inversionCalls, 3);
  // the sampling pass (call 3) starts from prev_sample.1, not prev_sample.2
  assert.deepEqual([ref.sampleIn(3)!.data[0], ref.sampleIn(2)!.data[0], ref.sampleIn(4)!.data[0]], [
    2,
    2,
    4,
  ]);
  await writeSafetensors(path, { ...base, "model_input.3": x(42) }, { inversion_calls: "3" });
  const edict = await readCaseReference(path, { prompt: false });
  assert.deepEqual([edict.sampleIn(3)!.data[0], edict.sampleIn(4)!.data[0]], [42, 4]);
  await writeSafetensors(path, base, { inversion_calls: "7" });
  await assert.rejects(
    readCaseReference(path, { prompt: false }),
    /metadata inversion_calls: expected a whole number 0\.\.6, got "7"/,
  );
  await Deno.remove(path);
});
