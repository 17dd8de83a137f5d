import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { OnnxComponent } from "../../core/models/onnx_component.ts";
import { OnnxSession } from "../../core/models/onnx_session.ts";

class Probe extends OnnxComponent {}

Deno.test("wrapping a session checks its IO against the component and exposes it", async () => {
  const session = await OnnxSession.create("fixtures/models-test/vae_decoder.onnx");
  try {
    const p = new Probe("vae_decoder", session);
    assert.equal(p.path, "fixtures/models-test/vae_decoder.onnx");
    assert.equal(p.component, "vae_decoder");
    assert.deepEqual(p.input("latent_sample").shape, [
      "batch_size",
      4,
      "latent_height",
      "latent_width",
    ]);
    assert.throws(() => p.input("nope"), /no input 'nope'/);
    assert.equal(p.lastRunMs, undefined);
    assert.equal(p.record().file, p.path);
    assert.throws(() => new Probe("unet", session), FileError);
  } finally {
    await session.release();
  }
});
