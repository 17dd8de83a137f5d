/**
 * The NaN / infinity check the denoising loops run on every tensor they produce.
 *
 * @module
 */
import { isFiniteAll } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { NonFiniteError } from "./errors.ts";

/**
 * Throws a {@link NonFiniteError} naming the step, the timestep and the tensor when `tensor`
 * holds a NaN or an infinity; returns `tensor` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { assertFinite } from "./finite.ts";
 * const ok = Tensor.zeros([2]);
 * assert.equal(assertFinite(ok, { stepIndex: 0, timestep: 981, tensor: "prevSample" }), ok);
 * const bad = new Tensor(new Float32Array([0, NaN]), [2]);
 * assert.throws(
 *   () => assertFinite(bad, { stepIndex: 0, timestep: 981, tensor: "prevSample" }),
 *   /non-finite value in prevSample at step 0 \(timestep 981\): element 1 is NaN/,
 * );
 * ```
 */
export function assertFinite(
  tensor: Tensor,
  where: { stepIndex: number; timestep?: number; tensor: string },
): Tensor {
  const { index: i } = isFiniteAll(tensor);
  if (i >= 0) {
    throw new NonFiniteError({ ...where, elementIndex: i, value: tensor.data[i] });
  }
  return tensor;
}
