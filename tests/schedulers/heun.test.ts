import assert from "node:assert/strict";
import { HeunDiscreteScheduler } from "../../core/schedulers/heun_discrete.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";
import { schedulerFromConfig } from "../../core/schedulers/registry.ts";
import { img2imgTimesteps } from "../../core/pipelines/timesteps.ts";
import { type MathTable, mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import {
  addNoiseUlp,
  freeRunAll,
  listReferenceFiles,
  loadSchedulerReference,
  replayAll,
  replayQuantities,
  type SchedulerReference,
  ulpBetween,
} from "./replay_util.ts";
import { type Call, recording, standIn, standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/heun";
const files = await listReferenceFiles(DIR);
const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };

/** The float32 sqrt results torch computed while the reference was made (ref_math.py). */
function recordedMath(ref: SchedulerReference): MathTable | undefined {
  const f = ref.file;
  return mathTableFromTensors((n) => f.has(n) ? f.tensor(n).data : undefined, ref.path) ??
    undefined;
}

for (const math of ["IEEE", "recorded"] as const) {
  Deno.test(`Heun replays every diffusers reference bit for bit (${math} sqrt)`, async () => {
    assert.ok(files.length >= 5, `expected the references in ${DIR}, found ${files.length}`);
    let recorded = 0;
    const runs = await replayAll(files, "HeunDiscreteScheduler", (ref) => {
      const table = math === "IEEE" ? undefined : recordedMath(ref);
      if (table) recorded++;
      return HeunDiscreteScheduler.fromConfig(ref.config, ref.path, table);
    });
    if (math === "recorded") assert.ok(recorded >= 2, "references with recorded sqrt");
    const figures: string[] = [];
    for (const { ref, scheduler: s, report } of runs) {
      const path = ref.path;
      assert.equal(ref.noise, "none", path);
      assert.deepEqual(s.configWarnings, [], path);
      const n = ref.setTimesteps.numInferenceSteps!;
      assert.equal(ref.steps.length, 2 * n - 1, `${path}: one model call per timestep`);
      assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
      for (const [what, q] of replayQuantities(report)) {
        assert.equal(q.maxUlp, 0, `${path}: ${what} ${q.maxUlp} ulp at step ${q.step}`);
      }
      const fresh = HeunDiscreteScheduler.fromConfig(ref.config, path);
      fresh.setTimesteps(n);
      assert.equal(fresh.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0], path);
      if (ref.file.has("initial_noise")) {
        const scaled = ref.file.tensor("initial_noise").data.map((v) => v * fresh.initNoiseSigma);
        assert.equal(ulpBetween(scaled, ref.initialSample), 0, `${path}: x_T`);
      }
      if (ref.file.has("add_noise.result")) {
        assert.equal(addNoiseUlp(ref, fresh), 0, `${path}: add_noise on a fresh scheduler`);
      }
      figures.push(`${path.split("/").at(-1)} ${report.prevSample.maxUlp}`);
    }
    assert.ok(runs.some((r) => r.report.modelInput.step >= 0), "model inputs are compared");
    assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared");
    console.log(`Heun replay (${math}): prev_sample max ulp ${figures.join(", ")}`);
  });
}

Deno.test("Heun: the recorded sqrt of the references is IEEE (MKL_CBWR=AVX2)", async () => {
  let n = 0;
  for (const path of files) {
    const table = recordedMath(await loadSchedulerReference(path));
    if (!table) continue;
    n++;
    assert.ok(table.size > 0, path);
    assert.deepEqual(table.deviations(), [], path);
  }
  assert.ok(n >= 2);
});

Deno.test("Heun free run with the stand-in model follows diffusers exactly", async () => {
  const runs = await freeRunAll(
    files,
    (ref) => HeunDiscreteScheduler.fromConfig(ref.config, ref.path),
    (x, t) => standInEps(x, t),
  );
  assert.equal(runs.length, files.length);
  for (const { ref, report, drift } of runs) {
    assert.equal(report.modelOutputMaxUlp, 0, `${ref.path}: stand-in model outputs`);
    assert.equal(drift, 0, `${ref.path}: free-run drift ${report.perStepUlp.join(",")} ulp`);
  }
});

