import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { encodeNpy, npyToTensor, parseNpy, readNpy, writeNpy } from "../../core/tensor/npy.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { entries, pathOf } from "./_npy_refs.ts";

Deno.test("encodeNpy writes exactly numpy.save's bytes for every C-order v1 reference", async () => {
  let compared = 0;
  for (const e of entries) {
    if (e.fortran_order || e.version !== "1.0") continue;
    const bytes = await Deno.readFile(pathOf(e));
    const arr = parseNpy(bytes);
    assert.deepEqual(encodeNpy(arr), bytes, e.file);
    if (e.descr === "<f4") assert.deepEqual(encodeNpy(npyToTensor(arr)), bytes, e.file);
    compared++;
  }
  // The v1 C-order files: {le, be} x {f4, f8, f2, i8, i4} _C, u1_C, b1_C, f4_0d, be_f8_0d,
  // f4_empty, i4_1d, u1_pad_edge.
  assert.equal(compared, 17);
});

Deno.test("writeNpy/readNpy round trip, and raw descrs round trip through encodeNpy", async () => {
  const dir = await Deno.makeTempDir();
  const t = new Tensor(new Float32Array([1, -0, NaN, 3e-45, -Infinity, 2.5]), [3, 2]);
  await writeNpy(`${dir}/a/b/x.npy`, t);
  const back = await readNpy(`${dir}/a/b/x.npy`);
  assert.deepEqual(back.shape, [3, 2]);
  assert.deepEqual(new Uint32Array(back.data.buffer), new Uint32Array(t.data.buffer));
  const cases: { descr: string; data: ArrayBufferView & ArrayLike<number | bigint> }[] = [
    { descr: ">f4", data: new Float32Array([1.5, -2]) },
    { descr: ">f8", data: new Float64Array([0.1, -1e300]) },
    { descr: "<f2", data: new Uint16Array([0x3c00, 0x8001]) },
    { descr: ">i8", data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { descr: "<u8", data: new BigUint64Array([2n ** 64n - 1n, 0n]) },
    { descr: ">i2", data: new Int16Array([-32768, 7]) },
    { descr: "|i1", data: new Int8Array([-128, 127]) },
    { descr: "|b1", data: new Uint8Array([1, 0]) },
  ];
  for (const c of cases) {
    const arr = parseNpy(encodeNpy({ descr: c.descr, shape: [2], data: c.data }));
    assert.equal(arr.descr, c.descr);
    assert.deepEqual(
      Array.from(arr.data as ArrayLike<number | bigint>),
      Array.from(c.data),
      c.descr,
    );
  }
});

Deno.test("encodeNpy switches to format 2.0 when the header outgrows 65535 bytes", () => {
  const shape = new Array(25000).fill(1);
  const bytes = encodeNpy(new Tensor(new Float32Array([7]), shape));
  assert.equal(bytes[6], 2);
  const headerLength = new DataView(bytes.buffer).getUint32(8, true);
  assert.ok(headerLength > 65535);
  assert.equal((12 + headerLength) % 64, 0);
  const arr = parseNpy(bytes);
  assert.equal(arr.shape.length, 25000);
  assert.deepEqual([...arr.data], [7]);
});

Deno.test("encodeNpy rejects bad descr, data type and length with FileError", () => {
  const bad: [{ descr: string; shape: number[]; data: ArrayBufferView }, string][] = [
    [{ descr: "<f4", shape: [3], data: new Float32Array(2) }, "data"],
    [{ descr: "<f4", shape: [2], data: new Float64Array(2) }, "data"],
    [{ descr: "=f4", shape: [1], data: new Float32Array(1) }, "descr"],
    [{ descr: "|f4", shape: [1], data: new Float32Array(1) }, "descr"],
    [{ descr: "<u1", shape: [1], data: new Uint8Array(1) }, "descr"],
    [{ descr: "<c8", shape: [1], data: new Float32Array(2) }, "descr"],
    [{ descr: "<f4", shape: [-1], data: new Float32Array(0) }, "shape"],
  ];
  for (const [input, field] of bad) {
    assert.throws(
      () => encodeNpy(input),
      (e: unknown) => e instanceof FileError && e.field === field,
      `${input.descr} ${field}`,
    );
  }
});
