import assert from "node:assert/strict";
import {
  edictInverter,
  edictMixing,
  edictSampler,
  edictStart,
} from "../../../core/pipelines/inversion/edict.ts";
import type { LoopState } from "../../../core/pipelines/loop.ts";
import { denoiseLoop } from "../../../core/pipelines/loop.ts";
import { sd15 } from "./_sd15.ts";
import { Tensor } from "../../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../../core/tensor/torch_generator.ts";

/** A smooth stand-in noise predictor whose output depends on x and t. */
const model = (x: Tensor, t: number) =>
  Promise.resolve(
    new Tensor(x.data.map((v, i) => Math.tanh(0.7 * v + 0.001 * t + 0.01 * i)), x.shape),
  );

async function roundTrip(steps: number, mixing: number, arithmetic: "float32" | "float64") {
  const ddim = sd15();
  ddim.setTimesteps(steps);
  const z0 = new TorchGenerator(3).randn([1, 4, 4, 4]);
  const opts = { mixing, arithmetic };
  const inv = await denoiseLoop<LoopState>({
    stepper: edictInverter(ddim, opts),
    denoiser: model,
    sample: edictStart(z0, arithmetic),
  });
  const back = await denoiseLoop<LoopState>({
    stepper: edictSampler(ddim, opts),
    denoiser: model,
    sample: inv.sample,
  });
  const x = (back.sample as readonly Tensor[])[0];
  const mse = x.data.reduce((s, v, i) => s + (v - z0.data[i]) ** 2, 0) / x.data.length;
  return { mse, calls: inv.timesteps.length + back.timesteps.length };
}

Deno.test("EDICT: float64 arithmetic inverts exactly (round-off only), for even and odd step counts", async () => {
  for (const steps of [10, 25, 50]) {
    const { mse, calls } = await roundTrip(steps, edictMixing(steps), "float64");
    assert.equal(calls, 4 * steps); // two model calls a step, both ways
    assert.ok(mse < 1e-20, `steps ${steps}: MSE ${mse}`);
  }
});

Deno.test("EDICT: float32 stays at round-off with p 0.93; p 0.8 loses it as steps grow (the paper's negative control)", async () => {
  const good = await roundTrip(50, 0.93, "float32");
  assert.ok(good.mse < 1e-9, `p 0.93: MSE ${good.mse}`);
  const bad = await roundTrip(100, 0.8, "float32");
  assert.ok(bad.mse > 1e3 * good.mse, `p 0.8 at 100 steps: MSE ${bad.mse} vs ${good.mse}`);
});

Deno.test("EDICT: the leapfrog order follows the community pipeline (x first at even sampling steps)", async () => {
  const ddim = sd15();
  ddim.setTimesteps(4);
  const seen: string[] = [];
  const x = new Tensor(new Float32Array([1, 1]), [1, 2]);
  const y = new Tensor(new Float32Array([2, 2]), [1, 2]);
  const tag = (t: Tensor) => (t.data[0] === 1 ? "x" : t.data[0] === 2 ? "y" : "?");
  const spy = (v: Tensor, t: number) => (seen.push(tag(v)), model(v, t));
  const sampler = edictSampler(ddim, { mixing: 0.93, arithmetic: "float32" });
  await sampler.step(spy, [x, y], 0); // even: x = a x + b eps(y), then y from the new x
  await sampler.step(spy, [x, y], 1); // odd: y first, from eps(x)
  assert.deepEqual(seen, ["y", "?", "x", "?"]);
});

Deno.test("EDICT: at an even step count the inversion's order is the community pipeline's prepare_latents", async () => {
  // prepare_latents: at an even loop index x is updated first (from eps(y)), at an odd one y
  const ddim = sd15();
  ddim.setTimesteps(4);
  const first: string[] = [];
  const inv = edictInverter(ddim, { mixing: 0.93, arithmetic: "float32" });
  for (const i of [0, 1, 2, 3]) {
    const x = new Tensor(new Float32Array([1, 1]), [1, 2]);
    const y = new Tensor(new Float32Array([2, 2]), [1, 2]);
    let calls = 0;
    // after the inverse mixing layer the lanes are no longer 1 and 2: tell them by which is larger
    await inv.step(
      (v, t) => {
        if (calls++ === 0) first.push(v.data[0] > 1.5 ? "y" : "x");
        return model(v, t);
      },
      [x, y],
      i,
    );
  }
  // eps(y) first means x is updated first
  assert.deepEqual(first, ["y", "x", "y", "x"]);
});

Deno.test("EDICT: bad mixing and a bad state are refused", () => {
  const ddim = sd15();
  ddim.setTimesteps(4);
  assert.throws(
    () => edictSampler(ddim, { mixing: 1, arithmetic: "float32" }),
    /mixing: expected a number in \(0, 1\)/,
  );
  const inv = edictInverter(ddim, { mixing: 0.9, arithmetic: "float32" });
  return assert.rejects(
    inv.step(model, [Tensor.zeros([1])], 0),
    /EDICT: expected the state \[x, y\]/,
  );
});
