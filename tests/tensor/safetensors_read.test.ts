import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import {
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
} from "../../core/tensor/safetensors.ts";
import {
  ALL_DTYPES,
  DTYPE_OF,
  entries,
  expected,
  expectedNumber,
  INTEGER_NAMES,
  sameNumber,
  sha256,
  UNSAFE_NAMES,
} from "./_safetensors_refs.ts";

Deno.test("reads every dtype of a file written by the Python safetensors library", async () => {
  const file = await readSafetensors(ALL_DTYPES);
  assert.equal(file.path, ALL_DTYPES);
  assert.deepEqual(file.metadata, expected.metadata);
  assert.deepEqual(new Set(file.names()), new Set(Object.keys(entries)));
  assert.equal(Object.keys(DTYPE_OF).length, Object.keys(entries).length);
  for (const [name, entry] of Object.entries(entries)) {
    const info = file.info(name);
    assert.equal(info.dtype, DTYPE_OF[name], name);
    // torch's float4_e2m1fn_x2 packs two values per element; the header counts values.
    assert.deepEqual(info.shape, name === "f4" ? [4] : entry.shape, name);
    assert.equal(await sha256(file.raw(name)), entry.raw_sha256, name);
    assert.equal(info.byteLength, file.raw(name).length);
  }
});

Deno.test("tensor() gives torch's t.float() bit for bit for every real dtype", async () => {
  const file = await readSafetensors(ALL_DTYPES);
  for (const [name, entry] of Object.entries(entries)) {
    if (entry.float32_bits === undefined) continue;
    const t = file.tensor(name);
    assert.deepEqual(t.shape, entry.shape, name);
    const bits = new Uint32Array(t.data.buffer);
    assert.equal(bits.length, entry.float32_bits.length, name);
    entry.float32_bits.forEach((want, i) => {
      // NaN payloads differ between torch's conversion paths; only F32 must keep them.
      const wantNaN = (want & 0x7fffffff) > 0x7f800000;
      if (wantNaN && DTYPE_OF[name] !== "F32") assert.ok(Number.isNaN(t.data[i]), `${name}[${i}]`);
      else assert.equal(bits[i], want, `${name}[${i}]`);
    });
  }
});

Deno.test("float64() gives the exact values of float tensors (F64 not narrowed)", async () => {
  const file = await readSafetensors(ALL_DTYPES);
  for (const [name, entry] of Object.entries(entries)) {
    if (entry.values === null || INTEGER_NAMES.includes(name) || UNSAFE_NAMES.includes(name)) {
      continue;
    }
    const got = file.float64(name);
    const want = entry.values.map(expectedNumber);
    assert.equal(got.length, want.length, name);
    want.forEach((w, i) => assert.ok(sameNumber(got[i], w), `${name}[${i}]: ${got[i]} vs ${w}`));
  }
  // 0.1 as float64 is not a float32: float64() must not have narrowed it.
  assert.ok(file.float64("f64").some((v) => v !== Math.fround(v)));
});

Deno.test("ints() gives integer tensors exactly and refuses unsafe 64-bit values", async () => {
  const file = await readSafetensors(ALL_DTYPES);
  for (const name of INTEGER_NAMES) {
    assert.deepEqual(file.ints(name), entries[name].values!.map(Number), name);
    assert.deepEqual([...file.float64(name)], entries[name].values!.map(Number), name);
  }
  for (const name of UNSAFE_NAMES) {
    assert.throws(
      () => file.ints(name),
      (e: unknown) =>
        e instanceof FileError && e.field === name && e.message.includes(ALL_DTYPES) &&
        /not a safe integer/.test(e.message),
    );
  }
  assert.throws(
    () => file.ints("f32"),
    (e: unknown) => e instanceof FileError && e.field === "f32",
  );
});

Deno.test("tensor() refuses C64 and F4 and missing names, naming file and tensor", async () => {
  const file = await readSafetensors(ALL_DTYPES);
  for (const name of ["c64", "f4", "nope"]) {
    assert.throws(
      () => file.tensor(name),
      (e: unknown) =>
        e instanceof FileError && e.file === ALL_DTYPES && e.field === name &&
        e.message.startsWith(`${ALL_DTYPES}: ${name}: `),
    );
  }
  assert.equal(file.has("nope"), false);
  assert.equal(file.has("f16"), true);
});

Deno.test("info() offsets point at the tensor's bytes in the file", () => {
  const bytes = encodeSafetensors({
    a: { dtype: "U8", shape: [3], data: new Uint8Array([1, 2, 3]) },
    b: { dtype: "I32", shape: [1], data: new Int32Array([-2]) },
  });
  const file = parseSafetensors(bytes);
  for (const name of file.names()) {
    const { byteOffset, byteLength, dataOffsets } = file.info(name);
    assert.deepEqual(bytes.subarray(byteOffset, byteOffset + byteLength), file.raw(name));
    assert.equal(dataOffsets[1] - dataOffsets[0], byteLength);
  }
  assert.deepEqual(file.names(), ["b", "a"]);
});
