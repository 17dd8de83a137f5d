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
  stepOf,
} from "../../core/schedulers/ldm_schedule.ts";
import type { Denoiser } from "../../core/schedulers/types.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
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

const standIn: Denoiser = (x, t) => Promise.resolve(standInEps(x, t));

Deno.test("stepOf maps step i to table index N - 1 - i and refuses what is not a step", () => {
  const ts = [30, 20, 10];
  assert.deepEqual([0, 1, 2].map((i) => stepOf(ts, i, "demo")), [
    { index: 2, t: 30 },
    { index: 1, t: 20 },
    { index: 0, t: 10 },
  ]);
  // what "all steps are done" was: a step past the end is out of range
  for (const i of [3, -1, 0.5, NaN, Infinity]) {
    assert.throws(
      () => stepOf(ts, i, "demo"),
      (e: unknown) =>
        e instanceof RangeError &&
        e.message === `demo: step ${i} is not a step of the 3-step schedule`,
      `step ${i}`,
    );
  }
  assert.throws(
    () => stepOf([], 0, "demo"),
    /^RangeError: demo: step 0 is not a step of the 0-step schedule$/,
  );
});

Deno.test("CompVis PLMS runs to the end from where a run stands, and refuses a step past the end", async () => {
  const run = await loadSamplerRun(`${REFS}/compvis_plms/sd_linear_10.safetensors`);
  const sampler = new CompVisPLMSSampler(run.alphasCumprod, 10);
  const n = sampler.timesteps.length;
  assert.equal(n, 10);
  // an asynchronous model is awaited in order
  const slow: Denoiser = async (x, t) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return standInEps(x, t);
  };
  const x = run.file.tensor("x_T");
  let out = x;
  for (let i = 0; i < n; i++) {
    out = (await sampler.step(slow, out, i)).prevSample;
    assert.equal(ulpBetween(out, run.at("x_prev", i)), 0, `step ${i}`);
  }
  assert.equal(ulpBetween(out, run.at("x_prev", n - 1)), 0); // the original's final sample
  // a finished run has no step n, reset or not
  await assert.rejects(
    () => sampler.step(standIn, out, n),
    /^RangeError: CompVisPLMSSampler\.step: step 10 is not a step of the 10-step schedule$/,
  );
  sampler.reset();
  await assert.rejects(() => sampler.step(standIn, out, n), /step 10 is not a step/);
  // a started run goes on from the given sample: step 0, then steps 1..9 from its result
  const first = await sampler.step(standIn, x, 0);
  let rest = first.prevSample;
  for (let i = 1; i < n; i++) rest = (await sampler.step(standIn, rest, i)).prevSample;
  assert.equal(ulpBetween(rest, out), 0);
});

Deno.test("labml DDIM runs to the end from a mid-point of the original's trajectory", async () => {
  const run = await loadSamplerRun(`${REFS}/labml_ddim/uniform_eta0_10.safetensors`);
  const n = run.t.length;
  for (const from of [0, 4, n - 1]) {
    // a fresh sampler started at step `from` on the original's x there (eta 0: no state, no noise)
    const sampler = new LabmlDDIMSampler(run.alphasCumprod, 10);
    let x = run.at("x", from);
    for (let i = from; i < n; i++) {
      x = (await sampler.step(standIn, x, i)).prevSample;
      assert.equal(ulpBetween(x, run.at("x_prev", i)), 0, `from ${from}: step ${i}`);
    }
    await assert.rejects(() => sampler.step(standIn, x, n), /step 10 is not a step of the 10-step/);
  }
});

