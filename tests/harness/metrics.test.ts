import assert from "node:assert/strict";
import {
  compareTensors,
  cosineSimilarity,
  firstNonFinite,
  maxAbsDiff,
  maxUlpDistance,
  relativeL2,
  rmse,
} from "../../core/harness/metrics.ts";
import { psnr, ssim } from "../../core/harness/image_metrics.ts";
import { ulpDistance } from "../../core/numerics/f32.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const FIXTURE = decodeURIComponent(
  new URL("../../fixtures/refs/metrics/metrics.safetensors", import.meta.url).pathname,
);

interface Expected {
  maxAbsDiff: number;
  maxAbsIndex: number;
  rmse: number;
  relativeL2: number;
  cosineSimilarity: number;
  dataRange?: number;
  psnr?: number;
  ssim?: number;
  maxUlp?: number;
  maxUlpIndex?: number;
}

async function load(): Promise<[SafetensorsFile, Record<string, Expected>]> {
  const f = await readSafetensors(FIXTURE);
  return [f, JSON.parse(f.metadata.expected)];
}

/** |x - y| <= 1e-9 |y| (exact equality for 0). */
function close(x: number, y: number, what: string): void {
  assert.ok(Math.abs(x - y) <= 1e-9 * Math.abs(y), `${what}: ${x} vs ${y} (rel 1e-9)`);
}

Deno.test("metrics equal numpy / scikit-image figures within 1e-9 relative", async () => {
  const [f, expected] = await load();
  let checked = 0;
  for (const [name, e] of Object.entries(expected)) {
    if (name === "nonfinite") continue;
    const a = f.tensor(`${name}.actual`);
    const b = f.tensor(`${name}.reference`);
    close(maxAbsDiff(a, b), e.maxAbsDiff, `${name} maxAbsDiff`);
    close(rmse(a, b), e.rmse, `${name} rmse`);
    close(relativeL2(a, b), e.relativeL2, `${name} relativeL2`);
    close(cosineSimilarity(a, b), e.cosineSimilarity, `${name} cosineSimilarity`);
    const c = compareTensors(a, b, { dataRange: e.dataRange, ssim: e.ssim !== undefined });
    close(c.maxAbs, e.maxAbsDiff, `${name} compareTensors.maxAbs`);
    assert.equal(c.maxAbsIndex, e.maxAbsIndex, `${name} maxAbsIndex`);
    close(c.rmse, e.rmse, `${name} compareTensors.rmse`);
    close(c.relL2, e.relativeL2, `${name} compareTensors.relL2`);
    close(c.cosine, e.cosineSimilarity, `${name} compareTensors.cosine`);
    assert.equal(c.size, a.size);
    checked += 9;
    if (e.psnr !== undefined) {
      close(psnr(a, b, e.dataRange!), e.psnr, `${name} psnr`);
      close(c.psnr!, e.psnr, `${name} compareTensors.psnr`);
      checked += 2;
    }
    if (e.ssim !== undefined) {
      close(ssim(a, b, { dataRange: e.dataRange! }), e.ssim, `${name} ssim`);
      close(c.ssim!, e.ssim, `${name} compareTensors.ssim`);
      checked += 2;
    }
    if (e.maxUlp !== undefined) {
      assert.deepEqual(maxUlpDistance(a, b), { maxUlp: e.maxUlp, index: e.maxUlpIndex });
      assert.equal(c.maxUlp, e.maxUlp);
      assert.equal(c.maxUlpIndex, e.maxUlpIndex);
      checked += 3;
    }
  }
  console.log(`metrics: ${checked} figures checked against numpy / scikit-image`);
  assert.ok(checked > 60);
});

