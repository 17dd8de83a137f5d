import assert from "node:assert/strict";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import { ldmAlphasCumprod } from "../../core/schedulers/ldm_schedule.ts";
import { SCHEDULER_CLASSES } from "../../core/schedulers/registry.ts";
import { makeSampler, SAMPLERS } from "../../core/schedulers/samplers.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

const SD = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  steps_offset: 1,
  set_alpha_to_one: false,
};

Deno.test("every diffusers scheduler class that samples has a row in SAMPLERS", () => {
  const missing = Object.keys(SCHEDULER_CLASSES).filter((n) =>
    n !== "DDIMInverseScheduler" && !(n in SAMPLERS)
  );
  assert.deepEqual(missing, []);
  assert.deepEqual(
    Object.keys(SAMPLERS).filter((n) => !(n in SCHEDULER_CLASSES)),
    ["CompVisPLMS", "LabmlDDIM"],
  );
});

Deno.test("makeSampler: a diffusers scheduler from the config with the case's overrides, timesteps set", () => {
  const ddpm = makeSampler(
    { type: "DDPMScheduler", config: { timestep_spacing: "trailing" } },
    SD,
    {
      steps: 4,
    },
  );
  // diffusers DDPMScheduler(trailing).set_timesteps(4): 999, 749, 499, 249
  assert.deepEqual(ddpm.timesteps, [999, 749, 499, 249]);
  assert.equal(ddpm.configWarnings.length, 1);
  assert.match(ddpm.configWarnings[0], /"set_alpha_to_one" is not an option of DDPMScheduler/);
  const euler = makeSampler({ type: "EulerDiscreteScheduler" }, SD, { steps: 10 });
  assert.ok(euler.initNoiseSigma > 14 && euler.initNoiseSigma < 15, `${euler.initNoiseSigma}`);
});

Deno.test("makeSampler: CompVis PLMS and labml DDIM over LDM's alphas of the model's betas", async () => {
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const plms = makeSampler({ type: "CompVisPLMS" }, SD, { steps: 10 });
  assert.ok(plms instanceof CompVisPLMSSampler);
  assert.deepEqual([...plms.alphasCumprod], [...alphas], "scaled_linear is LDM's linear");
  assert.deepEqual(plms.timesteps, new CompVisPLMSSampler(alphas, 10).timesteps);
  const labml = makeSampler({ type: "LabmlDDIM", discretize: "quad" }, SD, {
    steps: 10,
    eta: 0.5,
    generator: new TorchGenerator(0),
  });
  assert.ok(labml instanceof LabmlDDIMSampler);
  assert.equal(labml.options.eta, 0.5);
  assert.equal(
    SAMPLERS.LabmlDDIM.label({ type: "LabmlDDIM", discretize: "quad" }),
    "LabmlDDIM (quad)",
  );
  const noGen = makeSampler({ type: "LabmlDDIM", discretize: "uniform" }, SD, {
    steps: 10,
    eta: 1,
  });
  await assert.rejects(
    () => noGen.step((x) => Promise.resolve(x), Tensor.zeros([1, 1]), 0),
    /eta > 0 draws noise/,
  );
});

Deno.test("makeSampler refuses unknown types; SAMPLERS checks each type's own fields", () => {
  assert.throws(
    () => makeSampler({ type: "UniPC" } as never, SD, { steps: 4 }),
    /sampler type "UniPC" is not one of DDIMScheduler, .*LabmlDDIM/,
  );
  assert.deepEqual(SAMPLERS.LabmlDDIM.check({ type: "LabmlDDIM", discretize: "cubic" } as never), [
    "sampler.discretize",
    "expected 'uniform' or 'quad'",
  ]);
  assert.deepEqual(SAMPLERS.DDIMScheduler.check({ type: "DDIMScheduler", config: [] as never }), [
    "sampler.config",
    "expected an object of scheduler_config.json keys",
  ]);
  assert.equal(SAMPLERS.DDIMScheduler.check({ type: "DDIMScheduler" }), null);
});

Deno.test("makeSampler float16: DDIM and PNDM step in half; the others are refused, naming the field", () => {
  const config = {
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    beta_end: 0.012,
    steps_offset: 1,
  };
  assert.deepEqual(
    Object.entries(SAMPLERS).filter(([, k]) => k.float16).map(([n]) => n),
    ["DDIMScheduler", "PNDMScheduler"],
  );
  const x = new Tensor(new Float32Array([0.5, -0.25]), [1, 2]);
  const ddim = makeSampler({ type: "DDIMScheduler" }, config, { steps: 4, precision: "float16" });
  return ddim.step((s) => Promise.resolve(s), x, 0).then(({ prevSample }) => {
    assert.ok(prevSample.data.every((v) => Math.f16round(v) === v)); // a half step
    assert.throws(
      () =>
        makeSampler({ type: "LMSDiscreteScheduler" }, config, { steps: 4, precision: "float16" }),
      /^RangeError: makeSampler: precision: LMSDiscreteScheduler has no float16 sampler mode/,
    );
    assert.throws(
      () =>
        makeSampler({ type: "DDIMScheduler" }, config, { steps: 4, eta: 1, precision: "float16" }),
      /makeSampler: precision: the float16 sampler mode runs eta 0 only; got eta 1/,
    );
    assert.throws(
      () => makeSampler({ type: "CompVisPLMS" }, config, { steps: 4, precision: "float16" }),
      /CompVisPLMS has no float16 sampler mode/,
    );
  });
});
