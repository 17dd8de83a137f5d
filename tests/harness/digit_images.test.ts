import assert from "node:assert/strict";
import { loadDigitClassifier } from "../../core/harness/digit_classifier.ts";
import {
  classBalancedImages,
  digitFeatures,
  upsampleDigits,
} from "../../core/harness/digit_images.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

// torch's upsample of two held-out digits, dumped by fixtures/gen/dump_digit_classifier.py
const REFS = "fixtures/refs/digits/classifier.safetensors";

Deno.test("upsampleDigits equals torch's bilinear interpolate (align_corners=False) exactly", async () => {
  const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
  const refs = await readSafetensors(REFS);
  const two = c.heldout!.images.subarray(0, 128);
  for (const size of [16, 32]) {
    const ours = upsampleDigits(two, 2, size);
    const ref = refs.tensor(`upsample.${size}`);
    assert.deepEqual(ours.shape, ref.shape);
    assert.deepEqual(ours.data, ref.data, `upsample ${size}`);
  }
});

Deno.test("upsampling to 8 keeps the digit, and pooling the 16/32 px upsample gives the same features", async () => {
  const c = await loadDigitClassifier("fixtures/models/digit-classifier.json");
  const h = c.heldout!;
  const same = digitFeatures(upsampleDigits(h.images, h.count, 8), "[-1,1]");
  assert.deepEqual(same, h.images); // x / 16 * 2 - 1, back: exact
  const f16 = digitFeatures(upsampleDigits(h.images, h.count, 16), "[-1,1]");
  const f32 = digitFeatures(upsampleDigits(h.images, h.count, 32), "[-1,1]");
  assert.deepEqual(f16, f32); // as digits_data's path (asserted by the dumper too)
  assert.notDeepEqual(f16, h.images); // bilinear smooths
});

Deno.test("digitFeatures: RGB is the channel mean; blocks are averaged; non-square sizes work", () => {
  // [1, 3, 8, 16]: channel c holds c / 2; blocks of 1x2 pixels
  const data = new Float32Array(3 * 8 * 16);
  for (let c = 0; c < 3; c++) data.fill(c / 2, c * 128, (c + 1) * 128);
  data[0] = 1; // red of pixel (0, 0): grey (1 + 0.5 + 1) / 3 there
  const f = digitFeatures(new Tensor(data, [1, 3, 8, 16]), "[0,1]");
  assert.equal(f.length, 64);
  assert.ok(Math.abs(f[0] - ((2.5 / 3 + 0.5) / 2) * 16) < 1e-12);
  assert.ok(f.subarray(1).every((v) => Math.abs(v - 8) < 1e-12));
});

Deno.test("digitFeatures says which range is wrong, and refuses bad shapes and non-finite values", () => {
  assert.throws(
    () => digitFeatures(Tensor.zeros([1, 1, 12, 12]), "[0,1]"),
    /expected \[N, C, H, W\] with H and W multiples of 8, got \[1, 1, 12, 12\]/,
  );
  assert.throws(() => digitFeatures(Tensor.zeros([8, 8]), "[0,1]"), /got \[8, 8\]/);
  assert.throws(
    () => digitFeatures(new Tensor(new Float32Array(64).fill(NaN), [1, 1, 8, 8]), "[-1,1]"),
    /element 0 is NaN/,
  );
  const signed = new Tensor(new Float32Array(64).fill(-0.5), [1, 1, 8, 8]);
  assert.throws(
    () => digitFeatures(signed, "[0,1]"),
    /element 0 is -0.5, outside \[0, 1\] \(range "\[0,1\]"; a model's raw output is range "\[-1,1\]"\)/,
  );
  assert.throws(
    () => digitFeatures(signed, "0..1" as "[0,1]"),
    /range: expected "\[0,1\]" or "\[-1,1\]", got 0..1/,
  );
  // [-1, 1]: (x / 2 + 0.5) then clamped: -0.5 -> 0.25 -> 4 on the 0..16 scale
  assert.deepEqual([...digitFeatures(signed, "[-1,1]")].slice(0, 2), [4, 4]);
});

Deno.test("upsampleDigits refuses a wrong image count or size", () => {
  assert.throws(() => upsampleDigits(new Float64Array(63), 1, 16), /expected 1 images of 8x8 = 64/);
  assert.throws(
    () => upsampleDigits(new Float64Array(64), 1, 0),
    /size: expected a positive integer/,
  );
});

Deno.test("classBalancedImages: class by class from the held-out digits, as the model's channels", async () => {
  const heldout = (await loadDigitClassifier("fixtures/models/digit-classifier.json")).heldout!;
  const { images, meta } = classBalancedImages(heldout, 12, 16, 1, "m");
  assert.deepEqual(meta.map((m) => m.label), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  // each is its held-out digit upsampled as training did, the second 0 the file's second 0
  const second0 = heldout.labels.indexOf(0, heldout.labels.indexOf(0) + 1);
  assert.equal(meta[10].index, heldout.indices[second0]);
  const alone = upsampleDigits(heldout.images.slice(second0 * 64, second0 * 64 + 64), 1, 16);
  assert.deepEqual([...images[10].data], [...alone.data]);
  const rgb = classBalancedImages(heldout, 1, 32, 3, "m").images[0];
  assert.deepEqual(rgb.shape, [1, 3, 32, 32]);
  assert.deepEqual([...rgb.data.slice(0, 1024)], [...rgb.data.slice(2048)]); // grey in every channel
  assert.throws(
    () => classBalancedImages(heldout, 181, 16, 1, "m"),
    /m: images: asked for 181 held-out digits, the file has 180/,
  );
});
