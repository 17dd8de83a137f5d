import assert from "node:assert/strict";
import { OnnxVaeDecoder, OnnxVaeEncoder } from "../../core/models/onnx_vae.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const GRAPHS = "fixtures/models-test";
// The 1x1-conv weights of fixtures/gen/dump_test_graphs.py.
const W_ENC = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1], [
  2,
  -1,
  0,
]];
const W_DEC = [[1, 0, 0, 1], [0, 1, 0, -1], [0, 0, 1, 2]];

Deno.test("VAE encoder: 2x2 average pool then the 1x1 conv, [B,3,H,W] -> [B,8,H/2,W/2]", async () => {
  const enc = await OnnxVaeEncoder.load(`${GRAPHS}/vae_encoder.onnx`);
  try {
    // Channel c of the 2x2 image holds c+1 everywhere except a 2 in the last pixel of channel 0
    // -> pooled [1.25, 2, 3].
    const img = new Tensor(new Float32Array([1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3]), [1, 3, 2, 2]);
    const params = await enc.encode(img);
    assert.deepEqual(params.shape, [1, 8, 1, 1]);
    const pooled = [1.25, 2, 3];
    assert.deepEqual(
      [...params.data],
      W_ENC.map((w) => w[0] * pooled[0] + w[1] * pooled[1] + w[2] * pooled[2]),
    );
    assert.equal(typeof enc.lastRunMs, "number");
  } finally {
    await enc.release();
  }
});

Deno.test("VAE decoder: the 1x1 conv then nearest x2, [B,4,h,w] -> [B,3,2h,2w]", async () => {
  const dec = await OnnxVaeDecoder.load(`${GRAPHS}/vae_decoder.onnx`);
  try {
    const z = new Tensor(new Float32Array([0.5, -1, 2, 0.25]), [1, 4, 1, 1]);
    const img = await dec.decode(z);
    assert.deepEqual(img.shape, [1, 3, 2, 2]);
    const mixed = W_DEC.map((w) => w.reduce((s, wk, k) => s + wk * z.data[k], 0));
    assert.deepEqual([...img.data], mixed.flatMap((v) => [v, v, v, v]));
  } finally {
    await dec.release();
  }
});

Deno.test("encoder and decoder refuse each other's files", async () => {
  await assert.rejects(
    OnnxVaeEncoder.load(`${GRAPHS}/vae_decoder.onnx`),
    /input 'sample': missing; the model has inputs \[latent_sample\]/,
  );
  await assert.rejects(
    OnnxVaeDecoder.load(`${GRAPHS}/vae_encoder.onnx`),
    /input 'latent_sample': missing; the model has inputs \[sample\]/,
  );
});
