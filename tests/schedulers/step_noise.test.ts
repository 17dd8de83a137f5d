import assert from "node:assert/strict";
import { stepNoise } from "../../core/schedulers/step_noise.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

const out = new Tensor(new Float32Array(18), [1, 2, 3, 3]);

Deno.test("stepNoise passes variance_noise through and draws randn_tensor(model_output.shape) otherwise", () => {
  const given = new TorchGenerator(5).randn([1, 2, 3, 3]);
  assert.equal(stepNoise(out, { varianceNoise: given }, "X.step", "eta > 0"), given);
  // the generator's next draw, of the model output's shape, and the generator advances
  const generator = new TorchGenerator(7);
  const first = stepNoise(out, { generator }, "X.step", "eta > 0");
  const second = stepNoise(out, { generator }, "X.step", "eta > 0");
  const expected = new TorchGenerator(7);
  assert.deepEqual(first.shape, [1, 2, 3, 3]);
  assert.deepEqual([...first.data], [...expected.randn([1, 2, 3, 3]).data]);
  assert.deepEqual([...second.data], [...expected.randn([1, 2, 3, 3]).data]);
});

Deno.test("stepNoise errors name the step, the reason and what to pass", () => {
  assert.throws(
    () => stepNoise(out, {}, "DDIMScheduler.step", "eta > 0"),
    /^Error: DDIMScheduler\.step: eta > 0 needs a generator or varianceNoise \(no global RNG here\)$/,
  );
  assert.throws(
    () => stepNoise(out, { generator: new TorchGenerator(0), varianceNoise: out }, "X.step", "r"),
    /X\.step: cannot pass both generator and varianceNoise; leave one of them undefined/,
  );
  assert.throws(
    () => stepNoise(out, { varianceNoise: Tensor.zeros([18]) }, "X.step", "r"),
    /X\.step: variance_noise has shape \[18\] but model_output has shape \[1, 2, 3, 3\]/,
  );
});
