import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { blendKept, keepMaskFromImage } from "../../core/pipelines/mask.ts";
import { readPngGray, readPngRgb } from "../../core/pipelines/png.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { assertBitEqual, readRef, refPath, type TensorJson, toTensor } from "./_refs.ts";

Deno.test("keepMaskFromImage equals the legacy inpaint pipeline's preprocess_mask (RGB mask, not block-constant)", async () => {
  const ref = await readRef<{ file: string; vaeScaleFactor: number; keep: TensorJson }>(
    "mask.json",
  );
  const rgb = await readPngRgb(refPath(ref.file));
  const keep = keepMaskFromImage(rgb, ref.vaeScaleFactor, 4);
  assertBitEqual(keep, toTensor(ref.keep), "preprocess_mask(mask_rgb.png)");
  // the same through the gray reader
  const gray = await readPngGray(refPath(ref.file));
  assertBitEqual(keepMaskFromImage(gray, ref.vaeScaleFactor, 4), keep, "gray path");
});

Deno.test("the shipped case inputs have the model's pixel size; masks are constant on f x f blocks", async () => {
  for (const [model, suffix] of [["tiny-sd", ""], ["tiny-sd-v", "-tiny-sd-v"]]) {
    const dir = new URL(`../../fixtures/models/${model}/`, import.meta.url);
    const unet = JSON.parse(await Deno.readTextFile(new URL("unet/config.json", dir)));
    const vae = JSON.parse(await Deno.readTextFile(new URL("vae_decoder/config.json", dir)));
    const f = 2 ** (vae.block_out_channels.length - 1);
    const size = unet.sample_size * f;
    const mask = await readPngGray(refPath(`../mask${suffix}.png`));
    const input = await readPngRgb(refPath(`../input${suffix}.png`));
    for (const img of [mask, input]) assert.deepEqual([img.width, img.height], [size, size], model);
    assert.ok(
      isBlockConstant(mask.data, size, size, f),
      `${model}: mask not constant on ${f}x${f}`,
    );
    const keep = keepMaskFromImage(mask, f, unet.in_channels);
    assert.deepEqual([...new Set(keep.data)].sort(), [0, 1], `${model}: keep and repaint regions`);
    // every latent pixel is 1 - (its block's value / 255): white repaints
    const lw = size / f;
    for (let i = 0; i < lw * lw; i++) {
      const src = mask.data[Math.floor(i / lw) * f * size + (i % lw) * f];
      assert.equal(keep.data[i], src === 255 ? 0 : 1);
    }
  }
});

function isBlockConstant(d: Uint8Array, w: number, h: number, f: number): boolean {
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (d[y * w + x] !== d[(y - (y % f)) * w + (x - (x % f))]) return false;
    }
  }
  return true;
}

Deno.test("keepMaskFromImage repeats one plane over the channels and refuses bad sizes", () => {
  const m = {
    width: 4,
    height: 2,
    channels: 1 as const,
    data: new Uint8Array([0, 0, 255, 255, 0, 0, 255, 255]),
  };
  const keep = keepMaskFromImage(m, 2, 3);
  assert.deepEqual(keep.shape, [1, 3, 1, 2]);
  assert.deepEqual([...keep.data], [1, 0, 1, 0, 1, 0]);
  assert.throws(
    () => keepMaskFromImage(m, 3, 4),
    (e: unknown) => e instanceof PipelineInputError && /multiples of 3, got 4x2/.test(e.message),
  );
  assert.throws(() => keepMaskFromImage(m, 0, 4), PipelineInputError);
  assert.throws(() => keepMaskFromImage(m, 2, 0), PipelineInputError);
});

Deno.test("blendKept equals torch's (proper * mask) + (latents * (1 - mask)) bit for bit", async () => {
  const ops = await readRef<
    { blend: { proper: TensorJson; latents: TensorJson; keep: TensorJson; blended: TensorJson } }
  >("pipeline_ops.json");
  const b = ops.blend;
  const out = blendKept(toTensor(b.proper), toTensor(b.latents), toTensor(b.keep));
  assertBitEqual(out, toTensor(b.blended), "blend");
});

Deno.test("blendKept keeps the original where keep = 1 and the latents where keep = 0", () => {
  const o = new Tensor(new Float32Array([1.25, -3, 0.1]), [3]);
  const l = new Tensor(new Float32Array([9, 8, 7]), [3]);
  const out = blendKept(o, l, new Tensor(new Float32Array([1, 0, 1]), [3]));
  assert.deepEqual([...out.data], [1.25, 8, Math.fround(0.1)]);
  assert.throws(
    () => blendKept(o, Tensor.zeros([2]), Tensor.zeros([3])),
    /latents: expected shape \[3\]/,
  );
});
