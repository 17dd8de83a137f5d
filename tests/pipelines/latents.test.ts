import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { latentShape, prepareLatents } from "../../core/pipelines/latents.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

Deno.test("prepareLatents = randn(shape, generator) * fround(init_noise_sigma), one draw", () => {
  const shape = [1, 4, 3, 5];
  const g = new TorchGenerator(7);
  const out = prepareLatents(g, shape, 14.6146);
  const ref = new TorchGenerator(7);
  const noise = ref.randn(shape);
  assert.deepEqual(out.shape, shape);
  assert.deepEqual(
    [...out.data],
    [...noise.data].map((v) => Math.fround(v * Math.fround(14.6146))),
  );
  // exactly one draw: both generators are at the same point of the stream now
  assert.deepEqual([...g.randn([4]).data], [...ref.randn([4]).data]);
  assert.deepEqual([...prepareLatents(new TorchGenerator(7), shape, 1).data], [...noise.data]);
});

Deno.test("prepareLatents refuses a non-positive sigma; latentShape divides by the VAE factor", () => {
  assert.throws(
    () => prepareLatents(new TorchGenerator(0), [1], 0),
    (e: unknown) => e instanceof PipelineInputError && e.field === "initNoiseSigma",
  );
  assert.deepEqual(latentShape(128, 64, 8, 4), [1, 4, 16, 8]);
  assert.throws(
    () => latentShape(100, 64, 8, 4),
    (e: unknown) => e instanceof PipelineInputError && e.field === "height",
  );
  assert.throws(
    () => latentShape(128, 64, 0, 4),
    (e: unknown) => e instanceof PipelineInputError && e.field === "vaeScaleFactor",
  );
});

Deno.test("prepareLatents float16: torch's half randn_tensor times init_noise_sigma, in half", async () => {
  const { readSafetensors } = await import("../../core/tensor/safetensors.ts");
  const f = await readSafetensors("fixtures/refs/half/randn.safetensors");
  const shape = JSON.parse(f.metadata["shapes"])["0"]; // [1, 4, 16, 16], seed 0
  const latents = prepareLatents(new TorchGenerator(0), shape, 1, "float16");
  assert.deepEqual(latents.data, f.tensor("randn.0").data);
  // a sigma that is not 1: the half draw times the sigma's float32 value, rounded to half
  const scaled = prepareLatents(new TorchGenerator(0), shape, 14.6146, "float16");
  const want = f.tensor("randn.0").data.map((v) =>
    Math.f16round(Math.fround(v * Math.fround(14.6146)))
  );
  assert.deepEqual(scaled.data, want);
});
