import assert from "node:assert/strict";
import { imageToTensor, tensorToImage, toGray } from "../../core/pipelines/image.ts";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { readPngRgb } from "../../core/pipelines/png.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { assertBitEqual, readRef, refPath, type TensorJson, toTensor } from "./_refs.ts";

interface PngDecodeRefs {
  images: Record<string, { width: number; height: number; rgb: number[]; gray: number[] }>;
  preprocessRgb: TensorJson;
}

Deno.test("imageToTensor equals VaeImageProcessor.preprocess of the PIL-read PNG, bit for bit", async () => {
  const refs = await readRef<PngDecodeRefs>("png_decode.json");
  const image = await readPngRgb(refPath("png/rgb.png"));
  const t = imageToTensor(image, { width: 6, height: 4 });
  assertBitEqual(t, toTensor(refs.preprocessRgb), "preprocess(rgb.png)");
});

Deno.test("imageToTensor refuses an image of another size than expected (no resizing)", () => {
  const image = { width: 2, height: 1, channels: 3 as const, data: new Uint8Array(6) };
  assert.throws(
    () => imageToTensor(image, { width: 2, height: 2 }),
    (e: unknown) =>
      e instanceof PipelineInputError && /expected 2x2 pixels.*got 2x1/.test(e.message),
  );
  assert.throws(
    () => imageToTensor({ ...image, data: new Uint8Array(5) }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "image",
  );
});

Deno.test("tensorToImage equals VaeImageProcessor.postprocess(output_type='pil'), exact .5 cases included", async () => {
  const refs = await readRef<{ image: TensorJson; rgb: number[]; width: number; height: number }>(
    "postprocess.json",
  );
  const out = tensorToImage(toTensor(refs.image));
  assert.equal(out.width, refs.width);
  assert.equal(out.height, refs.height);
  assert.deepEqual([...out.data], refs.rgb);
});

Deno.test("tensorToImage picks the batch element and refuses NaN and bad shapes", () => {
  const two = new Tensor(new Float32Array([-1, -1, -1, 1, 1, 1]), [2, 3, 1, 1]);
  assert.deepEqual([...tensorToImage(two, 1).data], [255, 255, 255]);
  assert.deepEqual([...tensorToImage(two, 0).data], [0, 0, 0]);
  assert.throws(() => tensorToImage(two, 2), PipelineInputError);
  const nan = new Tensor(new Float32Array([0, NaN, 0]), [1, 3, 1, 1]);
  assert.throws(() => tensorToImage(nan), /element 1 is NaN/);
  assert.throws(() => tensorToImage(Tensor.zeros([1, 4, 1, 1])), /expected \[B, 3, H, W\]/);
});

Deno.test("toGray equals PIL convert('L') on every colour PNG", async () => {
  const refs = await readRef<PngDecodeRefs>("png_decode.json");
  for (const name of ["rgb", "rgba", "palette"]) {
    const rgb = await readPngRgb(refPath(`png/${name}.png`));
    assert.deepEqual([...toGray(rgb).data], refs.images[name].gray, name);
  }
});
