import assert from "node:assert/strict";
import {
  bfloat16ArrayToFloat32,
  bfloat16ToFloat32,
  float16ArrayToFloat32,
  float16ToFloat32,
  float32ArrayToBfloat16,
  float32ArrayToFloat16,
  float32ToBfloat16,
  float32ToFloat16,
  float8ArrayToFloat32,
  type Float8Format,
  float8Table,
  int64ToFloat32,
} from "../../core/tensor/float16.ts";

const REFS = new URL("../../fixtures/refs/tensor_io/", import.meta.url);
const conversions = JSON.parse(await Deno.readTextFile(new URL("float_conversions.json", REFS)));
const stExpected = JSON.parse(
  await Deno.readTextFile(new URL("safetensors_expected.json", REFS)),
);

async function sha256(view: ArrayBufferView): Promise<string> {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const CANONICAL_NAN = 0x7fc00000;

/** float32 bit patterns of `values`, NaNs replaced by the canonical quiet NaN as the dump does. */
function canonicalBits(values: Float32Array): Uint32Array {
  const bits = new Uint32Array(values.buffer.slice(0));
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) bits[i] = CANONICAL_NAN;
  return bits;
}

const ALL16 = Uint16Array.from({ length: 65536 }, (_, i) => i);

Deno.test("float16ArrayToFloat32 matches torch on all 65536 half bit patterns", async () => {
  const widened = canonicalBits(float16ArrayToFloat32(ALL16));
  assert.equal(await sha256(widened), conversions.f16_to_f32.sha256);
});

Deno.test("float16ToFloat32 equals the array form and V8's Float16Array on every pattern", () => {
  const arrayForm = float16ArrayToFloat32(ALL16);
  const v8 = new Float16Array(ALL16.buffer);
  for (let h = 0; h < 65536; h++) {
    const x = float16ToFloat32(h);
    assert.ok(
      Object.is(x, arrayForm[h]) || (Number.isNaN(x) && Number.isNaN(arrayForm[h])),
      `${h}`,
    );
    assert.ok(Object.is(x, v8[h]) || (Number.isNaN(x) && Number.isNaN(v8[h])), `${h}`);
  }
});

Deno.test("float16ArrayToFloat32 keeps NaN payloads (bits << 13)", () => {
  const bits = new Uint32Array(float16ArrayToFloat32(new Uint16Array([0x7c01, 0xfe00])).buffer);
  assert.deepEqual([...bits], [0x7f802000, 0xffc00000]);
});

Deno.test("bfloat16ArrayToFloat32 matches torch on all 65536 bfloat16 bit patterns", async () => {
  const widened = canonicalBits(bfloat16ArrayToFloat32(ALL16));
  assert.equal(await sha256(widened), conversions.bf16_to_f32.sha256);
  const arrayForm = bfloat16ArrayToFloat32(ALL16);
  for (let h = 0; h < 65536; h++) {
    const x = bfloat16ToFloat32(h);
    assert.ok(
      Object.is(x, arrayForm[h]) || (Number.isNaN(x) && Number.isNaN(arrayForm[h])),
      `${h}`,
    );
  }
});

/** The float32 inputs of the structured narrowing sets: every high part, several low parts. */
function structuredInputs(lowBits: number, lows: number[]): Float32Array {
  const bits: number[] = [];
  for (let hi = 0; hi < 2 ** (32 - lowBits); hi++) {
    for (const lo of lows) {
      const b = (hi * 2 ** lowBits + lo) >>> 0;
      const isNaN = (b & 0x7f800000) === 0x7f800000 && (b & 0x007fffff) !== 0;
      if (!isNaN) bits.push(b);
    }
  }
  return new Float32Array(Uint32Array.from(bits).buffer);
}

Deno.test("float32ToFloat16 matches torch .half() on 2.6M structured float32 values", async () => {
  const ref = conversions.f32_to_f16;
  const inputs = structuredInputs(ref.low_bits, ref.lows);
  assert.equal(inputs.length, ref.count);
  const out = float32ArrayToFloat16(inputs);
  assert.equal(await sha256(out), ref.sha256);
});

Deno.test("float32ToBfloat16 matches torch .bfloat16() on structured float32 values", async () => {
  const ref = conversions.f32_to_bf16;
  const inputs = structuredInputs(ref.low_bits, ref.lows);
  assert.equal(inputs.length, ref.count);
  assert.equal(await sha256(float32ArrayToBfloat16(inputs)), ref.sha256);
});

Deno.test("float32ToFloat16 agrees with Math.f16round on random doubles rounded to float32", () => {
  let state = 12345;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const scratch = new Uint32Array(1);
  const asFloat = new Float32Array(scratch.buffer);
  for (let i = 0; i < 200_000; i++) {
    scratch[0] = next();
    const x = asFloat[0];
    if (Number.isNaN(x)) continue;
    const viaUs = float16ToFloat32(float32ToFloat16(x));
    assert.ok(Object.is(viaUs, Math.f16round(x)), `x=${x}`);
  }
});

Deno.test("NaN narrows as torch's scalar c10 conversions do", () => {
  assert.equal(float32ToFloat16(NaN), 0x7e00);
  assert.equal(float32ToFloat16(-NaN) & 0x7fff, 0x7e00);
  assert.equal(float32ToBfloat16(NaN), 0x7fc0);
  assert.ok(Number.isNaN(float16ToFloat32(float32ToFloat16(NaN))));
});

Deno.test("scalar narrowing rounds its argument to float32 first (no double rounding)", () => {
  // 1 + 2^-11 + 2^-40 is above the half tie as a double but is exactly the tie in float32.
  assert.equal(float32ToFloat16(1 + 2 ** -11 + 2 ** -40), 0x3c00);
  assert.equal(float32ToBfloat16(1 + 2 ** -8 + 2 ** -40), 0x3f80);
});

const FLOAT8: Record<string, Float8Format> = {
  f8_e4m3: "F8_E4M3",
  f8_e5m2: "F8_E5M2",
  f8_e4m3fnuz: "F8_E4M3FNUZ",
  f8_e5m2fnuz: "F8_E5M2FNUZ",
  f8_e8m0: "F8_E8M0",
};

function expectedNumber(v: number | string): number {
  return v === "nan" ? NaN : v === "inf" ? Infinity : v === "-inf" ? -Infinity : v as number;
}

for (const [name, format] of Object.entries(FLOAT8)) {
  Deno.test(`float8Table(${format}) matches torch on all 256 codes`, () => {
    const values: (number | string)[] = stExpected.tensors[name].values;
    assert.equal(values.length, 256);
    const table = float8Table(format);
    const viaArray = float8ArrayToFloat32(Uint8Array.from({ length: 256 }, (_, i) => i), format);
    for (let code = 0; code < 256; code++) {
      const want = expectedNumber(values[code]);
      assert.ok(Object.is(table[code], want), `${format} code ${code}: ${table[code]} vs ${want}`);
      assert.ok(Object.is(viaArray[code], want));
    }
  });
}

Deno.test("int64ToFloat32 rounds once, as numpy and torch do", () => {
  const { values, float32_bits: bits } = conversions.int64_to_f32;
  const out = new Float32Array(values.length);
  values.forEach((v: string, i: number) => (out[i] = int64ToFloat32(BigInt(v))));
  assert.deepEqual([...new Uint32Array(out.buffer)], bits);
  // The naive Math.fround(Number(v)) double-rounds this one to 2^60: the test can fail.
  const tricky = 2n ** 60n + 2n ** 36n + 1n;
  assert.notEqual(Math.fround(Number(tricky)), int64ToFloat32(tricky));
});
