import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import {
  decodePngGray,
  decodePngRgb,
  encodePng,
  readPngGray,
  readPngRgb,
  writePng,
} from "../../core/pipelines/png.ts";
import { readRef, refPath } from "./_refs.ts";

interface PngDecodeRefs {
  images: Record<
    string,
    { mode: string; width: number; height: number; rgb: number[]; gray: number[] }
  >;
}

Deno.test("readPngRgb / readPngGray equal PIL's convert('RGB') / convert('L') for every colour type", async () => {
  const refs = await readRef<PngDecodeRefs>("png_decode.json");
  const names = Object.keys(refs.images);
  assert.deepEqual(names.sort(), [
    "bilevel",
    "gray",
    "gray_alpha",
    "gray_trns",
    "palette",
    "rgb",
    "rgb_trns",
    "rgba",
  ]);
  for (const name of names) {
    const ref = refs.images[name];
    const rgb = await readPngRgb(refPath(`png/${name}.png`));
    assert.equal(rgb.width, ref.width, name);
    assert.equal(rgb.height, ref.height, name);
    assert.deepEqual([...rgb.data], ref.rgb, `${name} (${ref.mode}) as RGB`);
    const gray = await readPngGray(refPath(`png/${name}.png`));
    assert.deepEqual([...gray.data], ref.gray, `${name} (${ref.mode}) as L`);
  }
});

Deno.test("encodePng -> decodePng round-trips RGB and gray bytes", () => {
  const data = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37 + 11) % 256);
  const rgb = { width: 5, height: 3, channels: 3 as const, data };
  assert.deepEqual(decodePngRgb(encodePng(rgb)), rgb);
  const gray = { width: 3, height: 5, channels: 1 as const, data: data.subarray(0, 15) };
  const back = decodePngGray(encodePng(gray));
  assert.deepEqual([...back.data], [...gray.data]);
  assert.equal(back.width, 3);
  // a gray PNG read as RGB replicates the channel
  assert.deepEqual([...decodePngRgb(encodePng(gray)).data.subarray(0, 6)], [
    data[0],
    data[0],
    data[0],
    data[1],
    data[1],
    data[1],
  ]);
});

Deno.test("16-bit PNGs are refused with the file and 'bit depth' named", async () => {
  const path = refPath("png/gray16.png");
  await assert.rejects(
    () => readPngRgb(path),
    (e: unknown) =>
      e instanceof FileError && e.file === path && e.field === "bit depth" &&
      /got 16/.test(e.message),
  );
});

Deno.test("corrupt or missing PNGs raise FileError naming the file", async () => {
  const good = encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) });
  const broken = good.slice(0, good.length - 20);
  assert.throws(
    () => decodePngRgb(broken, "cut.png"),
    (e: unknown) => e instanceof FileError && e.file === "cut.png" && e.field === "data",
  );
  assert.throws(
    () => decodePngRgb(new Uint8Array(3)),
    (e: unknown) => e instanceof FileError && e.file === "<bytes>" && e.field === "signature",
  );
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    () => readPngRgb(`${dir}/none.png`),
    (e: unknown) => e instanceof FileError && e.file === `${dir}/none.png` && e.field === "file",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writePng writes atomically: the file appears whole, no temporary file is left", async () => {
  const dir = await Deno.makeTempDir();
  const image = { width: 4, height: 2, channels: 3 as const, data: new Uint8Array(24).fill(77) };
  await writePng(`${dir}/sub/out.png`, image);
  assert.deepEqual(await readPngRgb(`${dir}/sub/out.png`), image);
  const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
  assert.deepEqual(names, ["out.png"]);
  // a write that cannot happen (the target is a folder) leaves the folder as it was
  await Deno.mkdir(`${dir}/taken.png`);
  await assert.rejects(() => writePng(`${dir}/taken.png`, image), FileError);
  assert.ok(Deno.statSync(`${dir}/taken.png`).isDirectory);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["sub", "taken.png"]);
  // a malformed image is refused before anything is written
  assert.throws(() => encodePng({ ...image, data: new Uint8Array(3) }), /bytes/);
  await Deno.remove(dir, { recursive: true });
});
