import assert from "node:assert/strict";
import {
  inverseSchedulerOf,
  INVERSION_METHODS,
  planInversion,
} from "../../../core/pipelines/inversion/methods.ts";
import { DDIMScheduler } from "../../../core/schedulers/ddim.ts";
import { sd15 } from "./_sd15.ts";
import { Tensor } from "../../../core/tensor/tensor.ts";

Deno.test("ddim: DDIMInverseScheduler.from_config(scheduler.config): ascending 1..901 and back 901..1", () => {
  const plan = planInversion({ method: "ddim" }, sd15(), 10);
  assert.deepEqual(plan.invert.timesteps, [1, 101, 201, 301, 401, 501, 601, 701, 801, 901]);
  assert.deepEqual(plan.sample.timesteps, [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  assert.equal(plan.begin, 0);
});

Deno.test("tutorial: the sampling pass starts from inverted[-(start_step + 1)] at index start_step", () => {
  const plan = planInversion({ method: "tutorial" }, sd15(), 10, 2);
  const states = [1, 2, 3, 4, 5, 6, 7, 8].map((v) => new Tensor(new Float32Array([v]), [1]));
  assert.equal((plan.handOff(states) as Tensor).data[0], 6);
  assert.equal(plan.begin, 2);
  assert.equal(plan.invert.timesteps.length, 8);
});

Deno.test("edict: the state is a pair; the reconstruction its first latent; p defaults to 0.93^(50/n)", () => {
  const plan = planInversion({ method: "edict" }, sd15(), 10);
  const z = new Tensor(new Float32Array([0.5]), [1, 1]);
  const start = plan.start(z) as readonly Tensor[];
  assert.equal(start.length, 2);
  assert.equal(plan.finish(start), start[0]);
  assert.equal(
    INVERSION_METHODS.edict.label({ method: "edict" }),
    "EDICT (p 0.93^(50/n), float32)",
  );
});

Deno.test("planInversion: names the bad field", () => {
  const ddim = sd15();
  assert.throws(
    () => planInversion({ method: "nope" as "ddim" }, ddim, 10),
    /inversion\.method: expected one of ddim, negative-prompt/,
  );
  assert.throws(
    () => planInversion({ method: "ddim", mixing: 0.9 }, ddim, 10),
    /inversion\.mixing: not an option of method 'ddim'/,
  );
  assert.throws(
    () => planInversion({ method: "edict", arithmetic: "float16" as "float32" }, ddim, 10),
    /inversion\.arithmetic: expected "float32" or "float64"/,
  );
  assert.throws(
    () => planInversion({ method: "ddim", latent: "mode" as "mean" }, ddim, 10),
    /inversion\.latent: expected "mean" or "sample"/,
  );
  assert.throws(
    () => planInversion({ method: "tutorial" }, ddim, 10, 8),
    /startStep: expected a whole number in 0\.\.7 for 10 steps, got 8/,
  );
  assert.throws(
    () => planInversion({ method: "edict" }, ddim, 10, 1),
    /startStep: only the tutorial's loop/,
  );
});

Deno.test("inverseSchedulerOf: the options diffusers' DDIMInverseScheduler.from_config(scheduler.config) gave the references", async () => {
  const { readSafetensors } = await import("../../../core/tensor/safetensors.ts");
  const { DDIM_INVERSE_SPEC } = await import("../../../core/schedulers/ddim_inverse.ts");
  const { fieldOf } = await import("../../../core/schedulers/config_json.ts");
  for (
    const [model, ref] of [
      ["digits-sd", "digits-sd-invert-ddim-g1"],
      ["digits-ddpm", "digits-ddpm-invert-ddim"],
    ]
  ) {
    const json = JSON.parse(
      await Deno.readTextFile(`fixtures/models/${model}/scheduler/scheduler_config.json`),
    );
    const theirs = JSON.parse(
      (await readSafetensors(`fixtures/refs/cases/${ref}.onnx.safetensors`))
        .metadata["inverse_scheduler_config"],
    );
    const ours = inverseSchedulerOf(DDIMScheduler.fromConfig(json), 10);
    for (const name of Object.keys(DDIM_INVERSE_SPEC.defaults) as (keyof typeof ours.config)[]) {
      assert.deepEqual(
        ours.config[name],
        theirs[fieldOf(DDIM_INVERSE_SPEC, name).key],
        `${model} ${name}`,
      );
    }
  }
});
