import assert from "node:assert/strict";
import { guidedDenoiser, unconditionalDenoiser } from "../../core/pipelines/denoiser.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { StandInUNet } from "./_standins.ts";

const f32 = Math.fround;

Deno.test("guidedDenoiser: one UNet call on cat([x, x]) with the embeddings, uncond first, then guidance", async () => {
  const unet = new StandInUNet();
  const x = new Tensor(new Float32Array([0.5, -1, 2, 0.25, 3, -0.75]), [1, 1, 2, 3]);
  const embeds = new Tensor(new Float32Array([0.2, 9, 0.7, 9]), [2, 2, 1]); // e00: 0.2, 0.7
  const out = await guidedDenoiser(unet, embeds, 7.3)(x, 801);
  assert.equal(unet.calls.length, 1);
  assert.deepEqual([...unet.calls[0].sample.data], [...x.data, ...x.data]);
  assert.equal(unet.calls[0].t, 801);
  assert.equal(unet.calls[0].embeds, embeds);
  // StableDiffusionPipeline: noise_pred_uncond + guidance_scale * (noise_pred_text - uncond)
  const expected = [...x.data].map((v, i) => {
    const u = StandInUNet.eps(v, 801, f32(0.2), i);
    const c = StandInUNet.eps(v, 801, f32(0.7), i);
    return f32(u + f32(f32(7.3) * f32(c - u)));
  });
  assert.deepEqual([...out.data], expected);
  assert.deepEqual(out.shape, [1, 1, 2, 3]);
});

Deno.test("guidedDenoiser at scale 1 runs batch 1; unconditionalDenoiser passes no embeddings", async () => {
  const unet = new StandInUNet();
  const x = new Tensor(new Float32Array([1, 2]), [1, 2, 1, 1]);
  const single = await guidedDenoiser(unet, new Tensor(new Float32Array([3]), [1, 1, 1]), 1)(x, 10);
  assert.deepEqual(unet.calls[0].sample.shape, [1, 2, 1, 1]);
  assert.deepEqual([...single.data], [0, 1].map((i) => StandInUNet.eps(x.data[i], 10, 3, i)));
  const free = await unconditionalDenoiser(unet)(x, 10);
  assert.equal(unet.calls[1].embeds, undefined);
  assert.deepEqual([...free.data], [0, 1].map((i) => StandInUNet.eps(x.data[i], 10, 0, i)));
});
