import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { tensorToImage } from "../../core/pipelines/image.ts";
import { imageGrid, tensorToImages } from "../../core/pipelines/image_grid.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("imageGrid places tile i at row i / columns, column i % columns, with gaps", () => {
  const tile = (v: number) => ({
    width: 2,
    height: 1,
    channels: 1 as const,
    data: new Uint8Array([v, v + 1]),
  });
  const g = imageGrid([tile(10), tile(20), tile(30)], 2, { gap: 1, background: 0 });
  assert.deepEqual([g.width, g.height, g.channels], [7, 5, 3]);
  const at = (x: number, y: number) => g.data[3 * (y * g.width + x)];
  assert.deepEqual([at(1, 1), at(2, 1), at(4, 1), at(5, 1), at(1, 3), at(2, 3)], [
    10,
    11,
    20,
    21,
    30,
    31,
  ]);
  assert.deepEqual([at(0, 0), at(3, 1), at(4, 3), at(6, 4)], [0, 0, 0, 0]); // gaps, empty cell
});

Deno.test("tensorToImages postprocesses as tensorToImage; grey shows in every channel", () => {
  const rgb = new Tensor(new Float32Array([-1, 0, 1, 0.5, 0.25, -0.5]), [2, 3, 1, 1]);
  assert.deepEqual(
    tensorToImages(rgb).map((i) => [...i.data]),
    [0, 1].map((b) => [...tensorToImage(rgb, b).data]),
  );
  const grey = tensorToImages(new Tensor(new Float32Array([0.5]), [1, 1, 1, 1]));
  assert.deepEqual([grey[0].channels, ...grey[0].data], [1, 191]);
  // ... and a grid shows it in every channel
  const g = imageGrid(grey, 1, { gap: 0 });
  assert.deepEqual([...g.data], [191, 191, 191]);
});

Deno.test("imageGrid and tensorToImages refuse what they cannot lay out", () => {
  const a = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12) };
  const b = { width: 1, height: 2, channels: 3 as const, data: new Uint8Array(6) };
  assert.throws(() => imageGrid([a, b], 2), /tiles\[1\]: expected 2x2 like tiles\[0\], got 1x2/);
  assert.throws(() => imageGrid([], 2), /tiles: expected at least one tile/);
  assert.throws(() => imageGrid([a], 0), PipelineInputError);
  assert.throws(
    () => tensorToImages(Tensor.zeros([1, 2, 1, 1])),
    /expected \[B, 3, H, W\] \(RGB\) or \[B, 1, H, W\] \(grey\)/,
  );
});
