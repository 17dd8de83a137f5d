import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import {
  dtypeBits,
  encodeSafetensors,
  parseSafetensors,
  readSafetensors,
  SAFETENSORS_DTYPES,
  type SafetensorsDtype,
  type SafetensorsInput,
  writeSafetensors,
} from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const REFS = new URL("../../fixtures/refs/tensor_io/", import.meta.url);
const ALL_DTYPES = new URL("safetensors/all_dtypes.safetensors", REFS).pathname;
const NAME_ORDER = new URL("safetensors/name_order.safetensors", REFS).pathname;
const NO_TENSORS = new URL("safetensors/no_tensors.safetensors", REFS).pathname;
const expected = JSON.parse(await Deno.readTextFile(new URL("safetensors_expected.json", REFS)));

type Entry = {
  shape: number[];
  raw_sha256: string;
  values: (number | string)[] | null;
  float32_bits?: number[];
};
const entries: Record<string, Entry> = expected.tensors;

/** The dtype each reference tensor was saved with (fixtures/gen/dump_tensor_io.py). */
const DTYPE_OF: Record<string, SafetensorsDtype> = {
  bool: "BOOL",
  u8: "U8",
  i8: "I8",
  i16: "I16",
  u16: "U16",
  i32: "I32",
  u32: "U32",
  i64: "I64",
  i64_big: "I64",
  u64: "U64",
  u64_big: "U64",
  f16: "F16",
  bf16: "BF16",
  f32: "F32",
  f64: "F64",
  f8_e4m3: "F8_E4M3",
  f8_e5m2: "F8_E5M2",
  f8_e4m3fnuz: "F8_E4M3FNUZ",
  f8_e5m2fnuz: "F8_E5M2FNUZ",
  f8_e8m0: "F8_E8M0",
  c64: "C64",
  f4: "F4",
  scalar: "F32",
  empty: "F32",
};
const INTEGER_NAMES = ["bool", "u8", "i8", "i16", "u16", "i32", "u32", "i64", "u64"];
const UNSAFE_NAMES = ["i64_big", "u64_big"];

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function expectedNumber(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v as number;
}

function sameNumber(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

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

Deno.test("dtype table: every dtype has a size, and sub-byte types pack", () => {
  assert.equal(SAFETENSORS_DTYPES.length, 22);
  for (const d of SAFETENSORS_DTYPES) assert.ok([4, 6, 8, 16, 32, 64].includes(dtypeBits(d)), d);
  const f6 = encodeSafetensors({ x: { dtype: "F6_E2M3", shape: [4], data: new Uint8Array(3) } });
  assert.equal(parseSafetensors(f6).info("x").byteLength, 3);
});

/** A Python-written file split into its header object and its data section. */
function splitFile(bytes: Uint8Array): { header: Record<string, HeaderEntry>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, data: bytes.subarray(8 + n) };
}
type HeaderEntry = { dtype: string; shape: number[]; data_offsets: [number, number] };

/** A file made of `header` (as JSON) and `data`, with the 8-byte length prefix. */
function joinFile(header: object, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

Deno.test("data_offsets of a Python-written file: an end past the data or off dtype*shape is refused", async () => {
  const bytes = await Deno.readFile(ALL_DTYPES);
  const { header, data } = splitFile(bytes);
  assert.doesNotThrow(() => parseSafetensors(joinFile(header, data), "whole"));
  // The tensor whose bytes end the data section (not an empty tensor sitting at the end).
  const tensors = Object.entries(header).filter(([name]) => name !== "__metadata__");
  const ending = tensors.filter(([, e]) =>
    e.data_offsets[1] === data.length && e.data_offsets[0] < data.length
  );
  assert.equal(ending.length, 1, "exactly one non-empty tensor ends the data section");
  const last = ending[0][0];
  // 1. One byte missing from the data: the last tensor's end lies one byte past it.
  assert.throws(
    () => parseSafetensors(joinFile(header, data.subarray(0, data.length - 1)), "cut"),
    (e: unknown) => {
      assert.ok(e instanceof FileError, String(e));
      assert.equal(e.field, `${last}.data_offsets`);
      assert.equal(
        e.message,
        `cut: ${last}.data_offsets: end ${data.length} is past the end of the ` +
          `${data.length - 1}-byte data section (file truncated?)`,
      );
      return true;
    },
  );
  // 2. The header claims one more row of f32 than its data_offsets span (4 bytes per element).
  const f32 = header.f32;
  assert.equal(f32.dtype, "F32");
  const [begin, end] = f32.data_offsets;
  const shape = [f32.shape[0] + 1, ...f32.shape.slice(1)];
  const needs = shape.reduce((a, d) => a * d, 1) * 4;
  assert.ok(needs > end - begin);
  assert.throws(
    () => parseSafetensors(joinFile({ ...header, f32: { ...f32, shape } }, data), "rows"),
    (e: unknown) => {
      assert.ok(e instanceof FileError, String(e));
      assert.equal(e.field, "f32.shape");
      assert.match(
        e.message,
        new RegExp(
          `needs ${needs} bytes but data_offsets \\[${begin}, ${end}\\] span ${end - begin}`,
        ),
      );
      return true;
    },
  );
  // 3. ... and one fewer element than the span: too small is refused as well.
  const fewer = [...f32.shape.slice(0, -1), f32.shape.at(-1)! - 1];
  assert.throws(
    () => parseSafetensors(joinFile({ ...header, f32: { ...f32, shape: fewer } }, data), "cols"),
    (e: unknown) => e instanceof FileError && e.field === "f32.shape",
  );
});
