import assert from "node:assert/strict";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import {
  ddimTimesteps,
  ldmAlphasCumprod,
  type LdmBetaSchedule,
} from "../../core/schedulers/ldm_schedule.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { ulpBetween } from "./replay_util.ts";
import {
  assertStepsRefused,
  type Call,
  loadSamplerRun,
  recording,
  safetensorsIn,
  type SamplerRun,
  standIn,
} from "./stand_in_eps.ts";

const DIR = "fixtures/refs/samplers/compvis_plms";

interface PlmsCase extends SamplerRun {
  steps: number;
  /** Our LDM alphas_cumprod for the run's schedule. */
  alphas: Float32Array;
}

async function loadCase(path: string): Promise<PlmsCase> {
  const run = await loadSamplerRun(path);
  const { beta_schedule, linear_start, linear_end, timesteps } = run.schedule;
  const alphas = ldmAlphasCumprod(
    beta_schedule as LdmBetaSchedule,
    linear_start,
    linear_end,
    timesteps,
  );
  return { ...run, steps: run.params.steps as number, alphas };
}

Deno.test("LDM alphas_cumprod and the PLMS schedule match the original's buffers bit for bit", async () => {
  const files = await safetensorsIn(DIR);
  assert.ok(files.length >= 8, `expected the PLMS references in ${DIR}`);
  for (const path of files) {
    const c = await loadCase(path);
    assert.equal(ulpBetween(c.alphas, c.alphasCumprod), 0, `${path}: alphas_cumprod`);
    const s = new CompVisPLMSSampler(c.alphas, c.steps);
    assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"), path);
    assert.deepEqual([...s.timesteps], c.t, `${path}: visiting order`);
    assert.equal(ulpBetween(s.ddimAlphas, c.file.tensor("ddim_alphas")), 0, `${path}: ddim_alphas`);
    assert.equal(ulpBetween(s.ddimAlphasPrev, c.file.tensor("ddim_alphas_prev")), 0, path);
    assert.equal(
      ulpBetween(s.ddimSqrtOneMinusAlphas, c.file.tensor("ddim_sqrt_one_minus_alphas")),
      0,
      path,
    );
    assert.ok(c.file.tensor("ddim_sigmas").data.every((v) => v === 0));
    assert.equal(s.initNoiseSigma, 1);
  }
});

