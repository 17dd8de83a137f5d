import assert from "node:assert/strict";
import { ModelPool } from "../../core/harness/model_pool.ts";

Deno.test("ModelPool loads a folder once per set of options and frees them all", async () => {
  const pool = new ModelPool();
  const a = await pool.get("fixtures/models/tiny-sd", {});
  const b = await pool.get("fixtures/models/tiny-sd", {});
  const fp16 = await pool.get("fixtures/models/tiny-sd", {
    unet: "fixtures/models/tiny-sd-unet-fp16/model.onnx",
  });
  assert.equal(a, b);
  assert.notEqual(a, fp16);
  await pool.releaseAll();
  const c = await pool.get("fixtures/models/tiny-sd", {});
  assert.notEqual(c, a, "after releaseAll the folder is loaded afresh");
  await pool.releaseAll();
});

Deno.test("ModelPool does not keep a failed load", async () => {
  const pool = new ModelPool();
  const opts = { unet: "fixtures/models-test/unet_renamed_input.onnx" };
  await assert.rejects(pool.get("fixtures/models/tiny-sd", opts), /unet_renamed_input\.onnx/);
  await assert.rejects(pool.get("fixtures/models/tiny-sd", opts), /unet_renamed_input\.onnx/);
  await pool.releaseAll();
});
