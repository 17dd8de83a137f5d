import assert from "node:assert/strict";
import { tutorialInverter, tutorialSampler } from "../../../core/pipelines/inversion/tutorial.ts";
import { sd15 } from "./_sd15.ts";
import { Tensor } from "../../../core/tensor/tensor.ts";

Deno.test("tutorial invert: reversed timesteps from index 1, the last skipped (48 calls at 50 steps, 21..961)", () => {
  const ddim = sd15();
  ddim.setTimesteps(50);
  const ts = tutorialInverter(ddim).timesteps;
  assert.equal(ts.length, 48);
  assert.deepEqual([ts[0], ts[47]], [21, 961]);
});

Deno.test("tutorial invert step: alphas at max(0, t - 1000 // n) and t, in the notebook's float32 order", async () => {
  const ddim = sd15();
  ddim.setTimesteps(50);
  const inv = tutorialInverter(ddim);
  const x = new Tensor(new Float32Array([0.25, -1.5]), [1, 2]);
  const e = new Tensor(new Float32Array([0.5, 0.125]), [1, 2]);
  const out = (await inv.step(() => Promise.resolve(e), x, 0)).prevSample; // t = 21
  const f = Math.fround, s = (v: number) => f(Math.sqrt(v));
  const [aT, aN] = [ddim.alphasCumprod[1], ddim.alphasCumprod[21]];
  const want = x.data.map((v, k) =>
    f(f(f(v - f(s(f(1 - aT)) * e.data[k])) * f(s(aN) / s(aT))) + f(s(f(1 - aN)) * e.data[k]))
  );
  assert.deepEqual([...out.data], [...want]);
});

Deno.test("tutorial sample: its last step lands on alphas_cumprod[1] (prev_t = max(1, t - 1000 // n))", async () => {
  const ddim = sd15();
  ddim.setTimesteps(10);
  const sampler = tutorialSampler(ddim);
  assert.deepEqual(sampler.timesteps, ddim.timesteps);
  const x = new Tensor(new Float32Array([0.5]), [1, 1]);
  const eps = new Tensor(new Float32Array([0.25]), [1, 1]);
  const out = await sampler.step(() => Promise.resolve(eps), x, 9); // t = 1
  const f = Math.fround, s = (v: number) => f(Math.sqrt(v));
  const a1 = ddim.alphasCumprod[1];
  const x0 = f(f(0.5 - f(s(f(1 - a1)) * 0.25)) / s(a1));
  assert.equal(out.prevSample.data[0], f(f(s(a1) * x0) + f(s(f(1 - a1)) * 0.25)));
  // diffusers' DDIM step would end on final_alpha_cumprod = alphas_cumprod[0] instead
  assert.notEqual(ddim.finalAlphaCumprod, a1);
});

Deno.test("tutorial: fewer than 3 timesteps are refused", () => {
  const ddim = sd15();
  ddim.setTimesteps(2);
  assert.throws(() => tutorialInverter(ddim), /needs at least 3 timesteps, got 2/);
});