Deno.test("ulpDistance counts np.nextafter steps (zero crossings, subnormals, infinity)", async () => {
  const [f] = await load();
  const a = f.tensor("ulp.a").data;
  const b = f.tensor("ulp.b").data;
  const steps = f.ints("ulp.steps");
  let mismatches = 0;
  for (let i = 0; i < a.length; i++) {
    if (ulpDistance(a[i], b[i]) !== steps[i]) mismatches++;
    if (ulpDistance(b[i], a[i]) !== steps[i]) mismatches++;
  }
  console.log(`ulpDistance: ${2 * a.length} pairs checked, ${mismatches} mismatches`);
  assert.equal(mismatches, 0);
  assert.ok(b.some((x) => x === Infinity), "the table must walk into infinity");
  assert.ok(a.some((x, i) => x < 0 && b[i] > 0), "the table must cross zero");
});

Deno.test("ulpDistance: definitions for zeros, NaN and non-float32 arguments", () => {
  assert.equal(ulpDistance(0, -0), 0);
  assert.equal(ulpDistance(-(2 ** -149), 2 ** -149), 2);
  assert.equal(ulpDistance(NaN, NaN), Infinity);
  assert.equal(ulpDistance(1, NaN), Infinity);
  assert.equal(ulpDistance(3.4028234663852886e38, Infinity), 1);
  assert.equal(ulpDistance(0.1, Math.fround(0.1)), 0); // rounded to float32 first
  assert.equal(ulpDistance(1, 2), 2 ** 23);
  const m = maxUlpDistance(new Float32Array([1, NaN, 2]), new Float32Array([1, 1, 5]));
  assert.deepEqual(m, { maxUlp: Infinity, index: 1 });
  assert.deepEqual(maxUlpDistance(new Float32Array(0), new Float32Array(0)), {
    maxUlp: 0,
    index: -1,
  });
});

Deno.test("firstNonFinite finds the first NaN or infinity as np.isfinite does", async () => {
  const [f, expected] = await load();
  const x = f.tensor("nonfinite");
  assert.equal(
    firstNonFinite(x),
    (expected.nonfinite as unknown as { firstNonFinite: number }).firstNonFinite,
  );
  assert.equal(firstNonFinite(new Float32Array([1, 2])), -1);
  assert.equal(firstNonFinite(Tensor.zeros([0])), -1);
  const c = compareTensors(x, Tensor.zeros([x.size]));
  assert.equal(c.firstNonFiniteActual, 3);
  assert.equal(c.firstNonFiniteReference, -1);
  assert.ok(Number.isNaN(c.maxAbs) && Number.isNaN(c.rmse) && Number.isNaN(c.cosine));
  assert.equal(c.maxAbsIndex, 4); // the first NaN difference (inf - 0 is inf, nan - 0 is nan)
});

Deno.test("metrics: the defined edge cases (0/0, identical and empty inputs)", async () => {
  const z = Tensor.zeros([2, 3]);
  assert.equal(relativeL2(z, z), 0);
  assert.equal(relativeL2(new Float32Array([1, 0]), new Float32Array([0, 0])), Infinity);
  assert.equal(cosineSimilarity(z, z), 1);
  assert.equal(cosineSimilarity(new Float32Array([1, 0]), new Float32Array([0, 0])), 0);
  const [f] = await load();
  const img = f.tensor("image_chw.reference");
  assert.equal(psnr(img, img, 1), Infinity);
  assert.equal(ssim(img, img, { dataRange: 1 }), 1);
  const e = compareTensors(new Float32Array(0), new Float32Array(0), { dataRange: 1 });
  assert.deepEqual(e, {
    size: 0,
    maxAbs: 0,
    maxAbsIndex: -1,
    rmse: 0,
    relL2: 0,
    cosine: 1,
    maxUlp: 0,
    maxUlpIndex: -1,
    firstNonFiniteActual: -1,
    firstNonFiniteReference: -1,
    psnr: Infinity,
  });
  // a clamped cosine for exactly opposite vectors
  const v = new Float32Array([0.1, 0.7, -0.3]);
  assert.equal(cosineSimilarity(v, v.map((x) => -x)), -1);
});

