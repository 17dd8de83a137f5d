import assert from "node:assert/strict";
import {
  halfAdd,
  halfDivScalar,
  halfMulScalar,
  halfScaledBy,
  halfSub,
  toHalf,
} from "../../core/tensor/half_ops.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { bitMismatches } from "./_bits.ts";

// torch 2.13's results on float16 tensors (fixtures/gen/dump_half_ops.py)
const path = "fixtures/refs/half/ops.safetensors";

Deno.test("half ops: torch's CPU half mul / div / add / sub with scalars, bit for bit", async () => {
  const f = await readSafetensors(path);
  const [a, b] = [f.tensor("a"), f.tensor("b")];
  assert.equal(f.info("a").dtype, "F16");
  const scalars = JSON.parse(f.metadata["scalars"]) as number[];
  const cases: [string, (s: number) => Tensor][] = [
    ["mul_scalar", (s) => halfMulScalar(a, s)], // a * s
    ["rmul_scalar", (s) => halfMulScalar(a, s)], // s * a, through __rmul__
    ["mul_0d", (s) => halfMulScalar(a, s)], // a * z: z's float32 value
    ["scaled_by", (s) => halfScaledBy(s, a)], // z * a: z cast to half first
    ["div_scalar", (s) => halfDivScalar(a, s)],
    ["div_0d", (s) => halfDivScalar(a, s)],
  ];
  for (const [name, op] of cases) {
    scalars.forEach((s, k) => {
      const [bad] = bitMismatches(op(s).data, f.tensor(`${name}.${k}`).data);
      assert.equal(bad, 0, `${name}.${k} (s = ${s}): ${bad} of ${a.size} differ`);
    });
  }
  assert.equal(bitMismatches(halfAdd(a, b).data, f.tensor("add").data)[0], 0);
  assert.equal(bitMismatches(halfSub(a, b).data, f.tensor("sub").data)[0], 0);
  // StableDiffusionPipeline's guidance in half: b + 7.5 * (a - b)
  const cfg = halfAdd(b, halfMulScalar(halfSub(a, b), 7.5));
  assert.equal(bitMismatches(cfg.data, f.tensor("cfg").data)[0], 0);
  assert.equal(bitMismatches(toHalf(f.tensor("x")).data, f.tensor("to_half").data)[0], 0);
});

Deno.test("half ops: the scalar rules matter (a cast scalar misses torch's mul, the float32 one its z * t)", async () => {
  const f = await readSafetensors(path);
  const a = f.tensor("a");
  const scalars = JSON.parse(f.metadata["scalars"]) as number[];
  const k = scalars.indexOf(0.1);
  const castFirst = halfScaledBy(0.1, a); // what `z * a` does
  const [wrong] = bitMismatches(castFirst.data, f.tensor(`mul_scalar.${k}`).data);
  const [wrongToo] = bitMismatches(halfMulScalar(a, 0.1).data, f.tensor(`scaled_by.${k}`).data);
  console.log(
    `0.1: scalar cast to half misses a * 0.1 on ${wrong} of ${a.size} elements; ` +
      `the float32 scalar misses z * a on ${wrongToo}`,
  );
  assert.ok(wrong > 0 && wrongToo > 0);
});

Deno.test("half ops: shape mismatches are RangeErrors naming the op", () => {
  const x = Tensor.zeros([2]);
  assert.throws(
    () => halfAdd(x, Tensor.zeros([3])),
    /^RangeError: halfAdd: shapes \[2\] and \[3\]/,
  );
  assert.throws(() => halfSub(x, Tensor.zeros([1, 2])), /halfSub: shapes/);
});
