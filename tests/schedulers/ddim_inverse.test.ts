import assert from "node:assert/strict";
import { DDIMInverseScheduler } from "../../core/schedulers/ddim_inverse.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import {
  assertFreeRuns,
  checkTimestepsTable,
  formatReplay,
  freeRunAll,
  listReferenceFiles,
  replayAll,
  standInModel,
} from "./replay_util.ts";

const DIR = "fixtures/refs/schedulers/ddim_inverse";
const files = await listReferenceFiles(DIR);
const make = (ref: { config: Record<string, unknown>; path: string }) =>
  DDIMInverseScheduler.fromConfig(ref.config, ref.path);

Deno.test("DDIMInverseScheduler replays every diffusers reference bit for bit", async () => {
  assert.ok(files.length >= 6, `only ${files.length} reference files in ${DIR}`);
  const runs = await replayAll(files, "DDIMInverseScheduler", make);
  for (const { report: r } of runs) {
    assert.equal(r.prevSample.maxUlp, 0, formatReplay(r));
    assert.equal(r.predOriginalSample.maxUlp, 0, formatReplay(r));
  }
  const worst = Math.max(...runs.map((r) => r.report.prevSample.maxUlp));
  const worstX0 = Math.max(...runs.map((r) => r.report.predOriginalSample.maxUlp));
  assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared somewhere");
  console.log(
    `DDIMInverseScheduler replay: ${files.length} files, largest prev_sample ulp ${worst}, ` +
      `largest pred_original_sample ulp ${worstX0}`,
  );
});

Deno.test("DDIMInverseScheduler free run (own outputs fed forward) drift", async () => {
  const runs = await freeRunAll(files, make, (x, t) => standInModel(x, t));
  const worst = assertFreeRuns(runs, 1);
  console.log(`DDIMInverseScheduler free run: ${files.length} files, largest drift ${worst} ulp`);
});

Deno.test("DDIMInverseScheduler.setTimesteps: DDIM's timesteps ascending; no linspace", async () => {
  const checked = await checkTimestepsTable(
    "DDIMInverseScheduler",
    (o) => new DDIMInverseScheduler(o),
    (e) => [...e.timesteps].reverse(),
  );
  assert.ok(checked > 50);
  const lin = new DDIMInverseScheduler({ timestepSpacing: "linspace" });
  assert.throws(() => lin.setTimesteps(10), /timestep_spacing "linspace" is not supported/);
  assert.deepEqual(new DDIMInverseScheduler({ numTrainTimesteps: 3 }).timesteps, [0, 1, 2]);
});

Deno.test("DDIMInverseScheduler: initial alpha and misuse", () => {
  const one = new DDIMInverseScheduler();
  const zero = new DDIMInverseScheduler({ setAlphaToOne: false });
  assert.equal(one.initialAlphaCumprod, 1);
  assert.equal(zero.initialAlphaCumprod, zero.alphasCumprod[0]);
  const x = Tensor.zeros([1, 3]);
  assert.throws(() => one.step(x, 0, x), /call setTimesteps first/);
  one.setTimesteps(10);
  assert.throws(() => one.step(x, 1000, x), /timestep 1000 is outside/);
  assert.throws(() => one.step(Tensor.zeros([3]), 0, x), /expected equal shapes/);
  // first step from "timestep -100" with alpha 1: x0 = sample, x_t = sqrt(a0) x0 + sqrt(1 - a0) eps
  const sample = new Tensor(new Float32Array([0.5, -0.5, 0.25]), [1, 3]);
  const eps = new Tensor(new Float32Array([0.1, 0.2, 0.3]), [1, 3]);
  const out = one.step(eps, 0, sample);
  assert.deepEqual([...out.predOriginalSample!.data], [...sample.data]);
  const a0 = one.alphasCumprod[0];
  const sa = Math.fround(Math.sqrt(a0));
  const sb = Math.fround(Math.sqrt(Math.fround(1 - a0)));
  assert.deepEqual(
    [...out.prevSample.data],
    [...sample.data].map((v, i) =>
      Math.fround(Math.fround(sa * v) + Math.fround(sb * eps.data[i]))
    ),
  );
});
