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
 * import { Tensor } from "../tensor/tensor.ts";
 * import { assertFinite } from "./finite.ts";
 * assertFinite(Tensor.zeros([2]), { stepIndex: 0, timestep: 981, tensor: "prevSample" });
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
