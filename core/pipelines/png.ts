/**
 * PNG files to and from 8-bit images through `npm:pngjs`, converting colour types as PIL's
 * `Image.open(path).convert("RGB")` / `.convert("L")` do (what diffusers reads), and writing
 * atomically (temporary file, then rename).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { writeFileAtomic } from "../tensor/atomic_write.ts";
import { FileError } from "../tensor/errors.ts";
import { checkImage8, type Image8, toGray } from "./image.ts";

/** The label of in-memory PNG data in error messages. */
const IN_MEMORY = "<bytes>";

/**
 * Decodes PNG bytes to RGB as PIL's `convert("RGB")`: alpha is dropped (not composited),
 * gray is replicated, palettes are looked up, 1/2/4-bit samples are scaled to 0..255, and a
 * tRNS colour key keeps its colour. 16-bit PNGs are refused (PIL reduces them its own way).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePngRgb, encodePng } from "./png.ts";
 * const bytes = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array([9, 8, 7]) });
 * assert.deepEqual([...decodePngRgb(bytes).data], [9, 8, 7]);
 * assert.throws(() => decodePngRgb(new Uint8Array(4)), /<bytes>: signature: expected PNG data/);
 * ```
 */
export function decodePngRgb(bytes: Uint8Array, file: string = IN_MEMORY): Image8 {
  const png = decodeRgba(bytes, file);
  const n = png.width * png.height;
  const out = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) {
    out[3 * p] = png.rgba[4 * p];
    out[3 * p + 1] = png.rgba[4 * p + 1];
    out[3 * p + 2] = png.rgba[4 * p + 2];
  }
  return { width: png.width, height: png.height, channels: 3, data: out };
}

/**
 * Decodes PNG bytes to gray as PIL's `convert("L")` (gray stays as is, colour uses the
 * ITU-R 601-2 luma of {@link toGray}). Used for inpaint masks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodePngGray, encodePng } from "./png.ts";
 * const bytes = encodePng({ width: 1, height: 1, channels: 1, data: new Uint8Array([200]) });
 * assert.equal(decodePngGray(bytes).data[0], 200);
 * const red = encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array([255, 0, 0]) });
 * assert.equal(decodePngGray(red).data[0], 76); // ITU-R 601-2 luma
 * ```
 */
export function decodePngGray(bytes: Uint8Array, file: string = IN_MEMORY): Image8 {
  return toGray(decodePngRgb(bytes, file));
}

/**
 * Encodes an 8-bit RGB or gray image as PNG bytes (colour type 2 or 0, 8 bits per channel).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodePng } from "./png.ts";
 * const bytes = encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array(6) });
 * assert.deepEqual([bytes[1], bytes[2], bytes[3]], [80, 78, 71]); // "PNG"
 * ```
 */
export function encodePng(image: Image8): Uint8Array {
  checkImage8(image, image?.channels === 1 ? 1 : 3, "image");
  const png = new PNG({ width: image.width, height: image.height });
  const n = image.width * image.height;
  for (let p = 0; p < n; p++) {
    const c = image.channels;
    png.data[4 * p] = image.data[c * p];
    png.data[4 * p + 1] = image.data[c * p + (c === 3 ? 1 : 0)];
    png.data[4 * p + 2] = image.data[c * p + (c === 3 ? 2 : 0)];
    png.data[4 * p + 3] = 255;
  }
  const buf = PNG.sync.write(png, { colorType: image.channels === 3 ? 2 : 0 });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Reads a PNG file as RGB ({@link decodePngRgb}); errors name the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPngRgb, writePng } from "./png.ts";
 * const dir = await Deno.makeTempDir();
 * await writePng(`${dir}/in.png`, { width: 2, height: 1, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
 * const image = await readPngRgb(`${dir}/in.png`);
 * assert.deepEqual([image.width, image.height, [...image.data]], [2, 1, [1, 2, 3, 4, 5, 6]]);
 * await assert.rejects(readPngRgb(`${dir}/missing.png`), /missing\.png: file: cannot read/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readPngRgb(path: string): Promise<Image8> {
  return decodePngRgb(await readBytes(path), path);
}

/**
 * Reads a PNG file as gray ({@link decodePngGray}); errors name the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPngGray, writePng } from "./png.ts";
 * const dir = await Deno.makeTempDir();
 * await writePng(`${dir}/mask.png`, { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 255, 255]) });
 * const mask = await readPngGray(`${dir}/mask.png`);
 * assert.deepEqual([mask.channels, mask.data[0]], [1, 255]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readPngGray(path: string): Promise<Image8> {
  return decodePngGray(await readBytes(path), path);
}

/**
 * Writes an 8-bit image as PNG atomically: a temporary file next to `path`, then a rename, so
 * a failure never leaves a half-written file. Parent folders are created.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readPngGray, writePng } from "./png.ts";
 * const dir = await Deno.makeTempDir();
 * await writePng(`${dir}/sub/out.png`, { width: 1, height: 1, channels: 1, data: new Uint8Array([42]) });
 * assert.equal((await readPngGray(`${dir}/sub/out.png`)).data[0], 42); // parent folder created
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writePng(path: string, image: Image8): Promise<void> {
  const bytes = encodePng(image);
  try {
    await writeFileAtomic(path, bytes);
  } catch (err) {
    throw new FileError(path, "file", `cannot write (${(err as Error).message})`, { cause: err });
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    throw new FileError(path, "file", `cannot read (${(err as Error).message})`, { cause: err });
  }
}

interface Rgba {
  width: number;
  height: number;
  rgba: Uint8Array;
}

function decodeRgba(bytes: Uint8Array, file: string): Rgba {
  if (!(bytes instanceof Uint8Array) || bytes.length < 8) {
    throw new FileError(file, "signature", "expected PNG data (at least the 8-byte signature)");
  }
  let png: ReturnType<typeof PNG.sync.read> & { transColor?: number[] };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new FileError(file, "data", `not a readable PNG (${(err as Error).message})`, {
      cause: err,
    });
  }
  if (png.depth === 16) {
    throw new FileError(
      file,
      "bit depth",
      "expected 1, 2, 4 or 8 bits per sample, got 16 (convert the image to 8 bits first)",
    );
  }
  const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
  const trns = png.transColor;
  if (trns && (png.colorType as number) !== 3) { // 3: palette
    // pngjs zeroes the colour of tRNS-keyed pixels; PIL's convert keeps it. Only keyed pixels
    // have alpha 0 in a colour type without an alpha channel, so restore them.
    const max = 2 ** png.depth - 1;
    const key = (trns.length === 1 ? [trns[0], trns[0], trns[0]] : trns).map((v) =>
      Math.floor((v * 255) / max + 0.5) // pngjs's scaleDepth rule
    );
    for (let p = 0; p < png.width * png.height; p++) {
      if (rgba[4 * p + 3] === 0) rgba.set(key, 4 * p);
    }
  }
  return { width: png.width, height: png.height, rgba };
}
