/**
 * Grids of images (studies show many samples in one PNG): tiles of equal size, row-major,
 * separated by a gap.
 *
 * @module
 */
import { PipelineInputError } from "./errors.ts";
import { checkImage8, type Image8, tensorToImage } from "./image.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * Each image of a model output [B, C, H, W] in [-1, 1] as 8-bit pixels, postprocessed as
 * {@link tensorToImage} (RGB stays RGB, a 1-channel image stays grey; {@link imageGrid} shows
 * grey tiles in all three channels).
 *
 * @throws {PipelineInputError} for a shape other than [B, 1 or 3, H, W] or a NaN.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { tensorToImages } from "./image_grid.ts";
 * const grey = tensorToImages(new Tensor(new Float32Array([-1, 1]), [2, 1, 1, 1]));
 * assert.deepEqual(grey.map((i) => [i.channels, ...i.data]), [[1, 0], [1, 255]]);
 * ```
 */
export function tensorToImages(images: Tensor): Image8[] {
  const batch = images.shape.length === 4 ? images.shape[0] : 1; // tensorToImage refuses others
  return Array.from({ length: batch }, (_, i) => tensorToImage(images, i));
}

/**
 * Lays equal-size tiles out row-major, `columns` per row, with `gap` pixels of `background`
 * (0..255 grey) between them and around the edge. Gray tiles are shown in all channels.
 *
 * @throws {PipelineInputError} for no tiles, tiles of different sizes, or a bad `columns`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageGrid } from "./image_grid.ts";
 * const white = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12).fill(255) };
 * const grid = imageGrid([white, white, white], 2, { gap: 1 });
 * assert.deepEqual([grid.width, grid.height], [7, 7]); // 2 columns, 2 rows, 1 px gaps
 * assert.deepEqual([grid.data[0], grid.data[3 * (7 + 1)]], [128, 255]); // gap, then a tile
 * ```
 */
export function imageGrid(
  tiles: readonly Image8[],
  columns: number,
  options: { gap?: number; background?: number } = {},
): Image8 {
  const fn = "imageGrid";
  const gap = options.gap ?? 1;
  const background = options.background ?? 128;
  if (tiles.length === 0) throw new PipelineInputError(fn, "tiles", "expected at least one tile");
  if (!Number.isInteger(columns) || columns < 1) {
    throw new PipelineInputError(fn, "columns", `expected a positive integer, got ${columns}`);
  }
  const { width: tw, height: th } = tiles[0];
  tiles.forEach((t, i) => {
    checkImage8(t, t.channels === 1 ? 1 : 3, `tiles[${i}]`);
    if (t.width !== tw || t.height !== th) {
      throw new PipelineInputError(
        fn,
        `tiles[${i}]`,
        `expected ${tw}x${th} like tiles[0], got ${t.width}x${t.height}`,
      );
    }
  });
  const cols = Math.min(columns, tiles.length);
  const rows = Math.ceil(tiles.length / columns);
  const width = cols * tw + (cols + 1) * gap;
  const height = rows * th + (rows + 1) * gap;
  const data = new Uint8Array(3 * width * height).fill(background);
  tiles.forEach((t, i) => {
    const x0 = gap + (i % columns) * (tw + gap);
    const y0 = gap + Math.floor(i / columns) * (th + gap);
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const o = 3 * ((y0 + y) * width + x0 + x);
        for (let k = 0; k < 3; k++) {
          data[o + k] = t.channels === 3 ? t.data[3 * (y * tw + x) + k] : t.data[y * tw + x];
        }
      }
    }
  });
  return { width, height, channels: 3, data };
}
