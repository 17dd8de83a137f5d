import { ieeeMath } from "../../core/numerics/f32_math.ts";
import assert from "node:assert/strict";
import { addNoiseF32, noisePerBatchItem } from "../../core/schedulers/add_noise.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { maxUlpDistance } from "./replay_util.ts";
import { addNoiseBySigma } from "../../core/schedulers/add_noise.ts";

const REFS = "fixtures/refs/schedulers/ddpm";

function bitEqual(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && maxUlpDistance(a, b).maxUlp === 0;
}

Deno.test("addNoiseF32 matches diffusers' add_noise for per-item and single timesteps", async () => {
  const f = await readSafetensors(`${REFS}/add_noise.safetensors`);
  const { DDPMScheduler } = await import("../../core/schedulers/ddpm.ts");
  const s = DDPMScheduler.fromConfig(JSON.parse(f.metadata.config));
  const original = f.tensor("original");
  const noise = f.tensor("noise");
  for (const kind of ["per_item", "single"]) {
    const ts = f.ints(`timesteps_${kind}`);
    const ours = addNoiseF32(s.alphasCumprod, original, noise, ts, ieeeMath);
    assert.ok(bitEqual(ours.data, f.tensor(`noisy_${kind}`).data), kind);
  }
  assert.throws(
    () => addNoiseF32(s.alphasCumprod, original, noise, [1, 2], ieeeMath),
    /expected 1 or 3/,
  );
  assert.throws(() => addNoiseF32(s.alphasCumprod, original, noise, 1000, ieeeMath), /outside/);
  assert.throws(
    () => addNoiseF32(s.alphasCumprod, original, Tensor.zeros([3, 2]), 1, ieeeMath),
    /expected equal shapes/,
  );
});

Deno.test("noisePerBatchItem mixes each batch item with its own timestep, rounded to float32", () => {
  const x0 = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  const noise = new Tensor(new Float32Array([0.5, 0.5, 0.25, 0.25, 1, 1]), [3, 2]);
  const seen: number[] = [];
  const mixFor = (t: number) => {
    seen.push(t);
    return (x: number, n: number) => x + t * n + 0.1; // a double result, stored as float32
  };
  const out = noisePerBatchItem(x0, noise, [10, 20, 30], mixFor);
  assert.deepEqual(seen, [10, 20, 30]);
  assert.deepEqual([...out.data], [6.1, 7.1, 8.1, 9.1, 35.1, 36.1].map(Math.fround));
  assert.deepEqual(out.shape, [3, 2]);
  seen.length = 0;
  const single = noisePerBatchItem(x0, noise, 2, mixFor);
  assert.deepEqual(seen, [2, 2, 2]); // one timestep for the whole batch
  assert.deepEqual([...single.data], [2.1, 3.1, 3.6, 4.6, 7.1, 8.1].map(Math.fround));
  assert.throws(
    () => noisePerBatchItem(x0, noise, [1, 2], mixFor),
    /got 2 timesteps for a batch of 3/,
  );
  assert.throws(
    () => noisePerBatchItem(x0, Tensor.zeros([6]), 1, mixFor),
    /add_noise: original_samples has shape \[3, 2\] but noise has shape \[6\]/,
  );
});

Deno.test("addNoiseBySigma: sigma by timestep, else at the begin index; shape checks", () => {
  const state = {
    sigmas: new Float32Array([2, 1, 0]),
    timesteps: [9, 5],
    stepIndex: null,
    beginIndex: null,
  };
  const x = Tensor.zeros([2, 1]);
  const noise = new Tensor(new Float32Array([1, 1]), [2, 1]);
  assert.deepEqual(Array.from(addNoiseBySigma(state, x, noise, [9, 5]).data), [2, 1]);
  assert.deepEqual(
    Array.from(addNoiseBySigma({ ...state, beginIndex: 1 }, x, noise, 9).data),
    [1, 1],
  );
  assert.throws(() => addNoiseBySigma(state, x, noise, [9, 5, 5]), /3 timesteps for a batch of 2/);
  assert.throws(() => addNoiseBySigma(state, x, Tensor.zeros([3]), 9), /shape/);
});
