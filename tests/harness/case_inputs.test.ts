import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { loadCaseInputs } from "../../core/harness/case_inputs.ts";
import { loadCases } from "../../core/harness/cases_loader.ts";
import { ModelPool } from "../../core/harness/model_pool.ts";

Deno.test("loadCaseInputs: geometry from the model folder, the image and keep mask, references after the hash check", async () => {
  const [c] = await loadCases("cases", "inpaint-ddim");
  const order: string[] = [];
  const { inputs, references } = await loadCaseInputs(c, {}, () => {
    order.push("references");
    return Promise.resolve(42);
  });
  try {
    assert.equal(references, 42);
    assert.deepEqual(order, ["references"]);
    // tiny-sd: unet sample_size 16, VAE factor 8 (128 px), 4 latent channels
    assert.deepEqual(inputs.latentShape, [1, 4, 16, 16]);
    assert.equal(inputs.scalingFactor, 0.18215);
    assert.deepEqual(inputs.image?.shape, [1, 3, 128, 128]);
    assert.deepEqual(inputs.keepMask?.shape, [1, 4, 16, 16]);
    assert.match(inputs.schedulerSource, /tiny-sd\/scheduler\/scheduler_config\.json$/);
    // the memoised encoder encodes an image once
    const a = await inputs.vaeEncoder!.encode(inputs.image!);
    assert.equal(await inputs.vaeEncoder!.encode(inputs.image!), a);
  } finally {
    await inputs.release();
  }
});

Deno.test("loadCaseInputs refuses a changed fixture before reading references or loading the model", async () => {
  const [shipped] = await loadCases("cases", "guidance-1");
  const dir = await Deno.makeTempDir();
  try {
    // a manifest of its own folder, whose one reference file does not match its hash
    await Deno.mkdir(`${dir}/refs`);
    await Deno.copyFile(shipped.references.onnx, `${dir}/refs/g.onnx.safetensors`);
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({ files: { "refs/g.onnx.safetensors": { sha256: "0".repeat(64) } } }),
    );
    const c = defineCase({
      ...shipped,
      references: { onnx: `${dir}/refs/g.onnx.safetensors`, torch: shipped.references.torch },
    });
    let read = false;
    await assert.rejects(
      () =>
        loadCaseInputs(c, { manifest: `${dir}/manifest.json` }, () => Promise.resolve(read = true)),
      /g\.onnx\.safetensors.*sha256/,
    );
    assert.equal(read, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCaseInputs takes a pooled model without releasing it; a case's own is released", async () => {
  const [c] = await loadCases("cases", "guidance-1");
  assert.ok(c.pipeline === "text2img"); // a case with a size
  const pool = new ModelPool();
  try {
    const one = await loadCaseInputs(c, { models: pool, manifest: null });
    await one.inputs.release();
    const two = await loadCaseInputs(c, { models: pool, manifest: null });
    assert.equal(two.inputs.model, one.inputs.model, "the pool's model, still usable");
    assert.equal(two.inputs.loadMs >= 0, true);
  } finally {
    await pool.releaseAll();
  }
  const bad = defineCase({ ...c, name: "bad-size", width: 72, height: 64 });
  const own = await loadCaseInputs(bad, { manifest: null });
  assert.deepEqual(own.inputs.latentShape, [1, 4, 8, 9]);
  await own.inputs.release();
});