Deno.test("metrics: shape and option errors name the function, the argument and the expectation", () => {
  const a = Tensor.zeros([2, 3]);
  const b = Tensor.zeros([3, 2]);
  assert.throws(
    () => rmse(a, b),
    /rmse: actual \[2, 3\] vs reference \[3, 2\] \(expected equal shapes\)/,
  );
  assert.throws(
    () => maxAbsDiff(new Float32Array(2), new Float32Array(3)),
    /maxAbsDiff: actual Float32Array\(2\) vs reference Float32Array\(3\)/,
  );
  assert.throws(
    () => cosineSimilarity([1] as unknown as Float32Array, a),
    /cosineSimilarity: actual: expected a Tensor or a Float32Array/,
  );
  assert.throws(() => psnr(a, a, 0), /psnr: dataRange: got 0 \(expected a finite number > 0/);
  assert.throws(
    () => ssim(a, a, { dataRange: 1 }),
    /ssim: actual \[2, 3\] \(expected a Tensor shaped \[C, H, W\] or \[N, C, H, W\]\)/,
  );
  const small = Tensor.zeros([1, 10, 12]);
  assert.throws(
    () => ssim(small, small, { dataRange: 1 }),
    /ssim: actual \[1, 10, 12\]: images are 10 x 12 \(expected at least 11 x 11/,
  );
  const img = Tensor.zeros([1, 12, 12]);
  assert.throws(
    () => ssim(img, img, { dataRange: 1, windowSize: 4 }),
    /ssim: opts.windowSize: got 4/,
  );
  assert.throws(() => ssim(img, img, { dataRange: NaN }), /ssim: dataRange: got NaN/);
  assert.throws(
    () => compareTensors(img, img, { ssim: true }),
    /compareTensors: options.ssim needs options.dataRange/,
  );
});

/** The float32 whose IEEE-754 bit pattern is `bits`, as a JS number. */
function f32FromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

Deno.test("ulpDistance: every NaN bit pattern, on either side, is farther than any number", () => {
  // Positive and negative quiet NaNs, NaNs with payloads, and NaNs one bit above infinity: as
  // ordered integers these patterns sit just past +/-Infinity, so a distance taken from the
  // bits would be finite. They must all count as infinitely far.
  const nans = [0x7fc00000, 0xffc00000, 0x7fc00001, 0xffffffff, 0x7f800001, 0xff800001].map(
    f32FromBits,
  );
  for (const nan of nans) assert.ok(Number.isNaN(nan));
  const others = [0, -0, 1, -1, f32FromBits(0x7f7fffff), Infinity, -Infinity, f32FromBits(1)];
  let pairs = 0;
  for (const nan of nans) {
    for (const x of [...others, ...nans]) {
      assert.equal(ulpDistance(x, nan), Infinity, `ulpDistance(${x}, NaN)`);
      assert.equal(ulpDistance(nan, x), Infinity, `ulpDistance(NaN, ${x})`);
      pairs += 2;
    }
  }
  assert.equal(pairs, 2 * 6 * (8 + 6));
  // The largest finite distance there is, -Infinity to +Infinity: 2 * 0x7f800000 steps.
  assert.equal(ulpDistance(-Infinity, Infinity), 2 * 0x7f800000);
  // A NaN in the reference (second argument) after that largest finite distance still wins,
  // and is located, in maxUlpDistance and in compareTensors.
  const actual = new Float32Array([1, -Infinity, 2, 3]);
  const reference = new Float32Array([1, Infinity, 2, f32FromBits(0xffc00000)]);
  assert.deepEqual(maxUlpDistance(actual, reference), { maxUlp: Infinity, index: 3 });
  const c = compareTensors(actual, reference);
  assert.equal(c.maxUlp, Infinity);
  assert.equal(c.maxUlpIndex, 3);
  assert.equal(c.firstNonFiniteReference, 1);
});
