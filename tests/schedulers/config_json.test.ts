import assert from "node:assert/strict";
import {
  CONFIG_FIELDS,
  type SchedulerConfig,
  type SchedulerSpec,
} from "../../core/schedulers/config.ts";
import {
  parseSchedulerConfig,
  resolveSchedulerConfig,
  SchedulerConfigError,
  toDiffusersConfig,
} from "../../core/schedulers/config_json.ts";
import { DDIM_SPEC, DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDIM_INVERSE_SPEC, DDIMInverseScheduler } from "../../core/schedulers/ddim_inverse.ts";
import { DDPM_SPEC, DDPMScheduler } from "../../core/schedulers/ddpm.ts";

const REFS = "fixtures/refs/schedulers";

/** Every diffusers-written config of this suite: [folder, file, parsed JSON]. */
async function diffusersConfigs(): Promise<[string, string, Record<string, unknown>][]> {
  const out: [string, string, Record<string, unknown>][] = [];
  for (const folder of ["ddim", "ddim_inverse", "ddpm"]) {
    for await (const e of Deno.readDir(`${REFS}/${folder}/configs`)) {
      const path = `${REFS}/${folder}/configs/${e.name}`;
      out.push([folder, path, JSON.parse(await Deno.readTextFile(path))]);
    }
  }
  return out.sort((a, b) => a[1].localeCompare(b[1]));
}

const SPECS = { ddim: DDIM_SPEC, ddim_inverse: DDIM_INVERSE_SPEC, ddpm: DDPM_SPEC } as const;

