import assert from "node:assert/strict";
import { runSamplerStudy } from "../../core/harness/sampler_study.ts";
import { sigmaOfTimestep } from "../../core/harness/gaussian_denoiser.ts";
import { defineStudy, StudySpecError } from "../../core/harness/study.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { loadStudy } from "../../core/harness/cases_loader.ts";

const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
const GAUSSIAN = {
  model: "gaussian",
  gaussian: { mean: 0.5, std: 0.5, shape: [1, 2, 2], scheduler: SD },
};
const base = {
  name: "t",
  kind: "samplers" as const,
  models: [GAUSSIAN],
  config: { clip_sample: false, timestep_spacing: "linspace", set_alpha_to_one: false },
  steps: [10, 50],
  seeds: 2,
};

Deno.test("sampler study on Gaussian data: DDIM's error is Euler's in sigma (DDIM eq. 14) against the closed form", async () => {
  const study = defineStudy({
    ...base,
    samplers: [{
      id: "ddim",
      spec: { type: "DDIMScheduler", config: { timestep_spacing: "trailing" } },
      order: 1,
    }],
  });
  const r = await runSamplerStudy(study);
  const row = r.models[0].rows[0];
  // DDIM with eta 0 is Euler's method on dx/dsigma = eps in x_sigma = x_t / sqrt(alpha_bar)
  // (Song et al. 2021, "Denoising Diffusion Implicit Models", eq. 14): here in float64, with the
  // trailing timesteps 999, 999 - 1000/N, ..., each step to t - 1000/N and the last to sigma(0)
  // (alphas_cumprod[0], set_alpha_to_one false), against x(sigma(0)) in closed form
  const { alphasCumprod } = DDIMScheduler.fromConfig(SD);
  const sig = (t: number) => sigmaOfTimestep(alphasCumprod, t);
  const s2 = 0.25;
  const eps = (x: number, s: number) => s * (x - 0.5) / (s2 + s * s);
  for (const [k, steps] of [10, 50].entries()) {
    const ts = Array.from({ length: steps }, (_, i) => 999 - i * (1000 / steps));
    let sum = 0;
    for (let seed = 0; seed < 2; seed++) {
      const xT = new TorchGenerator(seed).randn([4]);
      let sq = 0;
      for (const v of xT.data) {
        let x = v * Math.sqrt(1 + sig(999) ** 2);
        const exact = 0.5 + (x - 0.5) * Math.sqrt(s2 + sig(0) ** 2) / Math.sqrt(s2 + sig(999) ** 2);
        ts.forEach((t, i) => {
          const next = i + 1 < ts.length ? sig(ts[i + 1]) : sig(0);
          x += (next - sig(t)) * eps(x, sig(t));
        });
        sq += ((x - exact) / Math.sqrt(1 + sig(0) ** 2)) ** 2;
      }
      sum += Math.sqrt(sq / 4);
    }
    const want = sum / 2;
    const got = row.points[k].rmse!;
    assert.ok(
      Math.abs(got - want) < 1e-5 * Math.max(1, want) + 1e-6,
      `${steps} steps: ${got} vs ${want}`,
    );
  }
  assert.ok(row.points[1].rmse! < row.points[0].rmse!);
  assert.deepEqual(row.points.map((p) => p.nfe), [10, 50]);
  assert.equal(row.points[0].quality, null); // Gaussian data: nothing to score
  assert.equal(r.models[0].reference.check, null); // the closed form needs no check
});

Deno.test("sampler study: a sampler that blows up is a warning and NaN figures, not the end of the study", async () => {
  const study = defineStudy({
    ...base,
    steps: [5],
    samplers: [
      // diffusers' UniPC bh1 with final_sigmas_type "zero": its last step is NaN (1 * -inf * 0)
      {
        id: "unipc-bh1",
        spec: { type: "UniPCMultistepScheduler", config: { solver_type: "bh1" } },
        order: 2,
      },
      { id: "euler", spec: { type: "EulerDiscreteScheduler" }, order: 1 },
    ],
  });
  const r = await runSamplerStudy(study);
  const [bad, euler] = r.models[0].rows;
  assert.ok(Number.isNaN(bad.points[0].rmse!));
  assert.ok(
    r.warnings.some((w) => /unipc-bh1 at 5 steps: .*non-finite/.test(w)),
    r.warnings.join("\n"),
  );
  assert.ok(Number.isFinite(euler.points[0].rmse!));
});

