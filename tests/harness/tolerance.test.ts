import assert from "node:assert/strict";
import { fmt, violations } from "../../core/harness/tolerance.ts";

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

Deno.test("fmt prints integers plainly and small numbers in 3-digit exponent form", () => {
  assert.equal(fmt(0), "0");
  assert.equal(fmt(17), "17");
  assert.equal(fmt(0.000312345), "3.12e-4");
  assert.equal(fmt(0.5), "0.5");
  assert.equal(fmt(416.4), "416");
  assert.equal(fmt(Infinity), "Inf");
  assert.equal(fmt(0.99999), "0.99999", "a bound just under 1 keeps its digits");
  assert.equal(fmt(0.9999999999), "1", "beyond 9 digits it rounds");
});
