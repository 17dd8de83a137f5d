import assert from "node:assert/strict";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import {
  type DdimDiscretize,
  ddimSchedule,
  ddimTimesteps,
  ldmAlphasCumprod,
  ldmAlphasCumprodForConfig,
  type LdmBetaSchedule,
  LoopSampler,
  type NoiseModel,
  runSampler,
  type SamplerStep,
} from "../../core/schedulers/sampler.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { ulpBetween } from "./replay_util.ts";
import { loadSamplerRun, standInEps } from "./stand_in_eps.ts";

const REFS = "fixtures/refs/samplers";

/** ldm_schedules.safetensors: LDM's register_schedule alphas_cumprod, one per schedule. */
const schedules = await (async () => {
  const f = await readSafetensors(`${REFS}/ldm_schedules.safetensors`);
  const list = JSON.parse(f.metadata.schedules) as [LdmBetaSchedule, number, number, number][];
  return list.map(([schedule, start, end, n], i) => ({
    schedule,
    start,
    end,
    n,
    alphas: f.tensor(`alphas_cumprod.${i}`).data,
  }));
})();

interface DdimTimestepsEntry {
  discretize: DdimDiscretize;
  steps: number;
  num_train_timesteps: number;
  /** make_ddim_timesteps' result (absent when it raised). */
  timesteps?: number[];
  /** The Python exception make_ddim_timesteps raised. */
  error?: string;
  /** "same" when labml's DDIMSampler holds the same timesteps, else the exception it raised. */
  labml: string;
}

Deno.test("ldmAlphasCumprod is LDM's register_schedule for every make_beta_schedule schedule, bit for bit", () => {
  assert.ok(schedules.length >= 6);
  assert.deepEqual(
    new Set(schedules.map((s) => s.schedule)),
    new Set(["linear", "sqrt_linear", "sqrt"]),
  );
  for (const { schedule, start, end, n, alphas } of schedules) {
    const ours = ldmAlphasCumprod(schedule, start, end, n);
    assert.equal(ours.length, n);
    assert.equal(ulpBetween(ours, alphas), 0, `${schedule} ${start} ${end} ${n}`);
  }
  assert.throws(() => ldmAlphasCumprod("cosine" as never, 0, 1, 10), /"cosine" is not supported/);
  assert.throws(() => ldmAlphasCumprod("linear", 0.1, 0.2, 0), /positive integer, got 0/);
  assert.throws(() => ldmAlphasCumprod("linear", 0.1, 0.2, 2.5), /positive integer, got 2.5/);
});

Deno.test("ldmAlphasCumprodForConfig maps diffusers' beta schedules to LDM's", () => {
  const find = (schedule: LdmBetaSchedule, start: number, end: number, n: number) => {
    const s = schedules.find((e) =>
      e.schedule === schedule && e.start === start && e.end === end && e.n === n
    );
    assert.ok(s, `${schedule} ${start} ${end} ${n} in ldm_schedules`);
    return s.alphas;
  };
  // diffusers' scaled_linear is LDM's linear (Stable Diffusion), diffusers' linear LDM's sqrt_linear
  const sd = {
    betaSchedule: "scaled_linear",
    betaStart: 0.00085,
    betaEnd: 0.012,
    numTrainTimesteps: 1000,
  };
  assert.equal(ulpBetween(ldmAlphasCumprodForConfig(sd), find("linear", 0.00085, 0.012, 1000)), 0);
  const ddpm = {
    betaSchedule: "linear",
    betaStart: 0.0001,
    betaEnd: 0.02,
    numTrainTimesteps: 1000,
  };
  assert.equal(
    ulpBetween(ldmAlphasCumprodForConfig(ddpm), find("sqrt_linear", 0.0001, 0.02, 1000)),
    0,
  );
  assert.throws(
    () => ldmAlphasCumprodForConfig({ ...sd, betaSchedule: "squaredcos_cap_v2" }),
    /beta_schedule "squaredcos_cap_v2" has no LDM equivalent here/,
  );
  assert.throws(
    () => ldmAlphasCumprodForConfig({ ...sd, trainedBetas: [0.1, 0.2] }),
    /trained_betas have no LDM equivalent here/,
  );
  // null trained betas (what a diffusers config carries) are no trained betas
  assert.equal(
    ulpBetween(
      ldmAlphasCumprodForConfig({ ...sd, trainedBetas: null }),
      find("linear", 0.00085, 0.012, 1000),
    ),
    0,
  );
});

Deno.test("ddimTimesteps is make_ddim_timesteps (and labml's time_steps) for uniform and quad", async () => {
  const doc = JSON.parse(await Deno.readTextFile(`${REFS}/ddim_timesteps.json`)) as {
    entries: DdimTimestepsEntry[];
  };
  let compared = 0;
  let refused = 0;
  for (const e of doc.entries) {
    const label = `${e.discretize} ${e.steps} of ${e.num_train_timesteps}`;
    if (e.timesteps === undefined || e.timesteps.length === 0) {
      // the original fails (ZeroDivisionError / ValueError) or takes no step: a clear error here
      assert.throws(
        () => ddimTimesteps(e.discretize, e.steps, e.num_train_timesteps),
        RangeError,
        label,
      );
      refused++;
      continue;
    }
    assert.deepEqual(
      ddimTimesteps(e.discretize, e.steps, e.num_train_timesteps),
      e.timesteps,
      label,
    );
    compared++;
  }
  assert.ok(compared > 50 && refused >= 3, `${compared} compared, ${refused} refused`);
  // uniform can give more than S steps when N is not a multiple of S, as the original does
  assert.ok(doc.entries.some((e) => (e.timesteps?.length ?? 0) > e.steps));
  assert.throws(() => ddimTimesteps("cubic" as never, 4, 1000), /"cubic" is not supported/);
  assert.throws(() => ddimTimesteps("uniform", 2000, 1000), /2000 steps exceed the 1000 training/);
  assert.throws(() => ddimTimesteps("quad", -1, 1000), /positive integer, got -1/);
});

