import assert from "node:assert/strict";
import { roundTripFigures } from "../../core/harness/round_trip_metrics.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const img = (f: (i: number) => number) =>
  new Tensor(new Float32Array(3 * 16 * 16).map((_, i) => f(i)), [1, 3, 16, 16]);

Deno.test("roundTripFigures: PSNR with data range 2 on [-1, 1] (EDICT's convention), against original and ceiling", () => {
  const original = img((i) => Math.sin(i / 7));
  const ceiling = img((i) => Math.sin(i / 7) + 0.01);
  const decoded = img((i) => Math.sin(i / 7) + 0.02);
  const z = new Tensor(new Float32Array([1, 2, 3, 4]), [1, 4, 1, 1]);
  const zHat = new Tensor(new Float32Array([1, 2, 3, 4.5]), [1, 4, 1, 1]);
  const f = roundTripFigures({
    z0: z,
    reconstruction: zHat,
    original,
    decoded,
    ceiling,
    nfe: 100,
    ms: 3,
  });
  assert.equal(f.latentMse, 0.25 / 4);
  assert.equal(f.latentMaxAbs, 0.5);
  // values are clamped to [-1, 1] first, so the mean squared error is below 0.02^2 where sin is near 1
  assert.ok(f.pixelMse <= 0.02 ** 2 + 1e-12 && f.pixelMse > 0.9 * 0.02 ** 2);
  assert.ok(Math.abs(f.psnr - 10 * Math.log10(4 / f.pixelMse)) < 1e-9);
  assert.ok(f.ceilingPsnr > f.psnr && f.psnrVsCeiling > f.psnr);
  assert.ok(f.ssim > 0 && f.ssim < 1);
  const same = roundTripFigures({
    z0: z,
    reconstruction: z,
    original,
    decoded: original,
    ceiling,
    nfe: 1,
    ms: 0,
  });
  assert.deepEqual([same.ssim, same.psnr, same.latentMse], [1, Infinity, 0]);
  assert.deepEqual([f.nfe, f.ms], [100, 3]);
});

Deno.test("roundTripFigures: shapes must agree", () => {
  const a = img(() => 0);
  assert.throws(
    () =>
      roundTripFigures({
        z0: a,
        reconstruction: Tensor.zeros([1, 3]),
        original: a,
        decoded: a,
        ceiling: a,
        nfe: 0,
        ms: 0,
      }),
    /roundTripFigures: shapes \[1, 3\] and \[1, 3, 16, 16\] differ/,
  );
});
