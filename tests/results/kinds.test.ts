import assert from "node:assert/strict";
import { defaultTolerances } from "../../core/harness/case.ts";
import {
  COMPARISON_KINDS,
  type ComparisonKind,
  isComparisonKind,
} from "../../core/results/kinds.ts";

Deno.test("the comparison-kind table lists the five kinds in the order a case makes them", () => {
  assert.deepEqual(Object.keys(COMPARISON_KINDS), [
    "freeRunOnnx",
    "freeRunTorch",
    "replayScheduler",
    "replayModel",
    "image",
  ]);
  const short = Object.fromEntries(
    Object.entries(COMPARISON_KINDS).map(([k, v]) => [k, v.short]),
  );
  assert.deepEqual(short, {
    freeRunOnnx: "vs onnx",
    freeRunTorch: "vs torch",
    replayScheduler: "sched",
    replayModel: "model",
    image: "image",
  });
  assert.equal(COMPARISON_KINDS.freeRunOnnx.label, "free run vs diffusers + onnxruntime");
  assert.equal(COMPARISON_KINDS.image.label, "decoded image vs onnxruntime");
});

Deno.test("defaultTolerances are the table's tolerances, with today's values", () => {
  assert.deepEqual(defaultTolerances, {
    freeRunOnnx: { maxAbs: 1e-5 },
    freeRunTorch: { maxAbs: 1e-3, cosineMin: 0.99999 },
    replayScheduler: { maxUlp: 0 },
    replayModel: { maxAbs: 1e-5 },
    image: { psnrMin: 60 },
  });
  for (const kind of Object.keys(COMPARISON_KINDS) as ComparisonKind[]) {
    assert.deepEqual(defaultTolerances[kind], COMPARISON_KINDS[kind].tolerance, kind);
  }
});

Deno.test("the table is frozen, tolerances included", () => {
  assert.ok(Object.isFrozen(COMPARISON_KINDS));
  assert.ok(Object.isFrozen(COMPARISON_KINDS.freeRunTorch));
  assert.ok(Object.isFrozen(COMPARISON_KINDS.freeRunTorch.tolerance));
  assert.throws(() => {
    (COMPARISON_KINDS.freeRunOnnx.tolerance as { maxAbs?: number }).maxAbs = 1;
  }, TypeError);
});

Deno.test("isComparisonKind accepts the table's keys only", () => {
  assert.ok(isComparisonKind("replayModel"));
  assert.ok(!isComparisonKind("replay"));
  assert.ok(!isComparisonKind("constructor"));
});
