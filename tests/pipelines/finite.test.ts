import assert from "node:assert/strict";
import { NonFiniteError } from "../../core/pipelines/errors.ts";
import { assertFinite } from "../../core/pipelines/finite.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("assertFinite returns finite tensors and reports the first NaN / infinity", () => {
  const ok = new Tensor(new Float32Array([0, -0, 3.4e38, -1e-45]), [4]);
  assert.equal(assertFinite(ok, { stepIndex: 0, tensor: "x" }), ok);
  for (const bad of [NaN, Infinity, -Infinity]) {
    const t = new Tensor(new Float32Array([1, 2, bad, NaN]), [2, 2]);
    assert.throws(
      () => assertFinite(t, { stepIndex: 7, timestep: 41, tensor: "modelOutput" }),
      (e: unknown) =>
        e instanceof NonFiniteError && e.elementIndex === 2 && Object.is(e.value, bad) &&
        e.stepIndex === 7 && e.timestep === 41 && e.tensor === "modelOutput",
    );
  }
});