Deno.test("CompVis PLMS replays the original sampler's steps bit for bit", async () => {
  let worst = 0;
  let steps = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = new CompVisPLMSSampler(c.alphas, c.steps);
    const n = s.timesteps.length;
    assert.equal(c.t.length, n, `${path}: the reference has exactly ${n} steps`);
    let total = 0;
    for (let i = 0; i < n; i++) {
      // the reference's outputs in call order: eps, then (step 0 only) eps_next
      const answers = i === 0 ? [c.at("eps", 0), c.file.tensor("eps_next")] : [c.at("eps", i)];
      const calls: Call[] = [];
      const model = recording(() => {
        const out = answers[calls.length];
        assert.ok(out, `${path}: step ${i} made an unexpected model call`);
        return Promise.resolve(out);
      }, calls);
      const x = c.at("x", i); // reference x in: replay
      const out = await s.step(model, x, i);
      assert.equal(calls.length, answers.length, `${path}: model calls at step ${i}`);
      assert.equal(calls[0].t, c.t[i], `${path}: t at step ${i}`);
      assert.equal(calls[0].x, x, `${path}: step ${i} calls the model at its input`);
      const d = Math.max(
        ulpBetween(out.predOriginalSample!, c.at("pred_x0", i)),
        ulpBetween(out.prevSample, c.at("x_prev", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: step ${i} ${d} ulp`);
      assert.deepEqual(out.epsUsed.shape, x.shape);
      if (i === 0) {
        // the pseudo improved Euler step: a second call at (x_euler, t_next)
        assert.equal(calls[1].t, c.file.ints("t_next")[0], `${path}: t_next`);
        assert.equal(ulpBetween(calls[1].x, c.file.tensor("x_euler")), 0, `${path}: x_euler`);
      }
      total += calls.length;
      steps++;
    }
    assert.equal(total, n + 1, `${path}: model calls`);
    // past the last step: the out-of-range error, before any model call
    const calls: Call[] = [];
    await assert.rejects(
      () => s.step(recording(standIn, calls), c.file.tensor("x_T"), n),
      new RegExp(
        `^RangeError: CompVisPLMSSampler\\.step: step ${n} is not a step of the ${n}-step schedule$`,
      ),
    );
    assert.equal(calls.length, 0);
  }
  console.log(`CompVis PLMS replay: ${steps} steps, largest ulp distance ${worst}`);
});

Deno.test("CompVis PLMS free run with the stand-in model reproduces the original trajectory", async () => {
  let worst = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = new CompVisPLMSSampler(c.alphas, c.steps);
    const n = s.timesteps.length;
    let x = c.file.tensor("x_T");
    for (let i = 0; i < n; i++) {
      const calls: Call[] = [];
      const out = await s.step(recording(standIn, calls), x, i);
      assert.equal(calls.length, i === 0 ? 2 : 1, `${path}: model calls at step ${i}`);
      const d = Math.max(
        ulpBetween(calls[0].out, c.at("eps", i)),
        ulpBetween(out.prevSample, c.at("x_prev", i)),
        ulpBetween(out.predOriginalSample!, c.at("pred_x0", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: free run step ${i}: ${d} ulp`);
      if (i === 0) {
        assert.equal(ulpBetween(calls[1].x, c.file.tensor("x_euler")), 0, `${path}: x_euler`);
        assert.equal(ulpBetween(calls[1].out, c.file.tensor("eps_next")), 0, `${path}: eps_next`);
      }
      x = out.prevSample;
    }
    assert.equal(ulpBetween(x, c.at("x_prev", n - 1)), 0);
    // reset starts over with an empty old_eps: the first step calls the model twice again
    s.reset();
    const calls: Call[] = [];
    const again = await s.step(recording(standIn, calls), c.file.tensor("x_T"), 0);
    assert.equal(calls.length, 2);
    assert.equal(ulpBetween(again.prevSample, c.at("x_prev", 0)), 0);
  }
  console.log(`CompVis PLMS free run: largest drift ${worst} ulp`);
});

Deno.test("CompVis PLMS epsUsed is the improved Euler / Adams-Bashforth combination of the model outputs", async () => {
  const c = await loadCase(`${DIR}/sd_linear_10.safetensors`);
  const s = new CompVisPLMSSampler(c.alphas, c.steps);
  const f = Math.fround;
  const e = (i: number) => c.at("eps", i).data;
  const expected = [
    (j: number) => f(f(e(0)[j] + c.file.tensor("eps_next").data[j]) / 2),
    (j: number) => f(f(f(3 * e(1)[j]) - e(0)[j]) / 2),
    (j: number) => f(f(f(f(23 * e(2)[j]) - f(16 * e(1)[j])) + f(5 * e(0)[j])) / 12),
    (j: number) =>
      f(f(f(f(f(55 * e(3)[j]) - f(59 * e(2)[j])) + f(37 * e(1)[j])) - f(9 * e(0)[j])) / 24),
    (j: number) =>
      f(f(f(f(f(55 * e(4)[j]) - f(59 * e(3)[j])) + f(37 * e(2)[j])) - f(9 * e(1)[j])) / 24),
  ];
  for (let i = 0; i < expected.length; i++) {
    const answers = i === 0 ? [c.at("eps", 0), c.file.tensor("eps_next")] : [c.at("eps", i)];
    let k = 0;
    const out = await s.step(() => Promise.resolve(answers[k++]), c.at("x", i), i);
    const want = out.epsUsed.data.map((_, j) => expected[i](j));
    assert.equal(ulpBetween(out.epsUsed, want), 0, `epsUsed at step ${i}`);
  }
});

Deno.test("CompVis PLMS setTimesteps(n) gives the tables of a sampler constructed with n, and empties old_eps", async () => {
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  for (const discretize of ["uniform", "quad"] as const) {
    for (const [from, to] of [[10, 25], [50, 4], [7, 7], [1, 2]]) {
      const s = new CompVisPLMSSampler(alphas, from, { discretize });
      s.setTimesteps(to);
      const fresh = new CompVisPLMSSampler(alphas, to, { discretize });
      const label = `${discretize} ${from} -> ${to}`;
      assert.deepEqual([...s.ddimTimesteps], [...fresh.ddimTimesteps], label);
      assert.deepEqual([...s.timesteps], [...fresh.timesteps], label);
      assert.deepEqual(s.ddimAlphas, fresh.ddimAlphas, label);
      assert.deepEqual(s.ddimAlphasPrev, fresh.ddimAlphasPrev, label);
      assert.deepEqual(s.ddimSqrtOneMinusAlphas, fresh.ddimSqrtOneMinusAlphas, label);
    }
  }
  // and against the original's buffers
  const c = await loadCase(`${DIR}/sd_linear_25.safetensors`);
  const s = new CompVisPLMSSampler(c.alphas, 10);
  s.setTimesteps(25);
  assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"));
  assert.equal(ulpBetween(s.ddimAlphas, c.file.tensor("ddim_alphas")), 0);
  assert.equal(ulpBetween(s.ddimAlphasPrev, c.file.tensor("ddim_alphas_prev")), 0);
  assert.equal(
    ulpBetween(s.ddimSqrtOneMinusAlphas, c.file.tensor("ddim_sqrt_one_minus_alphas")),
    0,
  );
  // setTimesteps empties old_eps, even for the same count: the next step 0 is a first step again
  const x = c.file.tensor("x_T");
  await s.step(standIn, x, 0);
  s.setTimesteps(25);
  const calls: Call[] = [];
  const out = await s.step(recording(standIn, calls), x, 0);
  assert.equal(calls.length, 2);
  assert.equal(ulpBetween(out.prevSample, c.at("x_prev", 0)), 0);
  // a refused count leaves the tables as they were
  assert.throws(() => s.setTimesteps(3), /timestep 1000, outside the 1000/);
  assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"));
});

Deno.test("CompVis PLMS refuses step counts whose DDIM timesteps leave the training range", () => {
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  // make_ddim_timesteps(uniform, 3, 1000) = [1, 334, 667, 1000]: the original's IndexError
  assert.deepEqual(ddimTimesteps("uniform", 3, 1000), [1, 334, 667, 1000]);
  assert.throws(() => new CompVisPLMSSampler(alphas, 3), /timestep 1000, outside the 1000/);
  assert.throws(() => new CompVisPLMSSampler(alphas, 0), /positive integer/);
  assert.throws(() => new CompVisPLMSSampler(alphas, 2000), /exceed/);
  assert.deepEqual(new CompVisPLMSSampler(alphas, 4, { discretize: "quad" }).timesteps, [
    801,
    356,
    89,
    1,
  ]);
});

Deno.test("CompVis PLMS step errors: steps outside the schedule, wrong model shapes, model failures", async () => {
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const s = new CompVisPLMSSampler(alphas, 5);
  const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
  await assertStepsRefused(s, "CompVisPLMSSampler", 5, [5, -1, 1.5, NaN]);
  await assert.rejects(() => s.step(() => Promise.resolve(Tensor.zeros([3])), x, 0), /shape/);
  // a model error reaches the caller and leaves old_eps as it was: step 0 is still a first step,
  // whether the first or the second (improved Euler) call fails
  await assert.rejects(
    () => s.step(() => Promise.reject(new Error("model down")), x, 0),
    /model down/,
  );
  let k = 0;
  await assert.rejects(
    () => s.step((v, t) => k++ === 0 ? standIn(v, t) : Promise.reject(new Error("later")), x, 0),
    /later/,
  );
  const calls: Call[] = [];
  const out = await s.step(recording(standIn, calls), x, 0);
  assert.equal(calls.length, 2);
  const fresh = await new CompVisPLMSSampler(alphas, 5).step(standIn, x, 0);
  assert.equal(ulpBetween(out.prevSample, fresh.prevSample), 0);
});