Deno.test("ddimSchedule gives the originals' DDIM tables and refuses timesteps they cannot index", async () => {
  const run = await loadSamplerRun(`${REFS}/labml_ddim/quad_eta0_20.safetensors`);
  const s = ddimSchedule(run.alphasCumprod, 20, "quad", "demo");
  assert.deepEqual([...s.timesteps], run.file.ints("ddim_timesteps"));
  assert.equal(ulpBetween(s.alphas, run.file.tensor("ddim_alphas")), 0);
  assert.equal(ulpBetween(s.alphasPrev, run.file.tensor("ddim_alphas_prev")), 0);
  assert.equal(ulpBetween(s.sqrtOneMinusAlphas, run.file.tensor("ddim_sqrt_one_minus_alphas")), 0);
  assert.ok(Object.isFrozen(s.timesteps));
  // make_ddim_timesteps(uniform, 3, 1000) = [1, 334, 667, 1000]: an IndexError in the originals
  assert.throws(
    () => ddimSchedule(run.alphasCumprod, 3, "uniform", "demo"),
    /^RangeError: demo: 3 steps give DDIM timestep 1000, outside the 1000 training timesteps \(uniform discretisation: 1, 334, 667, 1000\)$/,
  );
  assert.throws(() => ddimSchedule(run.alphasCumprod, 0, "quad", "demo"), /positive integer/);
});

Deno.test("runSampler runs a sampler to the end from where it stands, reporting every step", async () => {
  const run = await loadSamplerRun(`${REFS}/compvis_plms/sd_linear_10.safetensors`);
  const model: NoiseModel = (x, t) => Promise.resolve(standInEps(x, t));
  const sampler = new CompVisPLMSSampler(run.alphasCumprod, 10);
  const seen: number[] = [];
  const out = await runSampler(sampler, model, run.file.tensor("x_T"), async (step) => {
    await new Promise((resolve) => setTimeout(resolve, 0)); // an async onStep is awaited in order
    seen.push(step.index);
    assert.equal(ulpBetween(step.xPrev, run.at("x_prev", step.index)), 0, `step ${step.index}`);
  });
  assert.deepEqual(seen, [...Array(10).keys()]);
  assert.equal(sampler.stepsDone, 10);
  assert.equal(ulpBetween(out, run.at("x_prev", 9)), 0); // the original's final sample
  // a finished sampler returns its input; a started one goes on from the given sample
  const x = run.file.tensor("x_T");
  assert.equal(await runSampler(sampler, model, x), x);
  sampler.reset();
  const first = await sampler.step(model, x);
  const records: SamplerStep[] = [];
  const rest = await runSampler(sampler, model, first.xPrev, (r) => {
    records.push(r);
  });
  assert.deepEqual(records.map((r) => r.index), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(ulpBetween(rest, out), 0);
  // a model error stops the loop and reaches the caller
  const failing = new LabmlDDIMSampler(run.alphasCumprod, 5);
  await assert.rejects(
    () => runSampler(failing, () => Promise.reject(new Error("model down")), x),
    /model down/,
  );
  assert.equal(failing.stepsDone, 0);
});

/** The smallest LoopSampler: the identity update, recording the model's timesteps. */
class Identity extends LoopSampler {
  readonly timesteps = [30, 20, 10];
  async step(model: NoiseModel, x: Tensor): Promise<SamplerStep> {
    const { i, index, t } = this.nextStep("Identity.step");
    const eps = await model(x, t);
    this.stepDone(i);
    return {
      index: i,
      t,
      x,
      eps,
      epsUsed: eps,
      predX0: x,
      xPrev: new Tensor(x.data.map((v) => v + index), x.shape),
      extraCalls: [],
    };
  }
}

Deno.test("LoopSampler counts steps, maps step i to table index N - 1 - i, and stops at the end", async () => {
  const s = new Identity();
  const calls: number[] = [];
  const model: NoiseModel = (x, t) => {
    calls.push(t);
    return Promise.resolve(x);
  };
  const out = await s.sample(model, new Tensor(new Float32Array([0]), [1]));
  assert.deepEqual(calls, [30, 20, 10]);
  assert.deepEqual([...out.data], [2 + 1 + 0]); // indices 2, 1, 0 added in turn
  assert.equal(s.stepsDone, 3);
  await assert.rejects(
    () => s.step(model, out),
    /^RangeError: Identity\.step: all 3 steps are done; call reset\(\) to start over$/,
  );
  s.reset();
  assert.equal(s.stepsDone, 0);
  assert.equal((await s.step(model, out)).t, 30);
});