Deno.test("a wrong type is an error naming the file, the key and the expected type", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ num_train_timesteps: "1000" }, "num_train_timesteps", /expected an integer, got "1000"/],
    [{ num_train_timesteps: 999.5 }, "num_train_timesteps", /expected an integer/],
    [{ num_train_timesteps: 0 }, "num_train_timesteps", /an integer >= 1/],
    [{ beta_start: null }, "beta_start", /null is not allowed/],
    [{ clip_sample: "true" }, "clip_sample", /expected true or false, got "true"/],
    [{ trained_betas: [0.1, "x"] }, "trained_betas[1]", /expected a finite number/],
    [{ trained_betas: [] }, "trained_betas", /non-empty array/],
    [{ steps_offset: 1.5 }, "steps_offset", /expected an integer/],
    [{ _class_name: 3 }, "_class_name", /expected a string/],
  ];
  for (const [json, key, message] of cases) {
    assert.throws(
      () => DDIMScheduler.fromConfig(json, "unet/scheduler_config.json"),
      (e: unknown) => {
        assert.ok(e instanceof SchedulerConfigError, String(e));
        assert.equal(e.key, key);
        assert.equal(e.source, "unet/scheduler_config.json");
        assert.match(
          e.message,
          new RegExp(`^unet/scheduler_config\\.json: "${key.replace(/[[\]]/g, "\\$&")}": `),
        );
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

Deno.test("an unknown enum value is an error listing the allowed values", () => {
  assert.throws(
    () => DDPMScheduler.fromConfig({ beta_schedule: "cosine" }, "a.json"),
    /^SchedulerConfigError: a\.json: "beta_schedule": expected one of "linear", "scaled_linear", "squaredcos_cap_v2", got "cosine"$/,
  );
  assert.throws(
    () => DDPMScheduler.fromConfig({ variance_type: "fixed" }),
    /DDPMScheduler config: "variance_type": expected one of "fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"/,
  );
  assert.throws(
    () => DDIMScheduler.fromConfig({ prediction_type: "eps" }),
    /"prediction_type": expected one of "epsilon", "sample", "v_prediction"/,
  );
  assert.throws(
    () => DDIMScheduler.fromConfig({ timestep_spacing: "uniform" }),
    /"timestep_spacing": expected one of "leading", "trailing", "linspace"/,
  );
  assert.throws(() => DDIMScheduler.fromConfig([1, 2]), /expected a JSON object/);
  assert.throws(
    () => DDIMScheduler.fromConfig(null, "x.json"),
    /^SchedulerConfigError: x\.json: expected a JSON object/,
  );
});

Deno.test("unknown keys and other classes' options are kept and reported", () => {
  const s = DDIMScheduler.fromConfig(
    {
      _class_name: "PNDMScheduler",
      _diffusers_version: "0.6.0",
      skip_prk_steps: true,
      my_custom: [1, 2],
      _use_default_values: ["beta_end"],
      steps_offset: 1,
      clip_sample: false,
      set_alpha_to_one: false,
    },
    "model/scheduler/scheduler_config.json",
  );
  assert.equal(s.configOrigin.className, "PNDMScheduler");
  assert.equal(s.configOrigin.diffusersVersion, "0.6.0");
  assert.equal(s.configOrigin.source, "model/scheduler/scheduler_config.json");
  assert.deepEqual(s.configOrigin.extra, {
    skip_prk_steps: true,
    my_custom: [1, 2],
    _use_default_values: ["beta_end"],
  });
  assert.equal(s.configWarnings.length, 2);
  assert.match(s.configWarnings[0], /"skip_prk_steps" is not an option of DDIMScheduler/);
  assert.match(
    s.configWarnings[1],
    /^model\/scheduler\/scheduler_config\.json: unknown key "my_custom"/,
  );
  assert.equal(s.config.stepsOffset, 1);
  // kept keys come back in the diffusers JSON
  const json = s.toDiffusersConfig();
  assert.equal(json._class_name, "DDIMScheduler");
  assert.equal(json._diffusers_version, "0.6.0");
  assert.equal(json.skip_prk_steps, true);
  assert.deepEqual(json.my_custom, [1, 2]);
});

Deno.test("an on-by-default option missing from another class's config is reported (DDIM's clip_sample)", () => {
  // what PNDMScheduler.save_config writes for SD 1.x/2.x-base: no clip_sample key, which
  // DDIMScheduler.from_config then takes as True (diffusers' DDIMScheduler.__init__ default)
  const pndm = {
    _class_name: "PNDMScheduler",
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    beta_end: 0.012,
    num_train_timesteps: 1000,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
  };
  const s = DDIMScheduler.fromConfig(pndm, "m/scheduler/scheduler_config.json");
  assert.equal(s.config.clipSample, true);
  assert.deepEqual(s.configWarnings.slice(1), [
    `m/scheduler/scheduler_config.json: "clip_sample" is not set (the file was written for PNDMScheduler); DDIMScheduler's default true applies, as in diffusers' from_config`,
  ]);
  // a file of the class itself, or one that sets the key, says nothing about it
  assert.equal(DDIMScheduler.fromConfig({ ...pndm, clip_sample: true }).configWarnings.length, 1);
  assert.equal(
    DDIMScheduler.fromConfig({ ...pndm, _class_name: "DDIMScheduler" }).configWarnings.length,
    1,
  );
});

Deno.test("fromConfig reads diffusers-written scheduler_config.json files exactly", async () => {
  const configs = await diffusersConfigs();
  assert.ok(configs.length >= 7);
  for (const [folder, path, json] of configs) {
    const spec = SPECS[folder as keyof typeof SPECS] as SchedulerSpec<object>;
    const parsed = parseSchedulerConfig(json, spec, path);
    // diffusers wrote every option of the class and nothing we do not know; configs loaded
    // with from_config from a PNDM config also carry PNDM options (known, reported)
    const allowed = path.endsWith("_from_pndm.json") ? /is not an option of/ : /^$/;
    assert.deepEqual(parsed.warnings.filter((w) => !allowed.test(w)), [], path);
    assert.equal(parsed.className, json._class_name, path);
    assert.equal(parsed.diffusersVersion, "0.42.1", path);
    // every option of the class is in the file and read as is
    for (const name of Object.keys(spec.defaults)) {
      const key = CONFIG_FIELDS[name as keyof SchedulerConfig].key;
      assert.ok(key in json, `${path}: ${key} missing`);
      assert.deepEqual(
        (parsed.config as Record<string, unknown>)[name],
        json[key],
        `${path}: ${key}`,
      );
    }
    // and written back identically (same keys and values)
    const back = toDiffusersConfig(spec, parsed.config, parsed);
    assert.deepEqual(back, json, path);
  }
  // configs loaded by diffusers from a PNDM config carry skip_prk_steps: reported, not fatal
  const fromPndm = configs.find(([f, p]) => f === "ddim" && p.endsWith("sd15_from_pndm.json"))!;
  const s = DDIMScheduler.fromConfig(fromPndm[2], fromPndm[1]);
  assert.equal(s.config.betaSchedule, "scaled_linear");
  assert.equal(s.config.stepsOffset, 1);
  assert.equal(s.config.setAlphaToOne, false);
  assert.equal(s.configWarnings.length, 1);
  assert.match(s.configWarnings[0], /skip_prk_steps/);
});

Deno.test("constructor options are checked; unknown ones are errors", () => {
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new DDIMScheduler({ skipPrkSteps: true } as any),
    /new DDIMScheduler\(\): "skipPrkSteps": not an option of DDIMScheduler/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new DDPMScheduler({ varianceType: "big" as any }),
    /"varianceType": expected one of "fixed_small"/,
  );
  const spec: SchedulerSpec<Pick<SchedulerConfig, "stepsOffset">> = {
    className: "X",
    defaults: { stepsOffset: 0 },
  };
  assert.deepEqual(resolveSchedulerConfig(spec, { stepsOffset: 2 }), { stepsOffset: 2 });
  assert.deepEqual(resolveSchedulerConfig(spec), { stepsOffset: 0 });
  assert.ok(Object.isFrozen(new DDIMScheduler().config));
});

Deno.test("DDIMInverseScheduler honours the deprecated set_alpha_to_zero as diffusers does", () => {
  const inv = DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: false, set_alpha_to_one: true });
  assert.equal(inv.config.setAlphaToOne, false);
  assert.equal(inv.initialAlphaCumprod, inv.alphasCumprod[0]);
  assert.equal(inv.configWarnings.length, 1);
  assert.match(inv.configWarnings[0], /"set_alpha_to_zero" is deprecated/);
  assert.equal(
    DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: null }).config.setAlphaToOne,
    true,
  );
  assert.throws(
    () => DDIMInverseScheduler.fromConfig({ set_alpha_to_zero: 1 }),
    /expected true or false/,
  );
});
