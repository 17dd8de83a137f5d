import assert from "node:assert/strict";
import {
  checkCallCount,
  comparison,
  figures,
  stepFigures,
  withIeee,
} from "../../core/harness/compare.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const t = (v: number[]) => new Tensor(new Float32Array(v), [v.length]);
const img = () =>
  new Tensor(Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => i % 256), [1, 3, 16, 16]);
const step = (s: number, maxAbs: number) => ({
  step: s,
  t: 1000 - 100 * s,
  maxAbs,
  rmse: maxAbs / 2,
  relL2: maxAbs,
  cosine: 1,
  maxUlp: 0,
});

Deno.test("comparison keeps the worst figure with its step and the first violation of each bound", () => {
  const c = comparison(
    "freeRunOnnx",
    "r.safetensors",
    { maxAbs: 1e-5, relL2: 1e-3 },
    [step(0, 0), step(1, 2e-5), step(2, 5e-5), step(3, 3e-5)],
    [{ label: "final latents", figures: figures(t([1, 2]), t([1, 2])) }],
  );
  assert.equal(c.pass, false);
  assert.equal(c.subject, "latents after every step, and the final latents");
  assert.deepEqual([c.worst.maxAbs, c.worst.step], [5e-5, 2]);
  assert.equal(c.failures.length, 2, c.failures.join("\n"));
  assert.match(c.failures[0], /^maxAbs 2e-5 > 1e-5 \(2x\) at step 1 \(t=900\)/);
  assert.equal(c.failures[1], "(2 more violations at later steps)");
  const ok = comparison("image", "r", { psnrMin: 60 }, [], [{
    label: "image",
    figures: figures(img(), img(), true),
  }]);
  assert.deepEqual([ok.pass, ok.worst.psnr, ok.worst.step], [true, Infinity, null]);
});

Deno.test("stepFigures names a missing reference tensor; checkCallCount the count and timesteps", () => {
  const records = [{ index: 0, t: 999, prevSample: t([1]) }, {
    index: 1,
    t: 499,
    prevSample: t([2]),
  }];
  assert.throws(
    () =>
      stepFigures(
        records as StepRecord[],
        (r) => r.prevSample,
        (i) => (i === 0 ? t([1]) : undefined),
        "ref.st",
        "prev_sample",
      ),
    /ref.st: tensor 'prev_sample.1' missing; regenerate with `deno task refs`/,
  );
  const ref = { path: "ref.st", steps: 2, timesteps: [999, 500] };
  assert.throws(
    () => checkCallCount(records, ref, "free run"),
    /call 1 runs at t=499, the reference at t=500/,
  );
  assert.throws(
    () => checkCallCount(records.slice(1), ref, "free run"),
    /2 model calls, our free run made 1/,
  );
  checkCallCount(records, { ...ref, timesteps: [999, 499] }, "free run");
  // a replay over a prefix reference: the first calls, at the reference's timesteps
  const prefix = { path: "ref.st", timesteps: [999, 499, 1] };
  checkCallCount(records, prefix, "scheduler replay", 2);
  assert.throws(
    () => checkCallCount(records.slice(1), prefix, "model replay", 2),
    /^Error: ref\.st: the reference has per-step tensors for the first 2 of 3 model calls, our model replay made 1$/,
  );
  assert.throws(
    () => checkCallCount(records, prefix, "free run"),
    /the reference has 3 model calls, our free run made 2/,
  );
});

Deno.test("withIeee attaches the IEEE run's worst figures and verdict", () => {
  const a = comparison("replayScheduler", "r", { maxUlp: 0 }, [{ ...step(0, 0), maxUlp: 0 }]);
  const b = comparison("replayScheduler", "r", { maxUlp: 0 }, [{
    ...step(0, 1e-3),
    maxUlp: 4096,
  }]);
  const both = withIeee(a, b);
  assert.deepEqual([both.pass, both.ieee?.pass, both.ieee?.worst.maxUlp], [true, false, 4096]);
});
