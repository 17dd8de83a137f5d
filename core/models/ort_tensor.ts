/**
 * Conversions between the project's float32 {@link Tensor} and onnxruntime tensors of the
 * element type a model declares: float32 or float16 for activations (float16 through
 * core/tensor/float16.ts, round to nearest even), and int32 / int64 / float for timesteps and
 * token ids.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import {
  float16ArrayToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16,
} from "../tensor/float16.ts";
import { Tensor } from "../tensor/tensor.ts";

/**
 * A value a session takes or returns: onnxruntime-node's `Tensor`, seen through the fields
 * diffparity reads (onnxruntime's own class is not part of this API; pass `new ort.Tensor(...)`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as ort from "onnxruntime-node";
 * import type { OrtTensor } from "./ort_tensor.ts";
 * const t: OrtTensor = new ort.Tensor("float32", new Float32Array(2), [1, 2]);
 * assert.deepEqual([t.type, [...t.dims]], ["float32", [1, 2]]);
 * ```
 */
export interface OrtTensor {
  /** The element type, e.g. "float32", "float16", "int64". */
  readonly type: string;
  /** The shape. */
  readonly dims: readonly number[];
  /** The elements (a typed array of the element type). */
  readonly data: ArrayLike<number | bigint | string> & Iterable<number | bigint | string>;
}

/**
 * `t` as an onnxruntime tensor of element type `type` (`float32`: the same buffer, no copy;
 * `float16`: narrowed to binary16 bit patterns).
 *
 * @param what names the value in error messages (e.g. `unet/model.onnx input 'sample'`)
 * @throws {TypeError} for another element type.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Tensor } from "../tensor/tensor.ts";
 * import { toOrtFloat } from "./ort_tensor.ts";
 * const o = toOrtFloat(new Tensor(new Float32Array([1, 2]), [1, 2]), "float16", "x");
 * assert.deepEqual([o.type, o.dims], ["float16", [1, 2]]);
 * ```
 */
export function toOrtFloat(t: Tensor, type: string, what: string): ort.Tensor {
  const dims = [...t.shape];
  if (type === "float32") return new ort.Tensor("float32", t.data, dims);
  if (type === "float16") return float16Tensor(float32ArrayToFloat16(t.data), dims);
  throw new TypeError(`${what}: cannot feed element type ${type} (expected float32 or float16)`);
}

/**
 * A float16 onnxruntime tensor holding the binary16 bit patterns `bits`.
 *
 * Where `Float16Array` exists (Deno has it), onnxruntime-common 1.30 re-wraps Uint16Array data
 * of a float16 tensor as a Float16Array view, and onnxruntime-node's N-API binding under Deno
 * then reads 0 bytes from it ("not enough space: expected 64, got 0"). The tensor's data is set
 * back to the Uint16Array view of the same bytes, which the binding reads correctly.
 */
function float16Tensor(bits: Uint16Array, dims: number[]): ort.Tensor {
  const tensor = new ort.Tensor("float16", bits, dims);
  if (!(tensor.data instanceof Uint16Array)) {
    const internal = tensor as unknown as { cpuData?: unknown };
    if (!("cpuData" in internal)) {
      throw new Error(
        "onnxruntime-common changed: cannot keep float16 data as Uint16Array (no cpuData field)",
      );
    }
    internal.cpuData = bits;
  }
  return tensor;
}

/**
 * An onnxruntime float32 or float16 output as a float32 {@link Tensor} (float16 widened
 * exactly).
 *
 * @param what names the value in error messages
 * @throws {TypeError} for another element type.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as ort from "onnxruntime-node";
 * import { fromOrtFloat } from "./ort_tensor.ts";
 * const t = fromOrtFloat(new ort.Tensor("float16", new Uint16Array([0x3c00]), [1]), "y");
 * assert.equal(t.data[0], 1);
 * ```
 */
export function fromOrtFloat(v: OrtTensor, what: string): Tensor {
  const dims = [...v.dims];
  if (v.type === "float32") return new Tensor(v.data as Float32Array, dims);
  if (v.type === "float16") {
    // onnxruntime-common stores float16 as Float16Array where the runtime has it (Deno does),
    // else as Uint16Array: read the bit patterns either way.
    const data = v.data as unknown as ArrayBufferView & { length: number };
    const bits = new Uint16Array(data.buffer, data.byteOffset, data.length);
    return new Tensor(float16ArrayToFloat32(bits), dims);
  }
  throw new TypeError(`${what}: got element type ${v.type} (expected float32 or float16)`);
}

/**
 * A tensor of `shape` filled from `values` in the element type `type`, converted as numpy's
 * `np.array(values, dtype)` does: integer types truncate toward zero (diffusers'
 * `np.array([t], dtype=timestep_dtype)`), float16 rounds to nearest even.
 *
 * @param what names the value in error messages
 * @throws {TypeError} for an unsupported element type, or a value out of the type's range.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { numbersToOrt } from "./ort_tensor.ts";
 * const t = numbersToOrt([981], [1], "int64", "timestep");
 * assert.equal(t.type, "int64");
 * assert.deepEqual(t.data, new BigInt64Array([981n]));
 * ```
 */
export function numbersToOrt(
  values: readonly number[],
  shape: readonly number[],
  type: string,
  what: string,
): ort.Tensor {
  const dims = [...shape];
  const checkInt = (limit: number) =>
    values.map((v) => {
      const i = Math.trunc(v);
      if (!Number.isFinite(v) || Math.abs(i) > limit) {
        throw new TypeError(`${what}: value ${v} does not fit element type ${type}`);
      }
      return i === 0 ? 0 : i; // no -0
    });
  switch (type) {
    case "int64":
      return new ort.Tensor(
        "int64",
        BigInt64Array.from(checkInt(Number.MAX_SAFE_INTEGER), (v) => BigInt(v)),
        dims,
      );
    case "int32":
      return new ort.Tensor("int32", Int32Array.from(checkInt(2 ** 31 - 1)), dims);
    case "float32":
      return new ort.Tensor("float32", Float32Array.from(values), dims);
    case "float64":
      return new ort.Tensor("float64", Float64Array.from(values), dims);
    case "float16":
      return float16Tensor(Uint16Array.from(values, (v) => float32ToFloat16(v)), dims);
    default:
      throw new TypeError(
        `${what}: cannot feed element type ${type} (expected int64, int32, float32, float16 or float64)`,
      );
  }
}
