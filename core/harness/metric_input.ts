/**
 * What the comparison metrics accept (a `Tensor` or a flat `Float32Array`) and the check that
 * an actual and a reference line up.
 *
 * @module
 */
import { Tensor } from "../tensor/tensor.ts";

/**
 * What the metrics accept: a {@link Tensor}, or a flat `Float32Array`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { MetricInput } from "./metric_input.ts";
 * const x: MetricInput = new Float32Array([1, 2, 3]);
 * assert.equal(x.length, 3);
 * ```
 */
export type MetricInput = Tensor | Float32Array;

/**
 * The float32 values of a metric input (a Tensor's data, or the array itself).
 *
 * @throws {TypeError} naming `fn` and `arg` when `x` is neither.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricData } from "./metric_input.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * assert.deepEqual(metricData(Tensor.zeros([2]), "demo", "x"), new Float32Array(2));
 * ```
 */
export function metricData(x: MetricInput, fn: string, arg: string): Float32Array {
  if (x instanceof Tensor) return x.data;
  if (x instanceof Float32Array) return x;
  throw new TypeError(`${fn}: ${arg}: expected a Tensor or a Float32Array`);
}

/**
 * A metric input's shape for messages: `[2, 3]` for a Tensor, `Float32Array(6)` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { shapeText } from "./metric_input.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * assert.equal(shapeText(Tensor.zeros([2, 3])), "[2, 3]");
 * assert.equal(shapeText(new Float32Array(6)), "Float32Array(6)");
 * ```
 */
export function shapeText(x: MetricInput): string {
  return x instanceof Tensor ? `[${x.shape.join(", ")}]` : `Float32Array(${x.length})`;
}

/**
 * The two buffers of `actual` and `reference`, after checking that the shapes (Tensors) or
 * lengths (arrays) agree.
 *
 * @throws {RangeError} naming `fn` and both shapes when they differ.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { metricPair } from "./metric_input.ts";
 * const [a, b] = metricPair("demo", new Float32Array([1]), new Float32Array([2]));
 * assert.deepEqual([a[0], b[0]], [1, 2]);
 * assert.throws(() => metricPair("demo", new Float32Array(1), new Float32Array(2)), /demo: /);
 * ```
 */
export function metricPair(
  fn: string,
  actual: MetricInput,
  reference: MetricInput,
): [Float32Array, Float32Array] {
  const a = metricData(actual, fn, "actual");
  const b = metricData(reference, fn, "reference");
  const same = actual instanceof Tensor && reference instanceof Tensor
    ? actual.sameShape(reference)
    : a.length === b.length;
  if (!same) {
    throw new RangeError(
      `${fn}: actual ${shapeText(actual)} vs reference ${shapeText(reference)} ` +
        `(expected equal shapes)`,
    );
  }
  return [a, b];
}
