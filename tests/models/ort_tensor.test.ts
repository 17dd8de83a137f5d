import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { fromOrtFloat, numbersToOrt, toOrtFloat } from "../../core/models/ort_tensor.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

Deno.test("float32 goes to onnxruntime without a copy and comes back", () => {
  const t = new Tensor(new Float32Array([1.5, -2, 3]), [1, 3]);
  const o = toOrtFloat(t, "float32", "x");
  assert.equal(o.type, "float32");
  assert.deepEqual(o.dims, [1, 3]);
  assert.equal(o.data, t.data);
  const back = fromOrtFloat(o, "x");
  assert.deepEqual(back.shape, [1, 3]);
  assert.deepEqual([...back.data], [1.5, -2, 3]);
});

Deno.test("float16 narrows to IEEE half bit patterns (round to nearest even) and widens back", () => {
  // 1 -> 0x3c00, -2 -> 0xc000, 65504 (max half) -> 0x7bff, 1 + 2^-11 ties to even -> 0x3c00,
  // 1 + 3*2^-11 ties to even -> 0x3c02, 1e6 overflows -> 0x7c00 (+inf).
  const t = new Tensor(
    new Float32Array([1, -2, 65504, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1e6]),
    [6],
  );
  const o = toOrtFloat(t, "float16", "x");
  assert.equal(o.type, "float16");
  const data = o.data as unknown as ArrayBufferView & { length: number };
  const bits = new Uint16Array(data.buffer, data.byteOffset, data.length);
  assert.deepEqual([...bits], [0x3c00, 0xc000, 0x7bff, 0x3c00, 0x3c02, 0x7c00]);
  assert.deepEqual([...fromOrtFloat(o, "x").data], [1, -2, 65504, 1, 1 + 2 ** -9, Infinity]);
});

Deno.test("other element types are refused with the value named", () => {
  const t = Tensor.zeros([2]);
  assert.throws(() => toOrtFloat(t, "float64", "unet input 'sample'"), {
    message: "unet input 'sample': cannot feed element type float64 (expected float32 or float16)",
  });
  const i = new ort.Tensor("int32", new Int32Array(2), [2]);
  assert.throws(() => fromOrtFloat(i, "y"), {
    message: "y: got element type int32 (expected float32 or float16)",
  });
});

Deno.test("numbersToOrt converts as numpy's np.array(values, dtype)", () => {
  // np.array([981.0, -3.7], dtype=np.int64) == [981, -3]: truncation toward zero
  const i64 = numbersToOrt([981, -3.7], [2], "int64", "t");
  assert.deepEqual([...(i64.data as BigInt64Array)], [981n, -3n]);
  const i32 = numbersToOrt([0.9, 12], [2], "int32", "t");
  assert.ok(i32.data instanceof Int32Array);
  assert.deepEqual([...i32.data], [0, 12]);
  const f32 = numbersToOrt([0.1], [], "float32", "t");
  assert.deepEqual(f32.dims, []);
  assert.equal(f32.data[0], Math.fround(0.1));
  const f64 = numbersToOrt([0.1], [1], "float64", "t");
  assert.equal(f64.data[0], 0.1);
  const f16 = numbersToOrt([999], [1], "float16", "t");
  const d = f16.data as unknown as ArrayBufferView & { length: number };
  assert.deepEqual([...new Uint16Array(d.buffer, d.byteOffset, d.length)], [0x63ce]); // 999 in binary16
});

Deno.test("numbersToOrt refuses values that do not fit and unknown types", () => {
  assert.throws(() => numbersToOrt([2 ** 31], [1], "int32", "timestep"), {
    message: "timestep: value 2147483648 does not fit element type int32",
  });
  assert.throws(() => numbersToOrt([NaN], [1], "int64", "timestep"), /value NaN does not fit/);
  assert.throws(
    () => numbersToOrt([1], [1], "uint8", "ids"),
    /ids: cannot feed element type uint8/,
  );
});
