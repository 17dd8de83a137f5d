import assert from "node:assert/strict";
import { type LabmlDDIMOptions, LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import {
  ddimTimesteps,
  ldmAlphasCumprod,
  type NoiseModel,
  runSampler,
  type SamplerStep,
} from "../../core/schedulers/sampler.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { ulpBetween } from "./replay_util.ts";
import { loadSamplerRun, safetensorsIn, type SamplerRun, standInEps } from "./stand_in_eps.ts";

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

Deno.test("labml DDIM schedule (uniform, quad, eta) matches the original's buffers bit for bit", async () => {
  const files = await safetensorsIn(DIR);
  assert.ok(files.length >= 8, `expected the labml references in ${DIR}`);
  for (const path of files) {
    const c = await loadCase(path);
    assert.equal(ulpBetween(c.alphaBar, c.alphasCumprod), 0, `${path}: alpha_bar`);
    const s = samplerOf(c);
    assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"), path);
    assert.equal(ulpBetween(s.ddimAlpha, c.file.tensor("ddim_alphas")), 0, `${path}: ddim_alpha`);
    assert.equal(ulpBetween(s.ddimAlphaPrev, c.file.tensor("ddim_alphas_prev")), 0, path);
    assert.equal(ulpBetween(s.ddimSigma, c.file.tensor("ddim_sigmas")), 0, `${path}: ddim_sigma`);
    assert.equal(
      ulpBetween(s.ddimSqrtOneMinusAlpha, c.file.tensor("ddim_sqrt_one_minus_alphas")),
      0,
      path,
    );
  }
});

Deno.test("labml DDIM replays the original sampler's steps bit for bit, noise included", async () => {
  let worst = 0;
  let noisy = 0;
  const noiseSizes = new Set<number>();
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = samplerOf(c);
    assert.equal(c.t.length, s.timesteps.length, `${path}: the reference has every step`);
    let i = 0;
    const model: NoiseModel = () => Promise.resolve(c.at("eps", i));
    for (; i < s.timesteps.length; i++) {
      const rec = await s.step(model, c.at("x", i));
      assert.equal(rec.t, c.t[i], `${path}: t at step ${i}`);
      const d = Math.max(
        ulpBetween(rec.predX0, c.at("pred_x0", i)),
        ulpBetween(rec.xPrev, c.at("x_prev", i)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: step ${i}: ${d} ulp`);
      const ref = c.row("noise", i);
      if (ref) {
        const temp = Math.fround(c.options.temperature!);
        assert.ok(rec.noise, `${path}: step ${i} drew noise`);
        assert.deepEqual(rec.noise.shape, ref.shape);
        assert.equal(
          ulpBetween(rec.noise, ref.data.map((v) => v * temp)),
          0,
          `${path}: noise ${i}`,
        );
        noiseSizes.add(ref.size);
        noisy++;
      } else {
        assert.equal(rec.noise, undefined, `${path}: step ${i} draws no noise`);
      }
    }
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
    const records: SamplerStep[] = [];
    const model: NoiseModel = (x, t) => Promise.resolve(standInEps(x, t));
    await runSampler(samplerOf(c), model, c.file.tensor("x_T"), (r) => {
      records.push(r);
    });
    for (const r of records) {
      const d = Math.max(
        ulpBetween(r.eps, c.at("eps", r.index)),
        ulpBetween(r.xPrev, c.at("x_prev", r.index)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: free run step ${r.index}: ${d} ulp`);
    }
  }
  console.log(`labml DDIM free run: largest drift ${worst} ulp`);
});

Deno.test("labml DDIM errors: noise without a generator, bad options, exhausted steps", async () => {
  const alphaBar = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
  const model: NoiseModel = (v) => Promise.resolve(v);
  const noGen = new LabmlDDIMSampler(alphaBar, 5, { eta: 0.5 });
  await assert.rejects(() => noGen.step(model, x), /eta > 0 draws noise/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 5, { skipSteps: 5 }), /skipSteps/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 5, { eta: NaN }), /eta must be a finite/);
  assert.throws(() => new LabmlDDIMSampler(alphaBar, 3), /timestep 1000/);
  assert.throws(
    () => new LabmlDDIMSampler(alphaBar, 5, { discretize: "cubic" as never }),
    /not supported/,
  );
  assert.deepEqual(ddimTimesteps("quad", 1, 1000), [1]);
  const one = new LabmlDDIMSampler(alphaBar, 1);
  await one.step(model, x);
  await assert.rejects(() => one.step(model, x), /all 1 steps are done/);
  await assert.rejects(
    () => new LabmlDDIMSampler(alphaBar, 2).step(() => Promise.resolve(Tensor.zeros([3])), x),
    /shape/,
  );
});
