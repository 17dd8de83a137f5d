import { ieeeMath } from "../../core/numerics/f32_math.ts";
import assert from "node:assert/strict";
import { alphaAt } from "../../core/schedulers/betas.ts";
import {
  clipOrThreshold,
  clipSample,
  ddimPrevSample,
  predictOriginalAndEpsilon,
  thresholdSample,
} from "../../core/schedulers/prediction.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("clipSample and thresholdSample clamp as torch does", () => {
  const x = new Tensor(new Float32Array([-3, 0.5, 2, NaN]), [4]);
  const clipped = clipSample(x, 1).data;
  assert.deepEqual([...clipped.slice(0, 3)], [-1, 0.5, 1]);
  assert.ok(Number.isNaN(clipped[3]));
  // s = quantile(|x|, 0.5) = 2.5 per row (clamped to [1, 3]): divide by s
  const rows = new Tensor(new Float32Array([1, -2, 3, 4, 0.1, 0.2, -0.3, 0.4]), [2, 4]);
  const th = thresholdSample(rows, 0.5, 3).data;
  assert.deepEqual([...th.slice(0, 4)], [1, -2, 2.5, 2.5].map((v) => Math.fround(v / 2.5)));
  // second row: quantile 0.25 < 1, so s = 1 and the row is unchanged
  assert.deepEqual([...th.slice(4)], [0.1, 0.2, -0.3, 0.4].map(Math.fround));
  assert.throws(() => thresholdSample(new Tensor(new Float32Array(2), [2]), 0.9, 1), /batch/);
});

Deno.test("ddimPrevSample is formula (12): float32 sqrt(a_prev) * x0 + direction * eps", () => {
  const x0 = new Float32Array([0.3, -1.7, 2.5]);
  const eps = new Float32Array([0.1, 0.2, -0.9]);
  const sa = Math.fround(Math.sqrt(0.7));
  const dir = Math.fround(Math.sqrt(0.3));
  const f = Math.fround;
  const expected = [...x0].map((v, i) => f(f(sa * v) + f(dir * eps[i])));
  assert.deepEqual([...ddimPrevSample(x0, eps, sa, dir)], expected);
});

Deno.test("clipOrThreshold: thresholding first, else clip_sample, else x0 unchanged", () => {
  const x0 = new Tensor(new Float32Array([0.5, -3, 2, 1.25]), [1, 4]);
  const base = {
    thresholding: false,
    dynamicThresholdingRatio: 0.995,
    sampleMaxValue: 2,
    clipSample: false,
    clipSampleRange: 1.5,
  };
  assert.equal(clipOrThreshold(x0, base), x0);
  assert.deepEqual(
    [...clipOrThreshold(x0, { ...base, clipSample: true }).data],
    [...clipSample(x0, 1.5).data],
  );
  // thresholding wins over clip_sample, as in diffusers' step
  assert.deepEqual(
    [...clipOrThreshold(x0, { ...base, clipSample: true, thresholding: true }).data],
    [...thresholdSample(x0, 0.995, 2).data],
  );
});

Deno.test("alphaAt and predictOriginalAndEpsilon reject bad input with a clear message", () => {
  assert.throws(() => alphaAt(new Float32Array(3), 3, "X.step"), /X\.step: timestep 3 is outside/);
  assert.throws(() => alphaAt(new Float32Array(3), 1.5, "X.step"), /integer/);
  const x = Tensor.zeros([1]);
  assert.throws(() => predictOriginalAndEpsilon("eps", x, x, 0.5, ieeeMath), /must be one of/);
});
