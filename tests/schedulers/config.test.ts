import assert from "node:assert/strict";
import {
  type BetaOption,
  CONFIG_FIELDS,
  type SchedulerConfig,
  type SchedulerSpec,
  schedulerSpec,
} from "../../core/schedulers/config.ts";
import { parseSchedulerConfig, toDiffusersConfig } from "../../core/schedulers/config_json.ts";
import { DDIM_SPEC, DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDIMInverseScheduler } from "../../core/schedulers/ddim_inverse.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";

const REFS = "fixtures/refs/schedulers";

Deno.test("each class has diffusers' __init__ defaults", () => {
  const ddim = new DDIMScheduler().config;
  assert.equal(ddim.clipSample, true);
  assert.equal(ddim.setAlphaToOne, true);
  assert.equal(ddim.timestepSpacing, "leading");
  assert.equal(ddim.betaSchedule, "linear");
  assert.equal(ddim.dynamicThresholdingRatio, 0.995);
  const ddpm = new DDPMScheduler().config;
  assert.equal(ddpm.varianceType, "fixed_small");
  assert.equal(ddpm.clipSample, true);
  assert.ok(!("setAlphaToOne" in ddpm));
  const inv = new DDIMInverseScheduler().config;
  assert.ok(!("thresholding" in inv));
  assert.equal(inv.clipSample, true);
  // the option set of each class is diffusers' __init__ parameter list
  assert.deepEqual(
    Object.keys(DDIM_SPEC.defaults).map((k) => CONFIG_FIELDS[k as keyof SchedulerConfig].key),
    [
      "num_train_timesteps",
      "beta_start",
      "beta_end",
      "beta_schedule",
      "trained_betas",
      "clip_sample",
      "set_alpha_to_one",
      "steps_offset",
      "prediction_type",
      "thresholding",
      "dynamic_thresholding_ratio",
      "clip_sample_range",
      "sample_max_value",
      "timestep_spacing",
      "rescale_betas_zero_snr",
    ],
  );
});

Deno.test("a spec may declare options beyond CONFIG_FIELDS", () => {
  type C = { sigmaMin: number | null; numTrainTimesteps: number };
  const spec: SchedulerSpec<C> = {
    className: "EulerLike",
    defaults: { sigmaMin: null, numTrainTimesteps: 1000 },
    fields: { sigmaMin: { key: "sigma_min", kind: "float", nullable: true } },
  };
  const p = parseSchedulerConfig({ sigma_min: 0.03, beta_schedule: "linear" }, spec, "e.json");
  assert.equal(p.config.sigmaMin, 0.03);
  assert.equal(p.warnings.length, 1); // beta_schedule is known but not an EulerLike option
  assert.throws(
    () => parseSchedulerConfig({ sigma_min: "a" }, spec),
    /"sigma_min": expected a finite number/,
  );
  assert.deepEqual(toDiffusersConfig(spec, p.config), {
    _class_name: "EulerLike",
    sigma_min: 0.03,
    num_train_timesteps: 1000,
  });
});

Deno.test("schedulerSpec puts diffusers' beta defaults first, then the class's, frozen", async () => {
  type C = Pick<SchedulerConfig, BetaOption | "stepsOffset" | "clipSample">;
  const spec = schedulerSpec<C>("X", { stepsOffset: 0, clipSample: true }, {
    clipSample: { key: "clip", kind: "boolean" },
  });
  assert.equal(spec.className, "X");
  assert.deepEqual(Object.keys(spec.defaults), [
    "numTrainTimesteps",
    "betaStart",
    "betaEnd",
    "betaSchedule",
    "trainedBetas",
    "stepsOffset",
    "clipSample",
  ]);
  assert.ok(Object.isFrozen(spec.defaults));
  assert.equal(spec.fields?.clipSample?.key, "clip");
  assert.equal(schedulerSpec<C>("Y", { stepsOffset: 1, clipSample: false }).fields, undefined);
  // the beta defaults are those diffusers' save_config writes for a default scheduler
  const json = JSON.parse(
    await Deno.readTextFile(`${REFS}/ddim_inverse/configs/default.json`),
  ) as Record<string, unknown>;
  for (
    const name of ["numTrainTimesteps", "betaStart", "betaEnd", "betaSchedule", "trainedBetas"]
  ) {
    const field = CONFIG_FIELDS[name as keyof SchedulerConfig];
    assert.equal(spec.defaults[name as keyof C], json[field.key], field.key);
  }
});
