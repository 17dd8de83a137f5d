import assert from "node:assert/strict";
import { assertSameShape, shapeSize, Tensor } from "../../core/tensor/tensor.ts";

Deno.test("Tensor wraps its data without copying and freezes its shape", () => {
  const data = new Float32Array([1, 2, 3, 4, 5, 6]);
  const t = new Tensor(data, [2, 3]);
  assert.equal(t.data, data);
  assert.equal(t.size, 6);
  assert.deepEqual(t.shape, [2, 3]);
  assert.ok(Object.isFrozen(t.shape));
});

Deno.test("a shape whose size differs from the data is a RangeError naming both", () => {
  assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), {
    name: "RangeError",
    message: "Tensor: shape [2, 3] needs 6 elements, data has 5",
  });
  assert.throws(() => new Tensor(new Float32Array(0), [2, -1]), /invalid extent -1/);
  assert.throws(() => new Tensor(new Float32Array(1), [1.5]), /invalid extent 1.5/);
});

Deno.test("0-d and empty tensors", () => {
  assert.equal(new Tensor(new Float32Array([7]), []).size, 1);
  assert.equal(Tensor.zeros([3, 0, 2]).size, 0);
  assert.equal(shapeSize([]), 1);
  assert.equal(shapeSize([2, 4, 8]), 64);
});

Deno.test("clone copies the buffer; reshape shares it", () => {
  const a = Tensor.zeros([2, 3]);
  const b = a.clone();
  b.data[0] = 1;
  assert.equal(a.data[0], 0);
  const r = a.reshape([3, 2]);
  r.data[5] = 9;
  assert.equal(a.data[5], 9);
  assert.ok(r.sameShape(Tensor.zeros([3, 2])));
  assert.ok(!r.sameShape(a));
  assert.throws(() => a.reshape([4, 2]), RangeError);
});

Deno.test("assertSameShape names who, both operands and their shapes", () => {
  assertSameShape(Tensor.zeros([2, 3]), Tensor.zeros([2, 3]), "a", "b", "f");
  assert.throws(
    () =>
      assertSameShape(
        Tensor.zeros([2, 3]),
        Tensor.zeros([6]),
        "model_output",
        "sample",
        "DDIMScheduler.step",
      ),
    /^RangeError: DDIMScheduler\.step: model_output has shape \[2, 3\] but sample has shape \[6\] \(expected equal shapes\)$/,
  );
});