Deno.test("Heun's correction is applied at the second call of each step, and only there", async () => {
  const ref = await loadSchedulerReference(`${DIR}/sd_linspace_10.safetensors`);
  const s = HeunDiscreteScheduler.fromConfig(ref.config);
  s.setTimesteps(10);
  const sigmas = s.sigmas;
  const input = (i: number) => i === 0 ? ref.initialSample : ref.steps[i - 1].prevSample;
  for (let i = 0; i < ref.steps.length; i++) {
    // the scheduler's own view: Euler calls at even rows, corrections at odd ones
    assert.equal(s.stateInFirstOrder, i % 2 === 0, `call ${i}`);
    s.step(ref.steps[i].modelOutput, ref.timesteps[i], input(i));
    const x = input(i).data;
    const eps = ref.steps[i].modelOutput.data;
    const out = ref.steps[i].prevSample.data;
    for (let k = 0; k < x.length; k++) {
      // float64 arithmetic against diffusers' float32 results
      const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * (Math.abs(b) + 1);
      if (i % 2 === 0) {
        // an Euler step from sigmas[i] to sigmas[i + 1]: d = eps
        assert.ok(close(x[k] + eps[k] * (sigmas[i + 1] - sigmas[i]), out[k]), `Euler ${i}`);
      } else {
        // the correction restarts from the Euler call's input with the mean derivative
        const start = input(i - 1).data[k];
        const d0 = ref.steps[i - 1].modelOutput.data[k];
        const mean = (d0 + eps[k]) / 2;
        assert.ok(close(start + mean * (sigmas[i] - sigmas[i - 1]), out[k]), `Heun ${i}`);
        // a plain Euler step here (the correction skipped) would be far off
        assert.ok(!close(x[k] + eps[k] * (sigmas[i + 1] - sigmas[i]), out[k]), `not Euler ${i}`);
      }
    }
  }
  // the correction at the wrong call: a scheduler one call out of phase fails the replay
  const shifted = HeunDiscreteScheduler.fromConfig(ref.config);
  shifted.setTimesteps(10);
  shifted.setBeginIndex(1);
  const wrong = shifted.step(ref.steps[1].modelOutput, ref.timesteps[1], input(1)).prevSample;
  assert.ok(ulpBetween(wrong, ref.steps[1].prevSample) > 1000, "an Euler call at row 1");
  // EulerDiscrete on the same timesteps is not Heun
  const euler = EulerDiscreteScheduler.fromConfig(ref.config);
  euler.setTimesteps(10);
  const plain = euler.step(ref.steps[0].modelOutput, ref.timesteps[0], ref.initialSample);
  assert.equal(ulpBetween(plain.prevSample, ref.steps[0].prevSample), 0, "the Euler half agrees");
  const s2 = HeunDiscreteScheduler.fromConfig(ref.config);
  s2.setTimesteps(10);
  s2.step(ref.steps[0].modelOutput, ref.timesteps[0], ref.initialSample);
  const corrected = s2.step(ref.steps[1].modelOutput, ref.timesteps[1], input(1)).prevSample;
  assert.equal(ulpBetween(corrected, ref.steps[1].prevSample), 0);
  assert.ok(ulpBetween(corrected, plain.prevSample) > 1000, "the correction moves the sample");
});

Deno.test("Heun schedule: repeated timesteps and sigmas, __init__'s schedule, order 2", () => {
  const s = new HeunDiscreteScheduler();
  assert.equal(s.order, 2);
  // __init__ runs set_timesteps(num_train_timesteps): 1999 timesteps
  assert.equal(s.timesteps.length, 1999);
  assert.deepEqual(s.timesteps.slice(0, 5), [999, 998, 998, 997, 997]);
  assert.equal(s.numInferenceSteps, 1000);
  s.setTimesteps(1);
  assert.deepEqual(s.timesteps, [0]); // np.linspace(0, 999, 1) is [0.]
  assert.equal(s.sigmas.length, 2);
  s.setTimesteps(3);
  assert.deepEqual(s.timesteps, [999, 499.5, 499.5, 0, 0]);
  const sg = s.sigmas;
  assert.deepEqual([sg[1], sg[3], sg[5]], [sg[2], sg[4], 0]);
  assert.equal(s.indexForTimestep(499.5), 2); // the second of two, as diffusers
  const k = new HeunDiscreteScheduler({ useKarrasSigmas: true });
  k.setTimesteps(5);
  assert.equal(k.timesteps.length, 9);
  assert.ok(k.timesteps.some((t) => !Number.isInteger(t)), "Karras timesteps are fractional");
  // the defaults of diffusers' HeunDiscreteScheduler: linear betas from 0.00085 to 0.012
  assert.equal(s.betas[0], Math.fround(0.00085));
  assert.equal(s.betas[999], Math.fround(0.012));
});

