import assert from "node:assert/strict";
import { fixedPointInverter } from "../../../core/pipelines/inversion/fixed_point.ts";
import { DDIMInverseScheduler } from "../../../core/schedulers/ddim_inverse.ts";
import { schedulerSampler } from "../../../core/schedulers/scheduler_sampler.ts";
import { Tensor } from "../../../core/tensor/tensor.ts";

const model = (x: Tensor, t: number) =>
  Promise.resolve(new Tensor(x.data.map((v) => 0.3 * Math.tanh(v) + 0.0002 * t), x.shape));
const inverse = () => {
  const s = new DDIMInverseScheduler({
    clipSample: false,
    setAlphaToOne: false,
    stepsOffset: 1,
    betaSchedule: "scaled_linear",
    betaStart: 0.00085,
    betaEnd: 0.012,
  });
  s.setTimesteps(10);
  return s;
};
const x = new Tensor(new Float32Array([0.4, -0.9, 1.3]), [1, 3]);

Deno.test("fixed-point: K = 0 is diffusers' DDIM inversion step, bit for bit", async () => {
  const inv = inverse();
  for (const i of [0, 4, 9]) {
    const fp = await fixedPointInverter(inv, { iterations: 0, average: 1 }).step(model, x, i);
    const ddim = await schedulerSampler(inv).step(model, x, i);
    assert.deepEqual([...fp.prevSample.data], [...ddim.prevSample.data]);
  }
});

Deno.test("fixed-point: the implicit equation's residual falls as K grows; K + 1 calls a step", async () => {
  const inv = inverse();
  const i = 5, t = inv.timesteps[i];
  const residual = async (z: Tensor) => {
    const back = inv.step(await model(z, t), t, x).prevSample; // F(eps(z, t)) - z
    return Math.max(...back.data.map((v, k) => Math.abs(v - z.data[k])));
  };
  let last = Infinity;
  for (const K of [0, 1, 3, 6]) {
    let calls = 0;
    const counted = (v: Tensor, s: number) => (calls++, model(v, s));
    const z =
      (await fixedPointInverter(inv, { iterations: K, average: 1 }).step(counted, x, i)).prevSample;
    const r = await residual(z);
    assert.equal(calls, K + 1);
    assert.ok(r < last, `K ${K}: residual ${r} not below ${last}`);
    last = r;
  }
});

Deno.test("fixed-point: averaging uses the mean of the last m outputs; bad options are refused", async () => {
  const inv = inverse();
  const outs: Tensor[] = [];
  const recording = async (
    v: Tensor,
    s: number,
  ) => (outs.push(await model(v, s)), outs[outs.length - 1]);
  const z =
    (await fixedPointInverter(inv, { iterations: 2, average: 2 }).step(recording, x, 3)).prevSample;
  const mean = new Tensor(outs[1].data.map((v, k) => (v + outs[2].data[k]) / 2), x.shape);
  assert.deepEqual([...z.data], [...inv.step(mean, inv.timesteps[3], x).prevSample.data]);
  assert.throws(
    () => fixedPointInverter(inv, { iterations: -1, average: 1 }),
    /iterations: expected a whole number >= 0/,
  );
  assert.throws(
    () => fixedPointInverter(inv, { iterations: 1, average: 3 }),
    /average: expected a whole number in 1\.\.2/,
  );
});
