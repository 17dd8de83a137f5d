import assert from "node:assert/strict";
import { f16, isF16, PRECISIONS } from "../../core/numerics/f16.ts";

Deno.test("f16 rounds a float32 result to half: Float16Array of the float32 value, for every half neighbourhood", () => {
  // torch's c10::Half(float): round the float32 value to half, ties to even. For float32 inputs
  // that is exactly Float16Array's (and Math.f16round's) rounding.
  const f32 = new Float32Array(1);
  const h = new Float16Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let bits = 0x33000000; bits < 0x47800000; bits += 0x1fff) { // 2^-25 .. 65536
    u32[0] = bits;
    h[0] = f32[0];
    assert.equal(f16(f32[0]), h[0], `float32 bits 0x${bits.toString(16)}`);
    assert.equal(f16(-f32[0]), -h[0]);
  }
});

Deno.test("f16 double-rounds a double through float32, as torch's float op then half cast", () => {
  const x = 1 + 2 ** -11 + 2 ** -30; // float32: 1 + 2^-11 (a half tie) -> 1
  assert.equal(f16(x), 1);
  assert.equal(Math.f16round(x), 1 + 2 ** -10);
  assert.deepEqual([f16(65504), f16(65520), f16(-70000)], [65504, Infinity, -Infinity]);
  assert.equal(f16(2 ** -25), 0); // half's smallest subnormal is 2^-24; 2^-25 is a tie to 0
  assert.ok(Object.is(f16(-0), -0));
});

Deno.test("isF16 and PRECISIONS", () => {
  assert.deepEqual(PRECISIONS, ["float32", "float16"]);
  assert.deepEqual([isF16(1.5), isF16(1 + 2 ** -11), isF16(Infinity)], [true, false, true]);
});
