import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { float16ToFloat32 } from "../../core/tensor/float16.ts";
import {
  encodeNpy,
  type NpyArray,
  npyToTensor,
  parseNpy,
  readNpy,
  writeNpy,
} from "../../core/tensor/npy.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const REFS = new URL("../../fixtures/refs/tensor_io/", import.meta.url);
type Entry = {
  file: string;
  version: string;
  descr: string;
  shape: number[];
  fortran_order: boolean;
  values: (number | string)[];
  float32_bits: number[];
};
const entries: Entry[] = JSON.parse(
  await Deno.readTextFile(new URL("npy_expected.json", REFS)),
).files;
const pathOf = (e: Entry) => new URL(`npy/${e.file}`, REFS).pathname;

function expectedNumber(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v as number;
}

/** The parsed elements as JS values comparable with the JSON sidecar. */
function valuesOf(arr: NpyArray): (number | bigint)[] {
  if (arr.descr.endsWith("f2")) return Array.from(arr.data as Uint16Array, float16ToFloat32);
  return Array.from(arr.data as ArrayLike<number | bigint>);
}

Deno.test("the reference set covers every required descr, order and version", () => {
  const descrs = new Set(entries.map((e) => e.descr));
  for (
    const d of ["<f4", ">f4", "<f8", ">f8", "<f2", ">f2", "<i8", ">i8", "<i4", ">i4", "|u1", "|b1"]
  ) {
    assert.ok(descrs.has(d), d);
  }
  assert.deepEqual(new Set(entries.map((e) => e.version)), new Set(["1.0", "2.0", "3.0"]));
  assert.ok(entries.some((e) => e.fortran_order && e.version === "2.0"));
  assert.ok(entries.some((e) => e.shape.length === 0));
  assert.ok(entries.some((e) => e.shape.includes(0)));
});

Deno.test("every .npy file numpy wrote is in the sidecar, once: 33 files, 747 elements", () => {
  const onDisk = [...Deno.readDirSync(new URL("npy/", REFS))]
    .filter((d) => d.isFile && d.name.endsWith(".npy"))
    .map((d) => d.name)
    .sort();
  assert.deepEqual(entries.map((e) => e.file).sort(), onDisk);
  assert.equal(onDisk.length, 33);
  // 24 arrays of shape [2, 3, 4] (24 elements), 0-d (1) x 2, [0, 3], [5], [2, 3, 2, 2], 100
  // u1 along 14 axes, [3, 4], [4, 3], [4, 4].
  const elements = entries.reduce((n, e) => n + e.shape.reduce((a, d) => a * d, 1), 0);
  assert.equal(elements, 24 * 24 + 2 + 0 + 5 + 24 + 100 + 12 + 12 + 16);
});

for (const e of entries) {
  Deno.test(`parseNpy reads numpy's ${e.file} (${e.descr}, v${e.version})`, async () => {
    const bytes = await Deno.readFile(pathOf(e));
    assert.equal(`${bytes[6]}.${bytes[7]}`, e.version);
    const arr = parseNpy(bytes, pathOf(e));
    assert.equal(arr.descr, e.descr);
    assert.deepEqual(arr.shape, e.shape);
    assert.equal(arr.fortranOrder, e.fortran_order);
    const got = valuesOf(arr);
    // Every element is compared: as many as the shape numpy recorded holds.
    const size = e.shape.reduce((a, d) => a * d, 1);
    assert.equal(e.values.length, size, "sidecar values");
    assert.equal(e.float32_bits.length, size, "sidecar float32_bits");
    assert.equal(got.length, size, "parsed elements");
    e.values.forEach((w, i) => {
      const g = got[i];
      if (typeof g === "bigint") assert.equal(g, BigInt(w as string), `${i}`);
      else if (typeof w === "string" && /^-?\d+$/.test(w)) assert.equal(g, Number(w), `${i}`);
      else {
        const want = expectedNumber(w);
        assert.ok(
          Object.is(g, want) || (Number.isNaN(g) && Number.isNaN(want)),
          `${i}: ${g} ${want}`,
        );
      }
    });
    // npyToTensor / readNpy equal numpy's arr.astype(np.float32), bit for bit.
    for (const t of [npyToTensor(arr), await readNpy(pathOf(e))]) {
      assert.deepEqual(t.shape, e.shape);
      assert.equal(t.data.length, size, "tensor elements");
      const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
      e.float32_bits.forEach((want, i) => {
        const wantNaN = (want & 0x7fffffff) > 0x7f800000;
        if (wantNaN) assert.ok(Number.isNaN(t.data[i]), `${i}`);
        else assert.equal(bits[i], want, `${e.file}[${i}]`);
      });
    }
  });
}

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

Deno.test("Fortran order is converted to C order (checked against the C-order twin)", async () => {
  const pairs: string[] = [];
  for (const e of entries.filter((x) => x.file.endsWith("_F.npy") && x.version === "1.0")) {
    const twin = entries.find((x) => x.file === e.file.replace("_F.npy", "_C.npy"));
    if (twin === undefined) continue;
    pairs.push(e.file);
    const f = parseNpy(await Deno.readFile(pathOf(e)));
    const c = parseNpy(await Deno.readFile(pathOf(twin)));
    assert.ok(f.fortranOrder && !c.fortranOrder);
    // NaN != NaN, so compare bytes.
    assert.deepEqual(
      new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength),
      new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength),
      e.file,
    );
  }
  // {le, be} x {f4, f8, f2, i8, i4}, u1 and b1 have a C-order twin; f4_4d_F has none and
  // be_i8_v2_F is format 2.0.
  assert.equal(pairs.length, 12, pairs.join(" "));
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

Deno.test("parseNpy accepts the header variants numpy accepts", () => {
  const make = (header: string, data: Uint8Array) => {
    const text = new TextEncoder().encode(header);
    const out = new Uint8Array(10 + text.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(out.buffer).setUint16(8, text.length, true);
    out.set(text, 10);
    out.set(data, 10 + text.length);
    return out;
  };
  const four = new Uint8Array(new Float32Array([2]).buffer);
  for (
    const header of [
      `{"descr": "<f4", "fortran_order": False, "shape": (1,)}\n`, // double quotes, no comma
      `{'shape': (1L,), 'fortran_order': False, 'descr': '<f4'}`, // Python 2 long, any order
      `{'descr':'=f4','fortran_order':True,'shape':( 1 , )}   \n`,
    ]
  ) {
    const arr = parseNpy(make(header, four));
    assert.deepEqual([...arr.data], [2], header);
    assert.deepEqual(arr.shape, [1]);
  }
});
