/**
 * Element-wise float32 arithmetic on {@link Tensor}s, rounded as torch rounds on CPU: every
 * operation is one IEEE float32 operation (computed in double, then `Math.fround`; double
 * rounding is harmless for + - * / since 53 >= 2 * 24 + 2), and a JS number operand is first
 * rounded to float32, as torch casts a Python scalar to the tensor's dtype. Shapes must be
 * equal (no broadcasting beyond a number operand); a mismatch throws a `RangeError` naming
 * the operation and both shapes.
 *
 * @module
 */
import { Tensor } from "./tensor.ts";

/** A tensor, or a number applied to every element. */
/**
 * An argument of the elementwise ops: a tensor, or a number broadcast to every element.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { add, type Operand } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const half: Operand = 0.5;
 * assert.deepEqual(add(new Tensor(new Float32Array([1]), [1]), half).data, new Float32Array([1.5]));
 * ```
 */
export type Operand = Tensor | number;

function shapeText(t: Tensor): string {
  return `[${t.shape.join(", ")}]`;
}

function elementwise(
  op: string,
  a: Operand,
  b: Operand,
  f: (x: number, y: number) => number,
): Tensor {
  if (typeof a === "number" && typeof b === "number") {
    throw new RangeError(`${op}: both operands are numbers (expected at least one Tensor)`);
  }
  if (a instanceof Tensor && b instanceof Tensor && !a.sameShape(b)) {
    throw new RangeError(
      `${op}: shapes ${shapeText(a)} and ${shapeText(b)} differ (expected equal shapes)`,
    );
  }
  const shape = (a instanceof Tensor ? a : b as Tensor).shape;
  const n = (a instanceof Tensor ? a : b as Tensor).size;
  const out = new Float32Array(n);
  if (a instanceof Tensor && b instanceof Tensor) {
    const x = a.data;
    const y = b.data;
    for (let i = 0; i < n; i++) out[i] = f(x[i], y[i]);
  } else if (a instanceof Tensor) {
    const x = a.data;
    const s = Math.fround(b as number);
    for (let i = 0; i < n; i++) out[i] = f(x[i], s);
  } else {
    const s = Math.fround(a);
    const y = (b as Tensor).data;
    for (let i = 0; i < n; i++) out[i] = f(s, y[i]);
  }
  return new Tensor(out, shape);
}

/**
 * `a + b` in float32 (torch `a + b`).
 *
 * @throws {RangeError} when two tensors differ in shape, or both operands are numbers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { add } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(add(new Tensor(new Float32Array([1, 2]), [2]), 0.5).data, new Float32Array([1.5, 2.5]));
 * ```
 */
export function add(a: Operand, b: Operand): Tensor {
  return elementwise("add", a, b, (x, y) => x + y);
}

/**
 * `a - b` in float32 (torch `a - b`, and `s - t` for a number `s`).
 *
 * @throws {RangeError} when two tensors differ in shape, or both operands are numbers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sub } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(sub(1, new Tensor(new Float32Array([0.25]), [1])).data, new Float32Array([0.75]));
 * ```
 */
export function sub(a: Operand, b: Operand): Tensor {
  return elementwise("sub", a, b, (x, y) => x - y);
}

/**
 * `a * b` in float32 (torch `a * b`).
 *
 * @throws {RangeError} when two tensors differ in shape, or both operands are numbers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mul } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const a = new Tensor(new Float32Array([2, 3]), [2]);
 * const b = new Tensor(new Float32Array([4, 5]), [2]);
 * assert.deepEqual(mul(a, b).data, new Float32Array([8, 15]));
 * ```
 */
export function mul(a: Operand, b: Operand): Tensor {
  return elementwise("mul", a, b, (x, y) => x * y);
}

/**
 * `a / b` in float32. With a number numerator, `s / t`, torch computes
 * `t.reciprocal() * s` (`Tensor.__rtruediv__`), two roundings; this does the same.
 *
 * @throws {RangeError} when two tensors differ in shape, or both operands are numbers
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { div } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(div(new Tensor(new Float32Array([1, 3]), [2]), 2).data, new Float32Array([0.5, 1.5]));
 * ```
 */
export function div(a: Operand, b: Operand): Tensor {
  if (typeof a === "number") {
    return elementwise("div", a, b, (s, y) => Math.fround(1 / y) * s);
  }
  return elementwise("div", a, b, (x, y) => x / y);
}

/**
 * `t * s` for a number `s` (rounded to float32 first), as torch `t * s`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scale } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(scale(new Tensor(new Float32Array([2, -4]), [2]), 0.5).data, new Float32Array([1, -2]));
 * ```
 */
