import assert from "node:assert/strict";
import { PNDMScheduler } from "../../core/schedulers/pndm.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import {
  addNoiseUlp,
  assertFreeRuns,
  freeRunAll,
  listReferenceFiles,
  replayAll,
} from "./replay_util.ts";
import { standInEps } from "./stand_in_eps.ts";
import { HALF_STEPS, loadHalfSteps, replayHalfSteps } from "./half_replay.ts";

const DIR = "fixtures/refs/schedulers/pndm";

Deno.test("PNDM replays every diffusers reference bit for bit (PRK and PLMS)", async () => {
  const files = await listReferenceFiles(DIR);
  assert.ok(files.length >= 15, `expected the PNDM references in ${DIR}, found ${files.length}`);
  const runs = await replayAll(
    files,
    "PNDMScheduler",
    (ref) => PNDMScheduler.fromConfig(ref.config, ref.path),
  );
  for (const { ref, scheduler: s, report: r } of runs) {
    const path = ref.path;
    assert.deepEqual(s.configWarnings, [], path);
    assert.equal(s.counter, ref.steps.length);
    assert.equal(
      r.prevSample.maxUlp,
      0,
      `${path}: ${r.prevSample.maxUlp} ulp at ${r.prevSample.step}`,
    );
    assert.equal(s.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0]);
    assert.equal(addNoiseUlp(ref, s), 0, `${path}: add_noise`);
  }
  assert.ok(
    runs.filter((r) => r.scheduler.prkTimesteps.length > 0).length >= 8,
    "the Runge-Kutta start is covered",
  );
  const worst = Math.max(...runs.map((r) => r.report.prevSample.maxUlp));
  console.log(`PNDM replay: largest ulp distance ${worst} over ${files.length} files`);
});

Deno.test("PNDM free run with the stand-in model reproduces diffusers' trajectory", async () => {
  const files = await listReferenceFiles(DIR);
  const runs = await freeRunAll(
    files,
    (ref) => PNDMScheduler.fromConfig(ref.config),
    (x, t) => standInEps(x, t),
  );
  console.log(`PNDM free run: largest drift ${assertFreeRuns(runs, 0)} ulp`);
});

Deno.test("PNDM timestep layouts match diffusers' set_timesteps", () => {
  const prk = new PNDMScheduler();
  prk.setTimesteps(10);
  assert.deepEqual(prk.prkTimesteps, [900, 850, 850, 800, 800, 750, 750, 700, 700, 650, 650, 600]);
  assert.deepEqual(prk.plmsTimesteps, [600, 500, 400, 300, 200, 100, 0]);
  const plms = new PNDMScheduler({ skipPrkSteps: true, stepsOffset: 1 });
  plms.setTimesteps(4);
  assert.deepEqual(plms.timesteps, [751, 501, 501, 251, 1]);
  plms.setTimesteps(1);
  assert.deepEqual(plms.timesteps, [1]);
  assert.throws(() => prk.setTimesteps(3), /needs num_inference_steps >= 4/);
  assert.throws(() => prk.setTimesteps(0), /positive integer/);
});

Deno.test("PNDM errors: before setTimesteps, shapes, timesteps outside the training range", () => {
  const s = new PNDMScheduler();
  const x = new Tensor(new Float32Array([0.5, -0.5]), [1, 2]);
  assert.throws(() => s.step(x, 900, x), /call setTimesteps first/);
  s.setTimesteps(10);
  assert.throws(() => s.step(Tensor.zeros([2]), 900, x), /shape/);
  const small = new PNDMScheduler({
    trainedBetas: [0.1, 0.2],
    numTrainTimesteps: 2,
    skipPrkSteps: true,
  });
  small.setTimesteps(1);
  assert.throws(() => small.step(x, 5, x), /timestep 5 is outside the 2 training timesteps/);
});

Deno.test("PNDM config: own keys checked, unknown keys kept as warnings", () => {
  assert.throws(
    () => PNDMScheduler.fromConfig({ skip_prk_steps: "yes" }, "sched.json"),
    (e) =>
      e instanceof SchedulerConfigError &&
      /sched\.json: "skip_prk_steps": expected true or false/.test(e.message),
  );
  assert.throws(
    () => PNDMScheduler.fromConfig({ prediction_type: "sample" }, "sched.json"),
    /"prediction_type": expected one of "epsilon", "v_prediction"/,
  );
  assert.throws(() => PNDMScheduler.fromConfig({ set_alpha_to_one: 1 }), /"set_alpha_to_one"/);
  assert.throws(() => PNDMScheduler.fromConfig({ steps_offset: 0.5 }), /"steps_offset"/);
  const s = PNDMScheduler.fromConfig(
    { _class_name: "PNDMScheduler", _diffusers_version: "0.6.0", clip_sample: false, bar: 2 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 2);
  assert.equal(s.toDiffusersConfig()._diffusers_version, "0.6.0");
  assert.equal(s.toDiffusersConfig().clip_sample, false);
});

Deno.test("PNDMScheduler.step float16 (PLMS): every branch of step_plms bit for bit", async () => {
  const h = await loadHalfSteps();
  const { f, math } = h;
  const config = { ...h.config, skip_prk_steps: true };
  const s = PNDMScheduler.fromConfig(config, HALF_STEPS, math);
  const half = replayHalfSteps(f, "pndm", s, "float16");
  assert.equal(half.length, 11); // 10 steps, the first one twice
  assert.deepEqual(half, new Array(11).fill(0));
  const single = replayHalfSteps(
    f,
    "pndm",
    PNDMScheduler.fromConfig(config, HALF_STEPS, math),
    "float32",
  );
  console.log(
    `PNDM float32 step on half inputs: elements differing per step ${single.join(" ")} of 64`,
  );
  assert.ok(single.some((n) => n > 0));
});

Deno.test("PNDMScheduler.step float16 refuses the Runge-Kutta start", async () => {
  const { f, config } = await loadHalfSteps();
  const x = f.tensor("pndm.sample");
  const prk = PNDMScheduler.fromConfig(config);
  prk.setTimesteps(10);
  assert.throws(
    () => prk.step(x, prk.timesteps[0], x, { precision: "float16" }),
    /PNDMScheduler\.step \(float16\): .*skip_prk_steps/,
  );
});