Deno.test("sampler study: bad studies and options are named", async () => {
  const ddim = { id: "ddim", spec: { type: "DDIMScheduler" as const }, order: 1 };
  // a folder model whose sampler's end has no reference
  assert.throws(
    () =>
      defineStudy({
        ...base,
        models: [{ model: "fixtures/models/digits-ddpm" }],
        samplers: [ddim],
      }),
    /reference: models\[0\] is a model folder: its solution needs a reference/,
  );
  assert.throws(
    () => defineStudy({ ...base, samplers: [{ ...ddim, stochastic: true }] }),
    /samplers\[0\] \(ddim\)\.order: a stochastic sampler has no trajectory order/,
  );
  assert.throws(
    () => defineStudy({ ...base, samplers: [{ ...ddim, end: "middle" as "final" }] }),
    /\.end: expected "final" or "last-step"/,
  );
  assert.throws(
    () => defineStudy({ ...base, samplers: [ddim], models: [{ ...GAUSSIAN, guidance: 5 }] }),
    /models\[0\]\.gaussian: Gaussian data takes no prompt or guidance/,
  );
  assert.throws(
    () => defineStudy({ ...base, samplers: [ddim], references: {} } as never),
    (e) => e instanceof StudySpecError && e.field === "references",
  );
  for (
    const [bad, message] of [
      [
        { models: [{ model: "g", gaussian: null }] },
        /models\[0\]\.gaussian: expected \{ mean, std, shape, scheduler \}/,
      ],
      [
        { models: [{ ...GAUSSIAN, gaussian: { ...GAUSSIAN.gaussian, shape: [] } }] },
        /gaussian\.shape: expected \[C, H, W\]/,
      ],
      [
        { models: [{ ...GAUSSIAN, gaussian: { ...GAUSSIAN.gaussian, stdev: 1 } }] },
        /gaussian\.stdev: not a field/,
      ],
      [{ fit: null }, /fit: expected \{ minSteps, floorFactor \}/],
      [{ fit: { minSteps: 5, floorFactor: 1, floor: 2 } }, /fit\.floor: not a field of fit/],
      [{ steps: [10, 10] }, /steps: expected each count once/],
    ] as const
  ) {
    assert.throws(() => defineStudy({ ...base, samplers: [ddim], ...bad } as never), message);
  }
  const study = defineStudy({ ...base, samplers: [ddim] });
  await assert.rejects(
    runSamplerStudy(study, { samplers: ["nope"] }),
    /samplers: 'nope' is not one of the study's \(ddim\)/,
  );
  await assert.rejects(
    runSamplerStudy(study, { seeds: 0 }),
    /seeds: expected a positive whole number/,
  );
});

Deno.test("cases/samplers.study.ts: every sampler of the issue, each deterministic one with its order and a reference for its end", async () => {
  const s = await loadStudy("cases/samplers.study.ts", "samplers");
  const types = new Set(s.samplers.map((x) => x.spec.type));
  for (
    const t of [
      "DDIMScheduler",
      "PNDMScheduler",
      "CompVisPLMS",
      "LabmlDDIM",
      "LMSDiscreteScheduler",
      "EulerDiscreteScheduler",
      "HeunDiscreteScheduler",
      "KDPM2DiscreteScheduler",
      "DPMSolverMultistepScheduler",
      "DPMSolverSinglestepScheduler",
      "UniPCMultistepScheduler",
      "DEISMultistepScheduler",
      "DDPMScheduler",
      "EulerAncestralDiscreteScheduler",
    ]
  ) assert.ok(types.has(t as never), t);
  assert.deepEqual(s.steps, [5, 10, 20, 50, 100, 250]);
  assert.ok(s.seeds >= 8);
  for (const x of s.samplers) assert.ok(x.stochastic || x.order !== undefined, x.id);
  assert.ok(s.reference && s.reference.check.tolerance <= 1e-4);
});
