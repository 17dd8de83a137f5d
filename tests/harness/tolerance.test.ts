import assert from "node:assert/strict";
import { violations } from "../../core/harness/tolerance.ts";

const exact = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };

Deno.test("violations is empty when every bound holds, including equality", () => {
  assert.deepEqual(violations(exact, { maxAbs: 0, maxUlp: 0, cosineMin: 1 }), []);
});

Deno.test("violations names the bound, the figure, the ratio and where", () => {
  const v = violations(
    { ...exact, maxAbs: 3e-4, maxUlp: 12 },
    { maxAbs: 1e-4, maxUlp: 4 },
    "at step 7 (t=641)",
  );
  assert.deepEqual(v, [
    "maxAbs 3e-4 > 1e-4 (3x) at step 7 (t=641)",
    "maxUlp 12 > 4 (3x) at step 7 (t=641)",
  ]);
});

Deno.test("violations checks lower bounds for cosine, PSNR and SSIM", () => {
  const v = violations({ ...exact, cosine: 0.5, psnr: 20, ssim: 0.9 }, {
    cosineMin: 0.99,
    psnrMin: 40,
    ssimMin: 0.95,
  });
  assert.equal(v.length, 3);
  assert.match(v[0], /^cosine 0.5 < 0.99/);
  assert.match(v[1], /^psnr 20 < 40/);
  assert.match(v[2], /^ssim 0.9 < 0.95/);
});

Deno.test("a NaN figure fails every bound it meets", () => {
  const v = violations({ ...exact, maxAbs: NaN, cosine: NaN }, { maxAbs: 1, cosineMin: 0 });
  assert.deepEqual(v, ["maxAbs NaN > 1", "cosine NaN < 0"]);
});

/** The next double above (dir 1) or below (dir -1) a positive finite `x`, from its bits. */
function nextDouble(x: number, dir: 1 | -1): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(dir));
  return view.getFloat64(0);
}

Deno.test("a figure equal to a non-zero bound passes; the next double past it fails", () => {
  const next = nextDouble(1e-5, 1);
  assert.ok(next > 1e-5 && next - 1e-5 < 1e-20, "nextDouble steps one ulp");
  // maxAbs: at the bound, then one ulp above (and a bound that is not a power of two).
  assert.deepEqual(violations({ ...exact, maxAbs: 1e-5 }, { maxAbs: 1e-5 }), []);
  const abs = violations({ ...exact, maxAbs: next }, { maxAbs: 1e-5 });
  assert.equal(abs.length, 1);
  assert.match(abs[0], /^maxAbs 1e-5 > 1e-5 \(1x\)$/);
  // maxUlp: an integer bound, at it, then the next double above it, then the next integer.
  assert.deepEqual(violations({ ...exact, maxUlp: 4 }, { maxUlp: 4 }), []);
  assert.equal(violations({ ...exact, maxUlp: nextDouble(4, 1) }, { maxUlp: 4 }).length, 1);
  assert.deepEqual(violations({ ...exact, maxUlp: 5 }, { maxUlp: 4 }), ["maxUlp 5 > 4 (1.25x)"]);
  // The lower bounds mirror it: equal passes, the next double below fails.
  assert.deepEqual(violations({ ...exact, cosine: 0.99999 }, { cosineMin: 0.99999 }), []);
  const cos = violations({ ...exact, cosine: nextDouble(0.99999, -1) }, { cosineMin: 0.99999 });
  assert.equal(cos.length, 1);
  assert.match(cos[0], /^cosine 0\.99999 < 0\.99999$/);
});

Deno.test("a NaN PSNR, SSIM or cosine fails its lower bound, even the lowest possible one", () => {
  // NaN >= bound and NaN < bound are both false: only a negated >= check flags NaN.
  const v = violations(
    { ...exact, cosine: NaN, psnr: NaN, ssim: NaN },
    { cosineMin: -1, psnrMin: -Infinity, ssimMin: -1 },
    "in image",
  );
  assert.deepEqual(v, [
    "cosine NaN < -1 in image",
    "psnr NaN < -Inf in image",
    "ssim NaN < -1 in image",
  ]);
  // The same bounds pass any number, so it is the NaN that fails them.
  assert.deepEqual(
    violations({ ...exact, cosine: -1, psnr: -1e300, ssim: -1 }, {
      cosineMin: -1,
      psnrMin: -Infinity,
      ssimMin: -1,
    }),
    [],
  );
});
