/**
 * Element-wise torch CPU half (float16) arithmetic on {@link Tensor}s whose float32 data hold
 * half values: each op computed in float32 and rounded to half (`f16`), with torch's rules for
 * scalar operands (core/numerics/f16.ts): `mul` / `div` with the scalar as the second operand
 * take its float32 value; a float32 0-dim tensor as the first operand of `mul` is cast to half
 * first. Shapes of two tensors must be equal; a mismatch throws a `RangeError` naming the op.
 *
 * @module
 */
import { f16 } from "../numerics/f16.ts";
import { Tensor } from "./tensor.ts";

function same(op: string, a: Tensor, b: Tensor): void {
  if (!a.sameShape(b)) {
    throw new RangeError(
      `${op}: shapes [${a.shape.join(", ")}] and [${
        b.shape.join(", ")
      }] differ (expected equal shapes)`,
    );
  }
}

/**
 * `t.to(torch.float16)`: every element rounded to the nearest half (ties to even).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toHalf } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(toHalf(new Tensor(new Float32Array([0.1, 1]), [2])).data, new Float32Array([0.0999755859375, 1]));
 * ```
 */
export function toHalf(t: Tensor): Tensor {
  return new Tensor(t.data.map(Math.f16round), t.shape);
}

/**
 * `a + b` of two half tensors (torch `add`): float32 sum rounded to half.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfAdd } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const a = new Tensor(new Float32Array([1]), [1]);
 * assert.equal(halfAdd(a, new Tensor(new Float32Array([2 ** -11]), [1])).data[0], 1); // tie to even
 * ```
 */
export function halfAdd(a: Tensor, b: Tensor): Tensor {
  same("halfAdd", a, b);
  const x = a.data;
  const y = b.data;
  return new Tensor(x.map((v, i) => f16(v + y[i])), a.shape);
}

/**
 * `a - b` of two half tensors (torch `sub`): float32 difference rounded to half.
 *
 * @throws {RangeError} when the shapes differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfSub } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const a = new Tensor(new Float32Array([1]), [1]);
 * assert.equal(halfSub(a, new Tensor(new Float32Array([0.25]), [1])).data[0], 0.75);
 * ```
 */
export function halfSub(a: Tensor, b: Tensor): Tensor {
  same("halfSub", a, b);
  const x = a.data;
  const y = b.data;
  return new Tensor(x.map((v, i) => f16(v - y[i])), a.shape);
}

/**
 * `t * s` of a half tensor and a scalar second operand (torch `mul`; also `s * t` for a Python
 * scalar, through `__rmul__`, and `t * z` for a float32 0-dim tensor `z`): aten's CPU `mul`
 * takes the scalar's float32 value (`original_scalar_value<float>`), multiplies in float32 and
 * rounds to half.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfMulScalar } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * // (1/24) * x with x = 55: float32(1/24) * 55 = 2.2916667 -> half 2.291015625
 * assert.equal(halfMulScalar(new Tensor(new Float32Array([55]), [1]), 1 / 24).data[0], 2.291015625);
 * ```
 */
export function halfMulScalar(t: Tensor, s: number): Tensor {
  const b = Math.fround(s);
  return new Tensor(t.data.map((v) => f16(v * b)), t.shape);
}

/**
 * `z * t` with a float32 0-dim tensor `z` as the first operand and a half tensor `t` (torch
 * `mul`): type promotion casts `z` to half first, then the product of two halves is rounded to
 * half (diffusers' `alpha_prod_t ** 0.5 * sample`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfMulScalar, halfScaledBy } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const t = new Tensor(new Float32Array([3]), [1]);
 * assert.equal(halfScaledBy(0.1, t).data[0], 0.2998046875); // half(0.1) * 3: a tie, to even
 * assert.equal(halfMulScalar(t, 0.1).data[0], 0.300048828125); // float32(0.1) * 3
 * ```
 */
export function halfScaledBy(z: number, t: Tensor): Tensor {
  const a = Math.f16round(Math.fround(z));
  return new Tensor(t.data.map((v) => f16(a * v)), t.shape);
}

/**
 * `t / s` of a half tensor and a scalar second operand (a Python scalar or a float32 0-dim
 * tensor; torch `div`): a true float32 division by the scalar's float32 value, rounded to
 * half (not a multiplication by its reciprocal).
 *
 * Division by 0 gives infinities, as torch does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { halfDivScalar } from "./half_ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.equal(halfDivScalar(new Tensor(new Float32Array([1]), [1]), 12).data[0], 0.08331298828125);
 * ```
 */
export function halfDivScalar(t: Tensor, s: number): Tensor {
  const b = Math.fround(s);
  return new Tensor(t.data.map((v) => f16(v / b)), t.shape);
}
