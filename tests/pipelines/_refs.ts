/**
 * Test helpers: the references that fixtures/gen/dump_images.py writes to fixtures/images/refs/
 * and float32 comparison helpers.
 *
 * @module
 */
import { ulpDistance } from "../../core/numerics/f32.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

/** The folder of the references, resolved from this file so tests run from any cwd. */
export const REFS = new URL("../../fixtures/images/refs/", import.meta.url);

/** A tensor as the dumper writes it. */
export interface TensorJson {
  shape: number[];
  data: number[];
}

/**
 * Reads `fixtures/images/refs/<name>` as JSON.
 *
 * @example
 * ```ts
 * import { readRef } from "./_refs.ts";
 * const ops = await readRef<{ cfg: unknown }>("pipeline_ops.json");
 * ```
 */
export async function readRef<T>(name: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(new URL(name, REFS))) as T;
}

/**
 * The path of `fixtures/images/refs/<name>`.
 *
 * @example
 * ```ts
 * import { refPath } from "./_refs.ts";
 * const p = refPath("png/rgb.png");
 * ```
 */
export function refPath(name: string): string {
  return new URL(name, REFS).pathname;
}

/**
 * A {@link Tensor} from its JSON form (values are exact float32 numbers).
 *
 * @example
 * ```ts
 * import { toTensor } from "./_refs.ts";
 * toTensor({ shape: [1], data: [0.5] }).data[0]; // 0.5
 * ```
 */
export function toTensor(t: TensorJson): Tensor {
  return new Tensor(Float32Array.from(t.data), t.shape);
}

/**
 * Index and ulp distance of the worst element, and how many elements differ.
 *
 * @example
 * ```ts
 * import { ulpReport } from "./_refs.ts";
 * import { Tensor } from "../../core/tensor/tensor.ts";
 * const a = new Tensor(new Float32Array([1, 2]), [2]);
 * ulpReport(a, a); // { maxUlp: 0, at: -1, differing: 0 }
 * ```
 */
export function ulpReport(
  actual: Tensor,
  expected: Tensor,
): { maxUlp: number; at: number; differing: number } {
  if (actual.size !== expected.size) {
    throw new Error(`size ${actual.size} != ${expected.size}`);
  }
  let maxUlp = 0, at = -1, differing = 0;
  for (let i = 0; i < actual.size; i++) {
    const d = ulpDistance(actual.data[i], expected.data[i]);
    if (d > 0) differing++;
    if (d > maxUlp) [maxUlp, at] = [d, i];
  }
  return { maxUlp, at, differing };
}

/**
 * Asserts bit equality of two tensors (shape and every element, signed zeros included), naming
 * the first mismatch.
 *
 * @example
 * ```ts
 * import { assertBitEqual } from "./_refs.ts";
 * import { Tensor } from "../../core/tensor/tensor.ts";
 * assertBitEqual(Tensor.zeros([2]), Tensor.zeros([2]), "zeros");
 * ```
 */
export function assertBitEqual(actual: Tensor, expected: Tensor, what: string): void {
  if (actual.shape.join(",") !== expected.shape.join(",")) {
    throw new Error(`${what}: shape [${actual.shape}] != [${expected.shape}]`);
  }
  for (let i = 0; i < actual.size; i++) {
    const a = actual.data[i], e = expected.data[i];
    if (!Object.is(a, e)) { // Object.is: NaN equals NaN, +0 differs from -0
      throw new Error(
        `${what}: element ${i} is ${Object.is(a, -0) ? "-0" : a}, expected ${
          Object.is(e, -0) ? "-0" : e
        }`,
      );
    }
  }
}
