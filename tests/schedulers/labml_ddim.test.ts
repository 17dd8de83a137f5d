import assert from "node:assert/strict";
import { type LabmlDDIMOptions, LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import { ddimTimesteps, ldmAlphasCumprod } from "../../core/schedulers/ldm_schedule.ts";
import type { Denoiser } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
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

const DIR = "fixtures/refs/samplers/labml_ddim";

interface LabmlCase extends SamplerRun {
  steps: number;
  options: LabmlDDIMOptions;
  /** Our alpha_bar for the run's schedule. */
  alphaBar: Float32Array;
  seed: number;
}

async function loadCase(path: string): Promise<LabmlCase> {
  const run = await loadSamplerRun(path);
  const p = run.params;
  const { linear_start, linear_end, timesteps } = run.schedule;
  // labml's LatentDiffusion: linspace(start ** 0.5, end ** 0.5) ** 2, float64 cumprod: LDM's "linear"
  const alphaBar = ldmAlphasCumprod("linear", linear_start, linear_end, timesteps);
  return {
    ...run,
    steps: p.steps as number,
    seed: p.seed as number,
    alphaBar,
    options: {
      discretize: p.ddim_discretize as LabmlDDIMOptions["discretize"],
      eta: p.ddim_eta as number,
      temperature: p.temperature as number,
      repeatNoise: p.repeat_noise as boolean,
      skipSteps: p.skip_steps as number,
    },
  };
}

/** The sampler of a case, its noise from torch's global generator as seeded by the dumper. */
function samplerOf(c: LabmlCase): LabmlDDIMSampler {
  return new LabmlDDIMSampler(c.alphaBar, c.steps, {
    ...c.options,
    generator: new TorchGenerator(c.seed + 1),
  });
}

/** Asserts that two samplers hold bit-identical DDIM tables. */
function assertSameTables(a: LabmlDDIMSampler, b: LabmlDDIMSampler, label: string): void {
  assert.deepEqual([...a.ddimTimesteps], [...b.ddimTimesteps], label);
  assert.deepEqual([...a.timesteps], [...b.timesteps], label);
  assert.deepEqual(a.ddimAlpha, b.ddimAlpha, label);
  assert.deepEqual(a.ddimAlphaPrev, b.ddimAlphaPrev, label);
  assert.deepEqual(a.ddimSigma, b.ddimSigma, label);
  assert.deepEqual(a.ddimSqrtOneMinusAlpha, b.ddimSqrtOneMinusAlpha, label);
}

Deno.test("labml DDIM schedule (uniform, quad, eta) matches the original's buffers bit for bit", async () => {
  const files = await safetensorsIn(DIR);
  assert.ok(files.length >= 8, `expected the labml references in ${DIR}`);
  for (const path of files) {
    const c = await loadCase(path);
    assert.equal(ulpBetween(c.alphaBar, c.alphasCumprod), 0, `${path}: alpha_bar`);
    const s = samplerOf(c);
    assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"), path);
    assert.deepEqual([...s.timesteps], c.t, `${path}: visiting order (skip_steps applied)`);
    assert.equal(ulpBetween(s.ddimAlpha, c.file.tensor("ddim_alphas")), 0, `${path}: ddim_alpha`);
    assert.equal(ulpBetween(s.ddimAlphaPrev, c.file.tensor("ddim_alphas_prev")), 0, path);
    assert.equal(ulpBetween(s.ddimSigma, c.file.tensor("ddim_sigmas")), 0, `${path}: ddim_sigma`);
    assert.equal(
      ulpBetween(s.ddimSqrtOneMinusAlpha, c.file.tensor("ddim_sqrt_one_minus_alphas")),
      0,
      path,
    );
    assert.equal(s.initNoiseSigma, 1);
  }
});

Deno.test("labml DDIM replays the original sampler's steps bit for bit, noise included", async () => {
  let worst = 0;
  let noisy = 0;
  const noiseSizes = new Set<number>();
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = samplerOf(c);
    const n = s.timesteps.length;
    assert.equal(c.t.length, n, `${path}: the reference has every step`);
    for (let i = 0; i < n; i++) {
      const calls: Call[] = [];
      const x = c.at("x", i); // reference x in: replay
      const out = await s.step(recording(() => Promise.resolve(c.at("eps", i)), calls), x, i);
      assert.equal(calls.length, 1, `${path}: one model call at step ${i}`);
      assert.equal(calls[0].t, c.t[i], `${path}: t at step ${i}`);
      assert.equal(calls[0].x, x, `${path}: step ${i} calls the model at its input`);
      const d = Math.max(
        ulpBetween(out.predOriginalSample!, c.at("pred_x0", i)),
        ulpBetween(out.prevSample, c.at("x_prev", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: step ${i}: ${d} ulp`);
      const ref = c.row("noise", i);
      if (ref) {
        const temp = Math.fround(c.options.temperature!);
        assert.ok(out.noise, `${path}: step ${i} drew noise`);
        assert.deepEqual(out.noise.shape, ref.shape);
        assert.equal(
          ulpBetween(out.noise, ref.data.map((v) => v * temp)),
          0,
          `${path}: noise ${i}`,
        );
        noiseSizes.add(ref.size);
        noisy++;
      } else {
        assert.equal(out.noise, undefined, `${path}: step ${i} draws no noise`);
      }
    }
    // past the last step: the out-of-range error, before any model call or draw
    const calls: Call[] = [];
    await assert.rejects(
      () => s.step(recording(standIn, calls), c.file.tensor("x_T"), n),
      new RegExp(
        `^RangeError: LabmlDDIMSampler\\.step: step ${n} is not a step of the ${n}-step schedule$`,
      ),
    );
    assert.equal(calls.length, 0);
  }
  assert.ok(noisy > 30, "stochastic steps are covered");
  // torch.randn's scalar path (< 16), its vectorized one (multiple of 16) and a recomputed tail
  assert.ok([...noiseSizes].some((n) => n < 16), `noise sizes ${[...noiseSizes]}`);
  assert.ok([...noiseSizes].some((n) => n > 16 && n % 16 !== 0), `noise sizes ${[...noiseSizes]}`);
  console.log(`labml DDIM replay: largest ulp distance ${worst}, ${noisy} noisy steps`);
});

Deno.test("labml DDIM free run with the stand-in model reproduces the original trajectory", async () => {
  let worst = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = samplerOf(c);
    let x = c.file.tensor("x_T");
    for (let i = 0; i < s.timesteps.length; i++) {
      const calls: Call[] = [];
      const out = await s.step(recording(standIn, calls), x, i);
      assert.equal(calls.length, 1, `${path}: one model call at step ${i}`);
      const d = Math.max(
        ulpBetween(calls[0].out, c.at("eps", i)),
        ulpBetween(out.prevSample, c.at("x_prev", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: free run step ${i}: ${d} ulp`);
      x = out.prevSample;
    }
    assert.equal(ulpBetween(x, c.at("x_prev", c.t.length - 1)), 0, `${path}: final sample`);
  }
  console.log(`labml DDIM free run: largest drift ${worst} ulp`);
});

Deno.test("labml DDIM setTimesteps(n) gives the tables of a sampler constructed with n", async () => {
  const alphaBar = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const optionSets: LabmlDDIMOptions[] = [
    {},
    { discretize: "quad", eta: 1 },
    { eta: 0.5, skipSteps: 2 },
  ];
  for (const options of optionSets) {
    for (const [from, to] of [[10, 25], [50, 4], [7, 7], [20, 12]]) {
      const s = new LabmlDDIMSampler(alphaBar, from, options);
      s.setTimesteps(to);
      assertSameTables(s, new LabmlDDIMSampler(alphaBar, to, options), `${from} -> ${to}`);
    }
  }
  // and against the original's buffers
  const c = await loadCase(`${DIR}/quad_eta1_temp07_12.safetensors`);
  const s = new LabmlDDIMSampler(c.alphaBar, 30, c.options);
  s.setTimesteps(c.steps);
  assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"));
  assert.equal(ulpBetween(s.ddimAlpha, c.file.tensor("ddim_alphas")), 0);
  assert.equal(ulpBetween(s.ddimAlphaPrev, c.file.tensor("ddim_alphas_prev")), 0);
  assert.equal(ulpBetween(s.ddimSigma, c.file.tensor("ddim_sigmas")), 0);
  assert.equal(
    ulpBetween(s.ddimSqrtOneMinusAlpha, c.file.tensor("ddim_sqrt_one_minus_alphas")),
    0,
  );
  // a count that skipSteps leaves no step of, or that leaves the training range, is refused and
  // leaves the tables as they were
  const skip = new LabmlDDIMSampler(alphaBar, 10, { skipSteps: 3 });
  const before = new LabmlDDIMSampler(alphaBar, 10, { skipSteps: 3 });
  assert.throws(() => skip.setTimesteps(2), /skipSteps must be an integer in \[0, 1\], got 3/);
  assert.throws(() => skip.setTimesteps(3), /timestep 1000/);
  assertSameTables(skip, before, "after refused counts");
});

Deno.test("labml DDIM errors: noise without a generator, bad options, steps outside the schedule", async () => {
  const alphaBar = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
  const model: Denoiser = (v) => Promise.resolve(v);
  const noGen = new LabmlDDIMSampler(alphaBar, 5, { eta: 0.5 });
  await assert.rejects(() => noGen.step(model, x, 0), /eta > 0 draws noise/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 5, { skipSteps: 5 }), /skipSteps/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 5, { eta: NaN }), /eta must be a finite/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 3), /timestep 1000/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 0), /positive integer/);
  assert.throws(
    () => new LabmlDDIMSampler(alphaBar, 5, { discretize: "cubic" as never }),
    /not supported/,
  );
  assert.deepEqual(ddimTimesteps("quad", 1, 1000), [1]);
  const one = new LabmlDDIMSampler(alphaBar, 1);
  await one.step(model, x, 0);
  await assertStepsRefused(one, "LabmlDDIMSampler", 1, [1, -1, 0.5, NaN], model);
  // skip_steps shortens the schedule the step index runs over
  const skipped = new LabmlDDIMSampler(alphaBar, 10, { skipSteps: 3 });
  await assert.rejects(() => skipped.step(model, x, 7), /step 7 is not a step of the 7-step/);
  await assert.rejects(
    () => new LabmlDDIMSampler(alphaBar, 2).step(() => Promise.resolve(Tensor.zeros([3])), x, 0),
    /shape/,
  );
  await assert.rejects(
    () => one.step(() => Promise.reject(new Error("model down")), x, 0),
    /model down/,
  );
});
