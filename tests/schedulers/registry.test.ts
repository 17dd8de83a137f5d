import assert from "node:assert/strict";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { SCHEDULER_CLASSES, schedulerFromConfig } from "../../core/schedulers/registry.ts";

const sdConfig = JSON.parse(
  await Deno.readTextFile("fixtures/models/tiny-sd/scheduler/scheduler_config.json"),
);

Deno.test("every diffusers class of the public contract is registered", () => {
  assert.deepEqual(Object.keys(SCHEDULER_CLASSES).sort(), [
    "DDIMInverseScheduler",
    "DDIMScheduler",
    "DDPMScheduler",
    "DEISMultistepScheduler",
    "DPMSolverMultistepScheduler",
    "DPMSolverSinglestepScheduler",
    "EulerAncestralDiscreteScheduler",
    "EulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "LCMScheduler",
    "LMSDiscreteScheduler",
    "PNDMScheduler",
    "UniPCMultistepScheduler",
  ]);
});

Deno.test("schedulerFromConfig applies overrides over the folder config, as from_config(**kw)", () => {
  const s = schedulerFromConfig(
    "DDPMScheduler",
    sdConfig,
    { variance_type: "fixed_large" },
    "scheduler_config.json",
  );
  assert.ok(s instanceof DDPMScheduler);
  assert.equal(s.config.varianceType, "fixed_large");
  assert.equal(s.config.betaSchedule, "scaled_linear");
  assert.equal(s.config.stepsOffset, 1);
  // DDIM-only options of the folder's DDIM config are kept as warnings, not errors.
  assert.ok(
    s.configWarnings.some((w) => w.includes("set_alpha_to_one")),
    s.configWarnings.join("\n"),
  );
});

Deno.test("schedulerFromConfig names the allowed classes for an unknown one", () => {
  assert.throws(
    () => schedulerFromConfig("KarrasVeScheduler", sdConfig, {}, "x.json"),
    (err: unknown) => {
      assert.ok(err instanceof SchedulerConfigError);
      assert.match(
        err.message,
        /^x\.json: "_class_name": expected one of DDIMScheduler, .*got "KarrasVeScheduler"$/,
      );
      return true;
    },
  );
});

Deno.test("a wrong override type is an error naming the key", () => {
  assert.throws(
    () => schedulerFromConfig("DDIMScheduler", sdConfig, { steps_offset: "one" }, "case ddim"),
    /case ddim: "steps_offset"/,
  );
});
