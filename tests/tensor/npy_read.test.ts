import assert from "node:assert/strict";
import { npyToTensor, parseNpy, readNpy } from "../../core/tensor/npy.ts";
import { entries, expectedNumber, pathOf, REFS, valuesOf } from "./_npy_refs.ts";

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
