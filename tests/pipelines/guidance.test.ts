import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import {
  classifierFreeGuidance,
  guidanceBatch,
  predictGuided,
  usesGuidance,
} from "../../core/pipelines/guidance.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { StandInUNet } from "./_standins.ts";
import { assertBitEqual, readRef, type TensorJson, toTensor } from "./_refs.ts";

interface CfgRefs {
  cfg: { uncond: TensorJson; text: TensorJson; cases: { scale: number; guided: TensorJson }[] };
}

Deno.test("classifierFreeGuidance equals torch's uncond + scale * (text - uncond) bit for bit", async () => {
  const { cfg } = await readRef<CfgRefs>("pipeline_ops.json");
  assert.equal(cfg.cases.length, 4);
  for (const c of cfg.cases) {
    const out = classifierFreeGuidance(toTensor(cfg.uncond), toTensor(cfg.text), c.scale);
    assertBitEqual(out, toTensor(c.guided), `scale ${c.scale}`);
  }
});

Deno.test("usesGuidance / guidanceBatch: scale > 1 doubles the batch, <= 1 does not", () => {
  assert.equal(usesGuidance(1), false);
  assert.equal(usesGuidance(0.5), false);
  assert.equal(usesGuidance(1.0001), true);
  const x = new Tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
  assert.deepEqual([...guidanceBatch(x, 7.5).data], [1, 2, 3, 4, 1, 2, 3, 4]);
  assert.equal(guidanceBatch(x, 1), x);
});

Deno.test("predictGuided without guidance: batch 1 in, the raw output out", async () => {
  const unet = new StandInUNet();
  const x = new Tensor(new Float32Array([1, 2]), [1, 2, 1, 1]);
  const out = await predictGuided(unet, x, 10, new Tensor(new Float32Array([3]), [1, 1, 1]), 1);
  assert.equal(out.modelOutput, out.rawOutput);
  assert.deepEqual(
    [...out.modelOutput.data],
    [0, 1].map((i) => StandInUNet.eps(x.data[i], 10, 3, i)),
  );
});

Deno.test("predictGuided refuses embeddings or inputs of the wrong batch, and a UNet output of the wrong shape", async () => {
  const unet = new StandInUNet();
  const x1 = Tensor.zeros([1, 4, 2, 2]);
  await assert.rejects(
    () => predictGuided(unet, x1, 1, Tensor.zeros([2, 77, 8]), 1),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "modelInput" && /batch 2/.test(e.message),
  );
  await assert.rejects(
    () => predictGuided(unet, Tensor.zeros([3, 4, 2, 2]), 1, Tensor.zeros([3, 77, 8]), 7.5),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "embeds" && /an even batch/.test(e.message),
  );
  await assert.rejects(
    () => predictGuided(unet, x1, 1, Tensor.zeros([2, 77, 8]), 7.5),
    (e: unknown) => e instanceof PipelineInputError && e.field === "modelInput",
  );
  const bad = { predict: () => Promise.resolve(Tensor.zeros([1, 4, 2, 3])) };
  await assert.rejects(
    () => predictGuided(bad, x1, 1, Tensor.zeros([1, 77, 8]), 1),
    (e: unknown) => e instanceof PipelineInputError && e.field === "unet output",
  );
  assert.throws(
    () => classifierFreeGuidance(Tensor.zeros([2]), Tensor.zeros([3]), 2),
    PipelineInputError,
  );
});

Deno.test("predictGuided with B images: rows 0..B-1 are the unconditional half, as diffusers' noise_pred.chunk(2)", async () => {
  // a UNet answering each row with its own row index: uncond rows 0, 1; text rows 2, 3
  const unet = {
    predict: (x: Tensor) => {
      const per = x.data.length / x.shape[0];
      return Promise.resolve(
        new Tensor(Float32Array.from(x.data, (_, i) => Math.floor(i / per)), x.shape),
      );
    },
  };
  const out = await predictGuided(unet, Tensor.zeros([4, 1, 1, 1]), 1, Tensor.zeros([4, 77, 8]), 3);
  // uncond + 3 * (text - uncond): row 0: 0 + 3 * 2 = 6, row 1: 1 + 3 * 2 = 7
  assert.deepEqual([...out.modelOutput.data], [6, 7]);
});

Deno.test("classifierFreeGuidance float16: torch's half uncond + 7.5 * (text - uncond), bit for bit", async () => {
  const { readSafetensors } = await import("../../core/tensor/safetensors.ts");
  const f = await readSafetensors("fixtures/refs/half/ops.safetensors"); // cfg = b + 7.5 * (a - b)
  const out = classifierFreeGuidance(f.tensor("b"), f.tensor("a"), 7.5, "float16");
  assertBitEqual(out, f.tensor("cfg"), "half guidance");
  const single = classifierFreeGuidance(f.tensor("b"), f.tensor("a"), 7.5);
  assert.ok(single.data.some((v, i) => v !== out.data[i])); // float32 guidance differs
});
