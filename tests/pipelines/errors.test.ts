import assert from "node:assert/strict";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";

Deno.test("PipelineInputError names where, the field and the problem", () => {
  const e = new PipelineInputError("img2img", "strength", "expected a number in [0, 1], got 2");
  assert.equal(e.message, "img2img: strength: expected a number in [0, 1], got 2");
  assert.equal(e.name, "PipelineInputError");
  assert.deepEqual([e.where, e.field], ["img2img", "strength"]);
});

Deno.test("NonFiniteError names the step, the timestep, the tensor and the element", () => {
  const e = new NonFiniteError({
    stepIndex: 4,
    timestep: 601,
    tensor: "prevSample",
    elementIndex: 12,
    value: -Infinity,
  });
  assert.equal(
    e.message,
    "non-finite value in prevSample at step 4 (timestep 601): element 12 is -Infinity",
  );
  assert.deepEqual([e.stepIndex, e.timestep, e.tensor, e.elementIndex], [4, 601, "prevSample", 12]);
  const before = new NonFiniteError({
    stepIndex: -1,
    tensor: "initLatents",
    elementIndex: 0,
    value: NaN,
  });
  assert.equal(before.message, "non-finite value in initLatents at step -1: element 0 is NaN");
  assert.equal(before.timestep, undefined);
});
