import assert from "node:assert/strict";
import { type LabmlDDIMOptions, LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import {
  ddimTimesteps,
  ldmAlphasCumprod,
  type NoiseModel,
  runSampler,
  type SamplerStep,
} from "../../core/schedulers/sampler.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { maxUlpDistance } from "./replay_util.ts";
import { firstValue, safetensorsIn, standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/samplers/labml_ddim";

interface LabmlCase {
  path: string;
  file: SafetensorsFile;
  steps: number;
  options: LabmlDDIMOptions;
  alphaBar: Float32Array;
  seed: number;
}

async function loadCase(path: string): Promise<LabmlCase> {
  const file = await readSafetensors(path);
  const p = JSON.parse(file.metadata.params);
  const schedule = JSON.parse(file.metadata.schedule);
  // labml's LatentDiffusion: linspace(start ** 0.5, end ** 0.5) ** 2, float64 cumprod: LDM's "linear"
  const alphaBar = ldmAlphasCumprod(
    "linear",
    schedule.linear_start,
    schedule.linear_end,
    schedule.timesteps,
  );
  return {
    path,
    file,
    steps: p.steps,
    seed: p.seed,
    alphaBar,
    options: {
      discretize: p.ddim_discretize,
      eta: p.ddim_eta,
      temperature: p.temperature,
      repeatNoise: p.repeat_noise,
      skipSteps: p.skip_steps,
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

function ulp(a: Tensor | Float32Array, b: Tensor | Float32Array): number {
  return maxUlpDistance(a instanceof Tensor ? a.data : a, b instanceof Tensor ? b.data : b).maxUlp;
}

Deno.test("labml DDIM schedule (uniform, quad, eta) matches the original's buffers bit for bit", async () => {
  const files = await safetensorsIn(DIR);
  assert.ok(files.length >= 8, `expected the labml references in ${DIR}`);
  for (const path of files) {
    const c = await loadCase(path);
    assert.equal(ulp(c.alphaBar, c.file.tensor("alphas_cumprod")), 0, `${path}: alpha_bar`);
    const s = samplerOf(c);
    assert.deepEqual([...s.ddimTimesteps], c.file.ints("ddim_timesteps"), path);
    assert.equal(ulp(s.ddimAlpha, c.file.tensor("ddim_alphas")), 0, `${path}: ddim_alpha`);
    assert.equal(ulp(s.ddimAlphaPrev, c.file.tensor("ddim_alphas_prev")), 0, path);
    assert.equal(ulp(s.ddimSigma, c.file.tensor("ddim_sigmas")), 0, `${path}: ddim_sigma`);
    assert.equal(
      ulp(s.ddimSqrtOneMinusAlpha, c.file.tensor("ddim_sqrt_one_minus_alphas")),
      0,
      path,
    );
  }
});

Deno.test("labml DDIM replays the original sampler's steps bit for bit, noise included", async () => {
  let worst = 0;
  let noisy = 0;
  for (const path of await safetensorsIn(DIR)) {
    const c = await loadCase(path);
    const s = samplerOf(c);
    let i = 0;
    const model: NoiseModel = () => Promise.resolve(c.file.tensor(`eps.${i}`));
    for (; i < s.timesteps.length; i++) {
      const rec = await s.step(model, c.file.tensor(`x.${i}`));
      assert.equal(rec.t, firstValue(c.file, `t.${i}`), `${path}: t at step ${i}`);
      const d = Math.max(
        ulp(rec.predX0, c.file.tensor(`pred_x0.${i}`)),
        ulp(rec.xPrev, c.file.tensor(`x_prev.${i}`)),
      );
      worst = Math.max(worst, d);
      assert.equal(d, 0, `${path}: step ${i}: ${d} ulp`);
      if (c.file.has(`noise.${i}`)) {
        const ref = c.file.tensor(`noise.${i}`);
        const temp = Math.fround(c.options.temperature!);
        assert.ok(rec.noise, `${path}: step ${i} drew noise`);
        assert.deepEqual(rec.noise.shape, ref.shape);
        assert.equal(ulp(rec.noise, ref.data.map((v) => v * temp)), 0, `${path}: noise ${i}`);
        noisy++;
      } else {
        assert.equal(rec.noise, undefined, `${path}: step ${i} draws no noise`);
      }
    }
    assert.ok(!c.file.has(`x.${i}`), `${path}: the reference has exactly ${i} steps`);
  }
  assert.ok(noisy > 30, "stochastic steps are covered");
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
        ulp(r.eps, c.file.tensor(`eps.${r.index}`)),
        ulp(r.xPrev, c.file.tensor(`x_prev.${r.index}`)),
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