Deno.test("labml DDIM: a model error reaches the caller and draws no noise; eta > 0 needs a generator", async () => {
  const run = await loadSamplerRun(`${REFS}/labml_ddim/uniform_eta05_15.safetensors`);
  const p = run.params;
  const options = {
    discretize: p.ddim_discretize as DdimDiscretize,
    eta: p.ddim_eta as number,
    temperature: p.temperature as number,
    repeatNoise: p.repeat_noise as boolean,
    skipSteps: p.skip_steps as number,
  };
  assert.ok(options.eta > 0);
  const sampler = new LabmlDDIMSampler(run.alphasCumprod, p.steps as number, {
    ...options,
    generator: new TorchGenerator((p.seed as number) + 1),
  });
  const x = run.at("x", 0);
  await assert.rejects(
    () => sampler.step(() => Promise.reject(new Error("model down")), x, 0),
    /model down/,
  );
  // the failed step drew nothing: the retried steps replay the original, noise included
  for (let i = 0; i < 3; i++) {
    const out = await sampler.step(() => Promise.resolve(run.at("eps", i)), run.at("x", i), i);
    assert.ok(out.noise, `step ${i} draws noise`);
    assert.equal(ulpBetween(out.prevSample, run.at("x_prev", i)), 0, `step ${i}`);
  }
  const noGen = new LabmlDDIMSampler(run.alphasCumprod, p.steps as number, options);
  await assert.rejects(
    () => noGen.step(standIn, x, 0),
    /^RangeError: LabmlDDIMSampler\.step: eta > 0 draws noise: pass options\.generator$/,
  );
  // eta 0 draws none and needs no generator
  const det = new LabmlDDIMSampler(run.alphasCumprod, 5);
  assert.equal(
    (await det.step(standIn, new Tensor(new Float32Array([1, -1]), [1, 2]), 0)).noise,
    undefined,
  );
});

Deno.test("the LDM samplers' addNoise is sqrt(a_t) x0 + sqrt(1 - a_t) noise within a float32 ulp (single-term elements)", () => {
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  for (const s of [new CompVisPLMSSampler(alphas, 10), new LabmlDDIMSampler(alphas, 10)]) {
    // batch item 0: x0 only (noise 0); batch item 1: noise only (x0 0)
    const x0 = new Tensor(new Float32Array([0.5, -1.25, 7.5, 0, 0, 0]), [2, 3]);
    const noise = new Tensor(new Float32Array([0, 0, 0, 1.5, -0.3, 2.0]), [2, 3]);
    let noiseChecked = 0;
    for (const t of [0, 1, 100, 250, 353, 354, 500, 999]) {
      const got = s.addNoise(x0, noise, t);
      assert.deepEqual(got.shape, x0.shape);
      // Independently: float64 from the float32 alphas_cumprod, rounded once. The sampler rounds every
      // operation to float32 (as torch does): sqrt(a) (or 1 - a and its sqrt), the product, and
      // the sum with an exact 0. With one term, the rounded coefficient is within 2^-24 relative
      // of the exact one, so the unrounded product lies within 2^-24 |v| < 1 ulp(v) of the exact
      // v, and rounding two reals less than an ulp apart gives float32 values at most one step
      // apart: 1 ulp. 1 - a is exact only for a >= 0.5 (Sterbenz); below, its rounding adds up to
      // another 2^-24 relative and 2 ulp become possible, so the noise-only elements are checked
      // where a >= 0.5. (Elements mixing both terms can reach 2 ulp too, even of one sign.)
      const a = alphas[t];
      const want = x0.data.map((v, j) =>
        Math.fround(Math.sqrt(a) * v + Math.sqrt(1 - a) * noise.data[j])
      );
      const upTo = a >= 0.5 ? 6 : 3;
      if (a >= 0.5) noiseChecked++;
      const d = ulpBetween(got.data.subarray(0, upTo), want.subarray(0, upTo));
      assert.ok(d <= 1, `t=${t} (a=${a}): ${d} ulp`);
    }
    assert.ok(noiseChecked >= 5 && noiseChecked < 8, `${noiseChecked} timesteps with a >= 0.5`);
    assert.throws(() => s.addNoise(x0, Tensor.zeros([3]), 0), /shape/);
  }
});
