/**
 * The Tensor type: a float32 buffer with a shape, in C (row-major) order.
 *
 * @module
 */

/**
 * A dense float32 tensor in row-major order, the one value type that flows through
 * schedulers, pipelines and comparisons.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "./tensor.ts";
 * const t = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * assert.deepEqual([t.size, t.shape], [6, [2, 3]]);
 * assert.throws(() => new Tensor(new Float32Array(5), [2, 3]));
 * ```
 */
export class Tensor {
  /** The elements, row-major. */
  readonly data: Float32Array;
  /** The extent of every dimension; `[]` for a 0-d (scalar) tensor. */
  readonly shape: readonly number[];

  /**
   * Wraps `data` (not copied) with `shape`.
   *
   * @throws {RangeError} when the shape holds a negative or fractional extent, or when its
   * product differs from `data.length`.
   */
  constructor(data: Float32Array, shape: readonly number[]) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) {
        throw new RangeError(`Tensor: shape [${shape.join(", ")}] has an invalid extent ${d}`);
      }
    }
    const size = shapeSize(shape);
    if (size !== data.length) {
      throw new RangeError(
        `Tensor: shape [${shape.join(", ")}] needs ${size} elements, data has ${data.length}`,
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  /** The number of elements. */
  get size(): number {
    return this.data.length;
  }

  /**
   * A zero-filled tensor of the given shape.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Tensor } from "./tensor.ts";
   * assert.equal(Tensor.zeros([1, 4, 8, 8]).size, 256);
   * ```
   */
  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape);
  }

  /**
   * A deep copy (new buffer).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Tensor } from "./tensor.ts";
   * const a = Tensor.zeros([2]);
   * const b = a.clone();
   * b.data[0] = 1;
   * assert.deepEqual(a.data, new Float32Array([0, 0])); // a is unchanged
   * assert.deepEqual(b.shape, a.shape);
   * ```
   */
  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  /**
   * The same buffer seen with another shape of equal size.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Tensor } from "./tensor.ts";
   * assert.deepEqual(Tensor.zeros([2, 3]).reshape([3, 2]).shape, [3, 2]);
   * ```
   */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.data, shape);
  }

  /** True when `other` has the same shape. */
  sameShape(other: Tensor): boolean {
    return this.shape.length === other.shape.length &&
      this.shape.every((d, i) => d === other.shape[i]);
  }
}

/**
 * The product of a shape's extents (1 for a 0-d shape).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeSize } from "./tensor.ts";
 * assert.equal(shapeSize([2, 4, 8]), 64);
 * ```
 */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Throws unless `a` and `b` have the same shape.
 *
 * @throws {RangeError} naming `who` and both shapes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { assertSameShape, Tensor } from "./tensor.ts";
 * assertSameShape(Tensor.zeros([2]), Tensor.zeros([2]), "model_output", "sample", "step");
 * assert.throws(() => assertSameShape(Tensor.zeros([2]), Tensor.zeros([3]), "model_output", "sample", "step"), /step: model_output has shape \[2\]/);
 * ```
 */
export function assertSameShape(
  a: Tensor,
  b: Tensor,
  nameA: string,
  nameB: string,
  who: string,
): void {
  if (!a.sameShape(b)) {
    throw new RangeError(
      `${who}: ${nameA} has shape [${a.shape.join(", ")}] but ${nameB} has shape ` +
        `[${b.shape.join(", ")}] (expected equal shapes)`,
    );
  }
}