Deno.test("Heun state: begin index, clip_sample, errors", () => {
  const x = new Tensor(new Float32Array([3, -3]), [1, 2]);
  const s = new HeunDiscreteScheduler({ predictionType: "sample", clipSample: true });
  s.setTimesteps(3);
  const r = s.step(x, s.timesteps[0], x);
  assert.deepEqual(Array.from(r.predOriginalSample!.data), [1, -1]);
  assert.equal(s.stateInFirstOrder, false);
  assert.throws(
    () => s.step(Tensor.zeros([3]), s.timesteps[1], Tensor.zeros([3])),
    /sample has 3 values, the first-order call's had 2/,
  );
  s.setTimesteps(3);
  assert.equal(s.stateInFirstOrder, true, "set_timesteps clears the Heun state");
  assert.equal(s.stepIndex, null);
  for (const t of s.timesteps) s.step(x, t, x);
  assert.throws(() => s.step(x, s.timesteps[4], x), /past the end of the schedule/);
  const b = new HeunDiscreteScheduler();
  b.setTimesteps(4);
  b.setBeginIndex(3);
  b.scaleModelInput(x, b.timesteps[0]); // the begin index wins over the timestep
  assert.equal(b.stepIndex, 3);
  assert.throws(() => b.indexForTimestep(12.25), /timestep 12.25 is not in the schedule/);
});

Deno.test("Heun config: fields checked by name, refused options named, unknown keys kept", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ prediction_type: "x0" }, /sched\.json: "prediction_type"/],
    [{ timestep_spacing: 3 }, /sched\.json: "timestep_spacing"/],
    [{ trained_betas: "x" }, /sched\.json: "trained_betas"/],
    [{ clip_sample: 1 }, /sched\.json: "clip_sample"/],
    [{ clip_sample_range: "1" }, /sched\.json: "clip_sample_range"/],
    [{ use_karras_sigmas: "yes" }, /sched\.json: "use_karras_sigmas"/],
    [{ use_exponential_sigmas: 0 }, /sched\.json: "use_exponential_sigmas"/],
    [{ use_beta_sigmas: true }, /sched\.json: "use_beta_sigmas": not supported/],
    [{ beta_schedule: "exp" }, /sched\.json: "beta_schedule"/],
    [
      { use_karras_sigmas: true, use_exponential_sigmas: true },
      /sched\.json: "use_karras_sigmas": only one of/,
    ],
  ];
  for (const [json, message] of refused) {
    assert.throws(
      () => HeunDiscreteScheduler.fromConfig(json, "sched.json"),
      (e) => e instanceof SchedulerConfigError && message.test(e.message),
      JSON.stringify(json),
    );
  }
  assert.throws(() => new HeunDiscreteScheduler({ useBetaSigmas: true }), SchedulerConfigError);
  assert.throws(() => new HeunDiscreteScheduler({ sChurn: 1 } as never), /not an option/);
  const trained = HeunDiscreteScheduler.fromConfig({
    num_train_timesteps: 4,
    trained_betas: [0.1, 0.2, 0.3, 0.4],
  });
  assert.deepEqual(Array.from(trained.betas), [0.1, 0.2, 0.3, 0.4].map(Math.fround));
  // Euler's options are not this class's: kept and reported, as diffusers' from_config does
  const s = HeunDiscreteScheduler.fromConfig(
    { _class_name: "EulerDiscreteScheduler", interpolation_type: "linear", steps_offset: 1 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 1);
  assert.equal(s.config.stepsOffset, 1);
  assert.equal(s.toDiffusersConfig()._class_name, "HeunDiscreteScheduler");
  assert.equal(s.toDiffusersConfig().beta_start, 0.00085);
});

Deno.test("Heun is a registered sampler of order 2: one model call per timestep, diffusers' sequence", async () => {
  const s = schedulerFromConfig("HeunDiscreteScheduler", SD, { steps_offset: 1 });
  assert.ok(s instanceof HeunDiscreteScheduler);
  const ref = await loadSchedulerReference(`${DIR}/sd_linspace_10.safetensors`);
  const sampler = makeSampler({ type: "HeunDiscreteScheduler" }, ref.config, { steps: 10 });
  sampler.setTimesteps(10);
  assert.equal(sampler.order, 2);
  assert.deepEqual(sampler.timesteps, ref.timesteps);
  const calls: Call[] = [];
  const denoise = recording(standIn, calls);
  let x = ref.initialSample;
  for (let i = 0; i < sampler.timesteps.length; i++) {
    x = (await sampler.step(denoise, x, i)).prevSample;
    assert.equal(ulpBetween(x, ref.steps[i].prevSample), 0, `call ${i}`);
  }
  assert.deepEqual(calls.map((c) => c.t), ref.timesteps, "19 model calls at diffusers' timesteps");
  // img2img: get_timesteps starts at t_start * order
  const img = makeSampler({ type: "HeunDiscreteScheduler" }, SD, { steps: 10 });
  const { timesteps, beginIndex } = img2imgTimesteps(img, 10, 0.5);
  assert.equal(beginIndex, 10);
  assert.equal(timesteps.length, 9);
});
