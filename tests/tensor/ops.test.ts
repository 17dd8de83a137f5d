import assert from "node:assert/strict";
import {
  add,
  addScaled,
  clamp,
  concat,
  div,
  isFiniteAll,
  mul,
  scale,
  sliceBatch,
  sub,
} from "../../core/tensor/ops.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";

const REF = new URL("../../fixtures/refs/tensor_io/ops.safetensors", import.meta.url).pathname;
const ref = await readSafetensors(REF);
const scalars: Record<string, number> = JSON.parse(ref.metadata.scalars);
const a = ref.tensor("a");
const b = ref.tensor("b");

/** Bit-for-bit equality, NaN payloads aside (torch's vector paths make their own NaNs). */
function assertSameFloat32(got: Tensor, name: string) {
  const want = ref.tensor(name);
  assert.deepEqual(got.shape, want.shape, name);
  const g = new Uint32Array(got.data.buffer, got.data.byteOffset, got.size);
  const w = new Uint32Array(want.data.buffer, want.data.byteOffset, want.size);
  let nans = 0;
  for (let i = 0; i < w.length; i++) {
    if (Number.isNaN(want.data[i])) {
      assert.ok(Number.isNaN(got.data[i]), `${name}[${i}]: ${got.data[i]} vs NaN`);
      nans++;
    } else assert.equal(g[i], w[i], `${name}[${i}]: ${got.data[i]} vs ${want.data[i]}`);
  }
  return nans;
}

Deno.test("tensor-tensor + - * / equal torch float32 bit for bit", () => {
  assertSameFloat32(add(a, b), "add");
  assertSameFloat32(sub(a, b), "sub");
  assertSameFloat32(mul(a, b), "mul");
  assert.ok(assertSameFloat32(div(a, b), "div") > 0); // the inputs do reach NaN (0/0, inf/inf)
});

Deno.test("scalar operands are rounded to float32 first, as torch does", () => {
  assertSameFloat32(add(a, scalars.add), "add_scalar");
  assertSameFloat32(sub(scalars.rsub, a), "rsub_scalar");
  assertSameFloat32(mul(a, scalars.mul), "mul_scalar");
  assertSameFloat32(scale(a, scalars.mul), "mul_scalar");
  assertSameFloat32(div(a, scalars.div), "div_scalar");
  assertSameFloat32(div(scalars.rdiv, a), "rdiv_scalar");
  // Not rounding the scalar would change results: 0.1 is not a float32.
  const unrounded = Float32Array.from(a.data, (x) => x * scalars.mul);
  assert.ok(unrounded.some((v, i) => v !== mul(a, scalars.mul).data[i]));
});

Deno.test("addScaled is torch's a + s * b (two roundings), clamp is torch.clamp", () => {
  assertSameFloat32(addScaled(a, b, scalars.add_scaled), "add_scaled");
  assertSameFloat32(clamp(a, scalars.clamp_lo, scalars.clamp_hi), "clamp");
});

Deno.test("concat and sliceBatch equal torch.cat and slicing", () => {
  const b4 = b.reshape([4, 64]);
  assertSameFloat32(concat([a.reshape([4, 64]), sliceBatch(b4, 1, 3)]), "cat");
  assert.deepEqual(sliceBatch(b4, 2, 2).shape, [0, 64]);
  assert.deepEqual([...sliceBatch(b4, 3, 4).data], [...b.data.slice(192, 256)]);
});

Deno.test("isFiniteAll finds the first NaN or infinity", () => {
  assert.deepEqual(isFiniteAll(new Tensor(new Float32Array([1, 2, 3]), [3])), {
    ok: true,
    index: -1,
  });
  assert.deepEqual(isFiniteAll(new Tensor(new Float32Array([1, -Infinity, NaN]), [3])), {
    ok: false,
    index: 1,
  });
  const firstBad = Array.from(a.data).findIndex((v) => !Number.isFinite(v));
  assert.deepEqual(isFiniteAll(a), { ok: false, index: firstBad });
});

Deno.test("shape and argument errors are RangeErrors naming the operation and shapes", () => {
  const x = Tensor.zeros([2, 3]);
  const y = Tensor.zeros([3, 2]);
  const cases: [() => unknown, RegExp][] = [
    [() => add(x, y), /^add: shapes \[2, 3\] and \[3, 2\] differ/],
    [() => sub(x, y), /^sub: /],
    [() => mul(x, y), /^mul: /],
    [() => div(x, y), /^div: /],
    [() => add(1, 2), /at least one Tensor/],
    [() => addScaled(x, y, 1), /^addScaled: /],
    [() => clamp(x, 1, -1), /lo <= hi/],
    [() => clamp(x, NaN, 1), /NaN/],
    [() => concat([]), /no tensors/],
    [() => concat([x, y]), /tensor 1 has shape \[3, 2\] \(expected \[\*, 3\]\)/],
    [() => concat([Tensor.zeros([])]), /0-d/],
    [() => sliceBatch(x, 1, 3), /0 <= start <= end <= 2/],
    [() => sliceBatch(x, -1, 1), /start/],
    [() => sliceBatch(Tensor.zeros([]), 0, 0), /0-d/],
  ];
  for (const [f, message] of cases) {
    assert.throws(f, (e: unknown) => e instanceof RangeError && message.test(e.message));
  }
});