export function scale(t: Tensor, s: number): Tensor {
  return mul(t, s);
}

/**
 * `a + s * b` evaluated as torch evaluates that Python expression: two float32 operations,
 * `fround(a + fround(fround(s) * b))` (not the fused `torch.add(a, b, alpha=s)`).
 *
 * @throws {RangeError} when `a` and `b` differ in shape
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addScaled } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * const a = new Tensor(new Float32Array([1, 1]), [2]);
 * const b = new Tensor(new Float32Array([2, 4]), [2]);
 * assert.deepEqual(addScaled(a, b, 0.5).data, new Float32Array([2, 3]));
 * ```
 */
export function addScaled(a: Tensor, b: Tensor, s: number): Tensor {
  const s32 = Math.fround(s);
  return elementwise("addScaled", a, b, (x, y) => x + Math.fround(s32 * y));
}

/**
 * Limits every element to `[lo, hi]` (bounds rounded to float32), as `torch.clamp(t, lo, hi)`:
 * `min(max(x, lo), hi)`, NaN stays NaN.
 *
 * @throws {RangeError} when `lo > hi` or a bound is NaN
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clamp } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(clamp(new Tensor(new Float32Array([-3, 0.5, 7]), [3]), -1, 1).data, new Float32Array([-1, 0.5, 1]));
 * ```
 */
export function clamp(t: Tensor, lo: number, hi: number): Tensor {
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
    throw new RangeError(`clamp: bounds [${lo}, ${hi}] (expected lo <= hi, neither NaN)`);
  }
  const l = Math.fround(lo);
  const h = Math.fround(hi);
  const x = t.data;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = v !== v ? v : v < l ? l : v > h ? h : v;
  }
  return new Tensor(out, t.shape);
}

/**
 * Joins tensors along axis 0 (`torch.cat(ts, dim=0)`); all must have the same extents after
 * the first axis.
 *
 * @throws {RangeError} when the list is empty, a tensor is 0-d, or trailing extents differ
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(concat([Tensor.zeros([1, 4]), Tensor.zeros([2, 4])]).shape, [3, 4]);
 * ```
 */
export function concat(ts: readonly Tensor[]): Tensor {
  if (ts.length === 0) throw new RangeError("concat: no tensors (expected at least one)");
  const first = ts[0];
  if (first.shape.length === 0) {
    throw new RangeError("concat: tensor 0 is 0-d (expected at least one axis)");
  }
  const rest = first.shape.slice(1);
  let rows = 0;
  ts.forEach((t, i) => {
    if (t.shape.length !== first.shape.length || rest.some((d, j) => t.shape[j + 1] !== d)) {
      throw new RangeError(
        `concat: tensor ${i} has shape ${shapeText(t)} (expected [*, ${rest.join(", ")}])`,
      );
    }
    rows += t.shape[0];
  });
  const out = new Float32Array(ts.reduce((n, t) => n + t.size, 0));
  let at = 0;
  for (const t of ts) {
    out.set(t.data, at);
    at += t.size;
  }
  return new Tensor(out, [rows, ...rest]);
}

/**
 * A copy of rows `start` (inclusive) to `end` (exclusive) along axis 0, as `t[start:end]`
 * with bounds that must lie within the tensor.
 *
 * @throws {RangeError} when the tensor is 0-d or the bounds are out of range
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sliceBatch } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(sliceBatch(new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]), 1, 2).data, new Float32Array([3, 4]));
 * ```
 */
export function sliceBatch(t: Tensor, start: number, end: number): Tensor {
  if (t.shape.length === 0) throw new RangeError("sliceBatch: tensor is 0-d (expected an axis 0)");
  const rows = t.shape[0];
  if (
    !Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > rows || start > end
  ) {
    throw new RangeError(
      `sliceBatch: rows [${start}, ${end}) of shape ${shapeText(t)} (expected ` +
        `0 <= start <= end <= ${rows})`,
    );
  }
  const rowSize = rows === 0 ? 0 : t.size / rows;
  return new Tensor(t.data.slice(start * rowSize, end * rowSize), [
    end - start,
    ...t.shape.slice(1),
  ]);
}

/**
 * Whether every element is finite; `index` is the first NaN or infinite element, -1 if none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isFiniteAll } from "./ops.ts";
 * import { Tensor } from "./tensor.ts";
 * assert.deepEqual(isFiniteAll(new Tensor(new Float32Array([1, NaN]), [2])), { ok: false, index: 1 });
 * ```
 */
export function isFiniteAll(t: Tensor): { ok: boolean; index: number } {
  const x = t.data;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) return { ok: false, index: i };
  }
  return { ok: true, index: -1 };
}
