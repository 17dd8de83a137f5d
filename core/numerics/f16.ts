/**
 * float16 (IEEE binary16, torch's `Half`) emulation on JavaScript doubles: the precision a
 * sampler runs in, and the rounding of torch's CPU half arithmetic.
 *
 * torch 2.13 on CPU computes an elementwise op on half tensors in float32 (aten's `opmath_t`)
 * and rounds the float32 result to half: one {@link f16} of the op's float32 result. Scalars
 * follow torch's own rules (measured against torch 2.13 over every finite half, see
 * fixtures/gen/dump_half_ops.py): in `t * s`, `s * t` (a Python scalar, through `__rmul__`),
 * `t * z` and `t / s`, `t / z` (`z` a float32 0-dim tensor), aten's `mul` / `div` kernels take
 * the scalar's float32 value (`iter.original_scalar_value<opmath_t>`); a float32 0-dim tensor as
 * the first operand (`z * t`), and any scalar of `+` / `-`, is cast to half first (type
 * promotion keeps the half dtype).
 *
 * @module
 */

/**
 * The dtype a sampler's latents live in: `"float32"` (the default), or `"float16"` as
 * diffusers' StableDiffusionPipeline runs when its prompt embeddings are float16 (a float16
 * export under optimum's ORT pipeline).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Precision } from "./f16.ts";
 * const p: Precision = "float16";
 * assert.equal(p, "float16");
 * ```
 */
export type Precision = "float32" | "float16";

/**
 * The precisions a case can name, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PRECISIONS } from "./f16.ts";
 * assert.deepEqual(PRECISIONS, ["float32", "float16"]);
 * ```
 */
export const PRECISIONS: readonly Precision[] = Object.freeze(["float32", "float16"]);

/**
 * One torch CPU half op's rounding: the float32 result (`Math.fround` of the exact double
 * result of a float32 `+ - * /`), rounded to the nearest half, ties to even. Double rounding
 * included: torch rounds to float32 first, then to half (`c10::Half(float)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { f16 } from "./f16.ts";
 * assert.equal(f16(0.1), 0.0999755859375);
 * assert.equal(f16(65520), Infinity); // beyond the largest half, 65504
 * // float32 first, then half: 1 + 2^-11 + 2^-30 is 1 + 2^-11 in float32, a tie that goes to 1
 * assert.equal(f16(1 + 2 ** -11 + 2 ** -30), 1);
 * assert.equal(Math.f16round(1 + 2 ** -11 + 2 ** -30), 1 + 2 ** -10); // one rounding would differ
 * ```
 */
export function f16(x: number): number {
  return Math.f16round(Math.fround(x));
}

/**
 * Whether `x` is a half value (a float16 number held in a double or a float32).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isF16 } from "./f16.ts";
 * assert.deepEqual([isF16(0.5), isF16(0.1), isF16(NaN)], [true, false, true]);
 * ```
 */
export function isF16(x: number): boolean {
  return Number.isNaN(x) || Math.f16round(x) === x;
}
