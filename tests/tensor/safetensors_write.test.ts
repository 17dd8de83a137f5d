import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  type SafetensorsDtype,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { ALL_DTYPES, expected, NAME_ORDER, NO_TENSORS } from "./_safetensors_refs.ts";

Deno.test("encodeSafetensors reproduces the Python library's bytes (all dtypes, metadata)", async () => {
  const bytes = await Deno.readFile(ALL_DTYPES);
  const file = parseSafetensors(bytes, ALL_DTYPES);
  const inputs: Record<string, SafetensorsInput> = {};
  // Insert in reverse name order so that the encoder's own ordering is what is tested.
  for (const name of file.names().sort().reverse()) {
    const info = file.info(name);
    inputs[name] = { dtype: info.dtype, shape: info.shape, data: file.raw(name) };
  }
  assert.deepEqual(encodeSafetensors(inputs, file.metadata), bytes);
});

Deno.test("encodeSafetensors orders names bytewise in UTF-8 like the Rust crate", async () => {
  const bytes = await Deno.readFile(NAME_ORDER);
  const file = parseSafetensors(bytes, NAME_ORDER);
  assert.deepEqual(new Set(file.names()), new Set(expected.name_order));
  const inputs: Record<string, SafetensorsInput> = {};
  for (const name of expected.name_order as string[]) inputs[name] = file.tensor(name);
  assert.deepEqual(encodeSafetensors(inputs), bytes);
  // "\uff5e" sorts before "\u{1f600}" in UTF-8 but after it in UTF-16 code units.
  assert.ok(file.names().indexOf("\uff5e") < file.names().indexOf("\u{1f600}"));
  expected.name_order.forEach((name: string, i: number) => {
    assert.deepEqual([...file.tensor(name).data], [i, i]);
  });
});

Deno.test("a file with no tensors round-trips byte for byte", async () => {
  const bytes = await Deno.readFile(NO_TENSORS);
  const file = parseSafetensors(bytes);
  assert.deepEqual(file.names(), []);
  assert.deepEqual(file.metadata, {});
  assert.deepEqual(encodeSafetensors({}), bytes);
  assert.throws(
    () => file.tensor("x"),
    (e: unknown) => e instanceof FileError && /none/.test(e.message),
  );
});

Deno.test("round trip of every writable input form through writeSafetensors/readSafetensors", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/nested/rt.safetensors`;
  const f32 = new Tensor(new Float32Array([1.5, -0, NaN, Infinity, 3e-45, 7]), [2, 3]);
  await writeSafetensors(path, {
    f32,
    scalar: new Tensor(new Float32Array([4]), []),
    empty: Tensor.zeros([0, 5]),
    f16: { dtype: "F16", shape: [3], data: new Uint16Array([0x3c00, 0x7bff, 0x0001]) },
    bf16: { dtype: "BF16", shape: [2], data: new Uint16Array([0x4049, 0xbf80]) },
    f64: { dtype: "F64", shape: [2], data: new Float64Array([0.1, -1e300]) },
    i64: { dtype: "I64", shape: [2], data: new BigInt64Array([-(2n ** 53n) + 1n, 5n]) },
    u16: { dtype: "U16", shape: [2], data: new Uint16Array([65535, 0]) },
    flags: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    e4m3: { dtype: "F8_E4M3", shape: [2], data: new Uint8Array([0x38, 0xb8]) },
  }, { b: "2", a: "1" });
  const file = await readSafetensors(path);
  assert.deepEqual(file.metadata, { a: "1", b: "2" });
  assert.deepEqual([...new Uint32Array(file.tensor("f32").data.buffer)], [
    ...new Uint32Array(f32.data.buffer),
  ]);
  assert.deepEqual(file.tensor("f32").shape, [2, 3]);
  assert.deepEqual(file.tensor("scalar").shape, []);
  assert.deepEqual(file.tensor("empty").shape, [0, 5]);
  assert.deepEqual([...file.tensor("f16").data], [1, 65504, 2 ** -24]);
  assert.deepEqual([...file.tensor("bf16").data], [3.140625, -1]);
  assert.deepEqual([...file.float64("f64")], [0.1, -1e300]);
  assert.deepEqual([...file.tensor("f64").data], [Math.fround(0.1), -Infinity]);
  assert.deepEqual(file.ints("i64"), [-(2 ** 53) + 1, 5]);
  assert.deepEqual(file.ints("u16"), [65535, 0]);
  assert.deepEqual(file.ints("flags"), [1, 0, 1]);
  assert.deepEqual([...file.tensor("e4m3").data], [1, -1]);
  // Header padded to 8 bytes, then dtypes in descending enum order (I64 > F64 > F32 ...).
  const info = file.info("f64");
  assert.equal(info.byteOffset % 8, 0);
  assert.deepEqual(file.names().slice(0, 2), ["i64", "f64"]);
  assert.deepEqual([...Deno.readDirSync(`${dir}/nested`)].map((e) => e.name), ["rt.safetensors"]);
});

Deno.test("encodeSafetensors rejects inputs that would make a bad file", () => {
  const bad: [Record<string, SafetensorsInput>, string][] = [
    [{ x: { dtype: "F32", shape: [3], data: new Float32Array(2) } }, "x.data"],
    [{ x: { dtype: "F4", shape: [3], data: new Uint8Array(2) } }, "x.data"],
    [{ x: { dtype: "F99" as SafetensorsDtype, shape: [1], data: new Uint8Array(1) } }, "x.dtype"],
    [{ x: { dtype: "U8", shape: [-1], data: new Uint8Array(0) } }, "x.shape"],
    [{ __metadata__: Tensor.zeros([1]) }, "__metadata__"],
  ];
  for (const [tensors, field] of bad) {
    assert.throws(
      () => encodeSafetensors(tensors),
      (e: unknown) => e instanceof FileError && e.field === field,
      field,
    );
  }
  assert.throws(
    () => encodeSafetensors({}, { k: 3 as unknown as string }),
    (e: unknown) => e instanceof FileError && e.field === "__metadata__.k",
  );
});
