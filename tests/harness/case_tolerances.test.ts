import assert from "node:assert/strict";
import { defaultTolerances, mergeTolerances } from "../../core/harness/case_tolerances.ts";

const fail = (field: string, problem: string): never => {
  throw new Error(`${field}: ${problem}`);
};

Deno.test("mergeTolerances: nothing given is the defaults; null drops a bound, a number adds one", () => {
  assert.deepEqual(mergeTolerances(undefined, fail), defaultTolerances);
  const merged = mergeTolerances({
    replayModel: { relL2: 1e-4 },
    image: { psnrMin: null, ssimMin: 0.9 },
  }, fail);
  assert.deepEqual(merged.replayModel, { maxAbs: 1e-5, relL2: 1e-4 });
  assert.deepEqual(merged.image, { ssimMin: 0.9 });
});

Deno.test("mergeTolerances names the field: unknown kind, unknown or unmeasured bound, bad value, no bound left", () => {
  assert.throws(
    () => mergeTolerances({ nope: {} } as never, fail),
    /^Error: tolerances\.nope: unknown comparison/,
  );
  assert.throws(
    () => mergeTolerances({ image: { maxabs: 1 } } as never, fail),
    /tolerances\.image\.maxabs: unknown bound/,
  );
  assert.throws(
    () => mergeTolerances({ freeRunOnnx: { psnrMin: 40 } }, fail),
    /tolerances\.freeRunOnnx\.psnrMin: not measured/,
  );
  assert.throws(
    () => mergeTolerances({ image: { psnrMin: -1 } }, fail),
    /expected a finite number >= 0/,
  );
  assert.throws(
    () => mergeTolerances({ replayScheduler: { maxUlp: null } }, fail),
    /tolerances\.replayScheduler: no bound left/,
  );
});
