import assert from "node:assert/strict";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import {
  ddimTimesteps,
  ldmAlphasCumprod,
  type LdmBetaSchedule,
  type NoiseModel,
  type SamplerStep,
} from "../../core/schedulers/sampler.ts";
import type { Tensor } from "../../core/tensor/tensor.ts";
import { ulpBetween } from "./replay_util.ts";
import { loadSamplerRun, safetensorsIn, type SamplerRun, standInEps } from "./stand_in_eps.ts";

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
    assert.equal(ulpBetween(s.ddimAlphas, c.file.tensor("ddim_alphas")), 0, `${path}: ddim_alphas`);
    assert.equal(ulpBetween(s.ddimAlphasPrev, c.file.tensor("ddim_alphas_prev")), 0, path);
    assert.equal(
      ulpBetween(s.ddimSqrtOneMinusAlphas, c.file.tensor("ddim_sqrt_one_minus_alphas")),
      0,
      path,
    );
    assert.ok(c.file.tensor("ddim_sigmas").data.every((v) => v === 0));
  }
});

/**
 * A model that answers with the reference's outputs in call order and keeps what it was given:
 * step i calls it at (x_i, t_i) and, on step 0, again at (x_euler, t_next).
 */
function replayModel(c: SamplerRun, calls: { x: Tensor; t: number }[]): NoiseModel {
  let step = 0;
  let second = false;
  return (x, t) => {
    calls.push({ x, t });
    if (step === 0 && second) {
      step++;
      return Promise.resolve(c.file.tensor("eps_next"));
    }
    const out = c.at("eps", step);
    if (step === 0) second = true;
    else step++;
    return Promise.resolve(out);
  };
}

Deno.test("CompVis PLMS replays the original sampler's steps bit for bit", async () => {
  let worst = 0;
  let steps = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = new CompVisPLMSSampler(c.alphas, c.steps);
    const calls: { x: Tensor; t: number }[] = [];
    const model = replayModel(c, calls);
    const n = s.timesteps.length;
    assert.equal(c.t.length, n, `${path}: the reference has exactly ${n} steps`);
    for (let i = 0; i < n; i++) {
      const rec = await s.step(model, c.at("x", i)); // reference x in: replay
      assert.equal(rec.t, c.t[i], `${path}: t at step ${i}`);
      const d = Math.max(
        ulpBetween(rec.predX0, c.at("pred_x0", i)),
        ulpBetween(rec.xPrev, c.at("x_prev", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: step ${i} ${d} ulp`);
      if (i === 0) {
        assert.equal(rec.extraCalls.length, 1);
        assert.equal(rec.extraCalls[0].t, c.file.ints("t_next")[0]);
        assert.equal(
          ulpBetween(rec.extraCalls[0].x, c.file.tensor("x_euler")),
          0,
          `${path}: x_euler`,
        );
      } else {
        assert.equal(rec.extraCalls.length, 0);
      }
      steps++;
    }
    assert.equal(calls.length, n + 1, `${path}: model calls`);
    await assert.rejects(() => s.step(model, c.file.tensor("x_T")), /all \d+ steps are done/);
  }
  console.log(`CompVis PLMS replay: ${steps} steps, largest ulp distance ${worst}`);
});

Deno.test("CompVis PLMS free run with the stand-in model reproduces the original trajectory", async () => {
  let worst = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = new CompVisPLMSSampler(c.alphas, c.steps);
    const model: NoiseModel = (x, t) => Promise.resolve(standInEps(x, t));
    const records: SamplerStep[] = [];
    const out = await s.sample(model, c.file.tensor("x_T"), (r) => {
      records.push(r);
    });
    for (const r of records) {
      const d = Math.max(
        ulpBetween(r.eps, c.at("eps", r.index)),
        ulpBetween(r.xPrev, c.at("x_prev", r.index)),
        ulpBetween(r.predX0, c.at("pred_x0", r.index)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: free run step ${r.index}: ${d} ulp`);
    }
    assert.equal(ulpBetween(out, c.at("x_prev", records.length - 1)), 0);
    // reset starts over with an empty old_eps: the first step calls the model twice again
    s.reset();
    const again = await s.step(model, c.file.tensor("x_T"));
    assert.equal(again.extraCalls.length, 1);
    assert.equal(ulpBetween(again.xPrev, c.at("x_prev", 0)), 0);
  }
  console.log(`CompVis PLMS free run: largest drift ${worst} ulp`);
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
