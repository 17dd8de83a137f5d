import assert from "node:assert/strict";
import { KDPM2DiscreteScheduler, sigmaToTFloat32 } from "../../core/schedulers/kdpm2_discrete.ts";
import { HeunDiscreteScheduler } from "../../core/schedulers/heun_discrete.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { makeSampler, SAMPLERS } from "../../core/schedulers/samplers.ts";
import { SCHEDULER_CLASSES, schedulerFromConfig } from "../../core/schedulers/registry.ts";
import { img2imgTimesteps } from "../../core/pipelines/timesteps.ts";
import { type MathTable, mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import * as mod from "../../mod.ts";
import {
  addNoiseUlp,
  freeRunAll,
  listReferenceFiles,
  loadSchedulerReference,
  replayAll,
  replayQuantities,
  replayReference,
  type SchedulerReference,
  ulpBetween,
} from "./replay_util.ts";
import { type Call, recording, standIn, standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/kdpm2";
const files = await listReferenceFiles(DIR);
const SD = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };

/** The float32 exp / log results torch computed that are not correctly rounded (ref_math.py). */
function recordedMath(ref: SchedulerReference): MathTable | undefined {
  const f = ref.file;
  return mathTableFromTensors((n) => f.has(n) ? f.tensor(n).data : undefined, ref.path) ??
    undefined;
}

/** A reference's ops that were not IEEE on the reference machine (its metadata `math`). */
function nonIeee(ref: SchedulerReference): number {
  const ops = JSON.parse(ref.metadata.math ?? "{}") as Record<string, { non_ieee: number }>;
  return Object.values(ops).reduce((a, o) => a + o.non_ieee, 0);
}

Deno.test("KDPM2 replays every diffusers reference bit for bit (recorded exp / log)", async () => {
  assert.ok(files.length >= 4, `expected the references in ${DIR}, found ${files.length}`);
  const runs = await replayAll(
    files,
    "KDPM2DiscreteScheduler",
    (ref) => KDPM2DiscreteScheduler.fromConfig(ref.config, ref.path, recordedMath(ref)),
  );
  const figures: string[] = [];
  for (const { ref, scheduler: s, report } of runs) {
    const path = ref.path;
    assert.equal(ref.noise, "none", path);
    assert.deepEqual(s.configWarnings, [], path);
    const n = ref.setTimesteps.numInferenceSteps!;
    assert.equal(ref.steps.length, 2 * n - 1, `${path}: one model call per timestep`);
    assert.equal(s.sigmas.length, 2 * n + 2, path);
    assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
    const interpol = ref.file.tensor("sigmas_interpol").data;
    assert.ok(Number.isNaN(interpol[0]) && Number.isNaN(s.sigmasInterpol[0]), path);
    assert.equal(ulpBetween(s.sigmasInterpol, interpol), 0, `${path}: sigmas_interpol`);
    for (const [what, q] of replayQuantities(report)) {
      assert.equal(q.maxUlp, 0, `${path}: ${what} ${q.maxUlp} ulp at step ${q.step}`);
    }
    const fresh = KDPM2DiscreteScheduler.fromConfig(ref.config, path, recordedMath(ref));
    fresh.setTimesteps(n);
    assert.equal(fresh.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0], path);
    if (ref.file.has("add_noise.result")) {
      assert.equal(addNoiseUlp(ref, fresh), 0, `${path}: add_noise on a fresh scheduler`);
    }
    figures.push(`${path.split("/").at(-1)} ${report.prevSample.maxUlp}`);
  }
  assert.ok(runs.some((r) => r.report.modelInput.step >= 0), "model inputs are compared");
  assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared");
  console.log(`KDPM2 replay (recorded): prev_sample max ulp ${figures.join(", ")}`);
});

Deno.test("KDPM2 with IEEE math: exact where torch's exp / log were correctly rounded", async () => {
  let exact = 0;
  let skewed = 0;
  const figures: string[] = [];
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const s = KDPM2DiscreteScheduler.fromConfig(ref.config, path);
    s.setTimesteps(ref.setTimesteps.numInferenceSteps!);
    const ulp = ulpBetween(s.sigmasInterpol, ref.file.tensor("sigmas_interpol"));
    const name = path.split("/").at(-1);
    if (nonIeee(ref) > 0) {
      // MKL's float32 exp / log one ulp off for a few midpoints on the reference machine: those
      // midpoint sigmas (and their timesteps) differ by an ulp or more, so that the reference's
      // timesteps are not in an IEEE schedule; the recorded test above replays these files
      skewed++;
      assert.ok(ulp >= 1, `${path}: the recorded math matters`);
      assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
      if (s.timesteps.some((t, i) => t !== ref.timesteps[i])) {
        figures.push(`${name} sigmas_interpol ${ulp} ulp, timesteps differ`);
        continue;
      }
      // the same timesteps: the replay runs, and a midpoint sigma one ulp off shows
      const report = replayReference(ref, KDPM2DiscreteScheduler.fromConfig(ref.config, path));
      assert.ok(report.prevSample.maxUlp > 0, path);
      figures.push(
        `${name} sigmas_interpol ${ulp} ulp, prev_sample ${report.prevSample.maxUlp} ulp`,
      );
      continue;
    }
    exact++;
    assert.equal(ulp, 0, path);
    const [run] = await replayAll(
      [path],
      "KDPM2DiscreteScheduler",
      (r) => KDPM2DiscreteScheduler.fromConfig(r.config, r.path),
    );
    for (const [what, q] of replayQuantities(run.report)) {
      assert.equal(q.maxUlp, 0, `${path}: ${what} ${q.maxUlp} ulp at step ${q.step}`);
    }
    figures.push(`${name} prev_sample ${run.report.prevSample.maxUlp} ulp`);
  }
  assert.ok(exact >= 2 && skewed >= 1, `${exact} IEEE references, ${skewed} with MKL exp / log`);
  console.log(`KDPM2 with IEEE math: ${figures.join(", ")}`);
});

Deno.test("KDPM2 free run with the stand-in model follows diffusers exactly", async () => {
  const runs = await freeRunAll(
    files,
    (ref) => KDPM2DiscreteScheduler.fromConfig(ref.config, ref.path, recordedMath(ref)),
    (x, t) => standInEps(x, t),
  );
  assert.equal(runs.length, files.length);
  for (const { ref, report, drift } of runs) {
    assert.equal(report.modelOutputMaxUlp, 0, `${ref.path}: stand-in model outputs`);
    assert.equal(drift, 0, `${ref.path}: free-run drift ${report.perStepUlp.join(",")} ulp`);
  }
});

Deno.test("KDPM2's midpoint sigma and second-order call are what diffusers computes", async () => {
  const ref = await loadSchedulerReference(`${DIR}/sd_linspace_10.safetensors`);
  const s = KDPM2DiscreteScheduler.fromConfig(ref.config, ref.path, recordedMath(ref));
  s.setTimesteps(10);
  const [sigmas, mid] = [s.sigmas, s.sigmasInterpol];
  const input = (i: number) => i === 0 ? ref.initialSample : ref.steps[i - 1].prevSample;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * (Math.abs(b) + 1);
  for (let i = 0; i < ref.steps.length; i++) {
    assert.equal(s.stateInFirstOrder, i % 2 === 0, `call ${i}`);
    // the model saw the sample scaled by the midpoint sigma at the second-order calls
    const scaleSigma = i % 2 === 0 ? sigmas[i] : mid[i];
    const scaled = ref.steps[i].modelInput!.data[0] * Math.sqrt(scaleSigma ** 2 + 1);
    assert.ok(close(scaled, input(i).data[0]), `model input ${i}`);
    s.step(ref.steps[i].modelOutput, ref.timesteps[i], input(i));
    const x = input(i).data;
    const eps = ref.steps[i].modelOutput.data;
    const out = ref.steps[i].prevSample.data;
    for (let k = 0; k < x.length; k++) {
      if (i % 2 === 0) {
        // an Euler step from sigmas[i] to the midpoint sqrt(sigmas[i] * sigmas[i + 1])
        const m = Math.sqrt(sigmas[i] * sigmas[i + 1]);
        assert.ok(close(mid[i + 1], m) || sigmas[i + 1] === 0, `midpoint ${i}`);
        assert.ok(close(x[k] + eps[k] * (mid[i + 1] - sigmas[i]), out[k]), `Euler ${i}`);
        // to sigma_next instead of the midpoint: far off
        if (sigmas[i + 1] > 0) {
          assert.ok(!close(x[k] + eps[k] * (sigmas[i + 1] - sigmas[i]), out[k]), `not ${i}`);
        }
      } else {
        // from the Euler call's input, the whole step with the midpoint's derivative
        const start = input(i - 1).data[k];
        assert.ok(close(start + eps[k] * (sigmas[i] - sigmas[i - 1]), out[k]), `DPM-2 ${i}`);
        // from the midpoint sample instead: far off
        assert.ok(!close(x[k] + eps[k] * (sigmas[i] - sigmas[i - 1]), out[k]), `not from x ${i}`);
      }
    }
  }
  // a wrong midpoint (the arithmetic mean) moves the first step by many ulp
  const t = new KDPM2DiscreteScheduler({ betaSchedule: "scaled_linear" });
  t.setTimesteps(10);
  const x0 = ref.initialSample.data[0];
  const e0 = ref.steps[0].modelOutput.data[0];
  const arithmetic = Math.fround(x0 + e0 * ((sigmas[0] + sigmas[1]) / 2 - sigmas[0]));
  assert.ok(ulpBetween([arithmetic], [ref.steps[0].prevSample.data[0]]) > 1000);
  // Heun on the same schedule is not KDPM2
  const heun = HeunDiscreteScheduler.fromConfig(ref.config);
  heun.setTimesteps(10);
  const h = heun.step(ref.steps[0].modelOutput, heun.timesteps[0], ref.initialSample);
  assert.ok(ulpBetween(h.prevSample, ref.steps[0].prevSample) > 1000);
});

Deno.test("KDPM2 schedule: interleaved midpoint timesteps, exponential sigmas, __init__, order 2", () => {
  const s = new KDPM2DiscreteScheduler();
  assert.equal(s.order, 2);
  assert.equal(s.timesteps.length, 1999); // __init__ runs set_timesteps(num_train_timesteps)
  assert.equal(s.numInferenceSteps, 1000);
  s.setTimesteps(1);
  assert.deepEqual(s.timesteps, [0]);
  assert.equal(s.sigmas.length, 4);
  assert.deepEqual(Array.from(s.sigmas).slice(1), [0, 0, 0]);
  // diffusers 0.42.1, SD betas, 4 steps (printed by KDPM2DiscreteScheduler.set_timesteps)
  const sd = { betaStart: 0.00085, betaEnd: 0.012, betaSchedule: "scaled_linear" as const };
  const lin = new KDPM2DiscreteScheduler(sd);
  lin.setTimesteps(4);
  assert.deepEqual(lin.timesteps, [
    999,
    851.75927734375,
    666,
    505.71856689453125,
    333,
    28.21884536743164,
    0,
  ]);
  assert.deepEqual(Array.from(lin.sigmasInterpol).slice(1), [
    6.530700206756592,
    6.530700206756592,
    1.6495178937911987,
    1.6495178937911987,
    0.16490784287452698,
    0.16490784287452698,
    0,
    0,
    0,
  ]);
  const karras = new KDPM2DiscreteScheduler({ ...sd, useKarrasSigmas: true });
  karras.setTimesteps(4); // Karras timesteps rounded, the midpoints' not
  assert.deepEqual(karras.timesteps, [
    999,
    860.0864868164062,
    687,
    406.63824462890625,
    146,
    13.676666259765625,
    0,
  ]);
  // exponential: float64 timesteps, as diffusers keeps them. torch's float32 log of 0.23166615
  // was one ulp off (toward 0, MKL) on the reference machine, which moves that midpoint sigma and
  // its timestep: IEEE gives 0.652895987... and 233.20970..., the recorded log diffusers' values
  const e = new KDPM2DiscreteScheduler({ ...sd, useExponentialSigmas: true });
  e.setTimesteps(4);
  assert.deepEqual([e.timesteps[0], e.timesteps[2], e.timesteps[4]], [
    998.9999997466181,
    538.0669138985081,
    52.38245920544143,
  ]);
  assert.deepEqual([e.timesteps[1], e.timesteps[5]], [803.1696166992188, 6.784234523773193]);
  assert.deepEqual([e.sigmasInterpol[1], e.sigmasInterpol[5]], [
    5.185694217681885,
    0.0822017639875412,
  ]);
  const mkl = mathTableFromTensors((n) =>
    ({
      "math.log.in": new Float32Array([0.23166614770889282]),
      "math.log.out": new Float32Array([-1.4624578952789307]),
    })[n], "printed")!;
  const recorded = new KDPM2DiscreteScheduler({ ...sd, useExponentialSigmas: true }, { math: mkl });
  recorded.setTimesteps(4);
  assert.deepEqual([e.timesteps[3], e.sigmasInterpol[3]], [233.20970153808594, 0.652895987033844]);
  assert.deepEqual([recorded.timesteps[3], recorded.sigmasInterpol[3]], [
    233.20974731445312,
    0.6528960466384888,
  ]);
  assert.deepEqual(Array.from(e.sigmas).slice(0, 4), [
    14.614646911621094,
    1.8400323390960693,
    1.8400323390960693,
    0.23166614770889282,
  ]);
  // sigmaToTFloat32: float32 torch arithmetic, NaN passes through
  assert.ok(Number.isNaN(sigmaToTFloat32(NaN, new Float32Array([0, 1]))));
});

Deno.test("KDPM2 state: begin index, errors", () => {
  const x = new Tensor(new Float32Array([3, -3]), [1, 2]);
  const s = new KDPM2DiscreteScheduler();
  s.setTimesteps(3);
  s.step(x, s.timesteps[0], x);
  assert.equal(s.stateInFirstOrder, false);
  assert.throws(
    () => s.step(Tensor.zeros([3]), s.timesteps[1], Tensor.zeros([3])),
    /sample has 3 values, the first-order call's had 2/,
  );
  s.setTimesteps(3);
  assert.equal(s.stateInFirstOrder, true, "set_timesteps clears the state");
  assert.equal(s.stepIndex, null);
  for (const t of s.timesteps) s.step(x, t, x);
  assert.throws(() => s.step(x, s.timesteps[4], x), /past the end of the schedule/);
  const b = new KDPM2DiscreteScheduler();
  b.setTimesteps(4);
  b.setBeginIndex(3);
  b.scaleModelInput(x, b.timesteps[0]); // the begin index wins over the timestep
  assert.equal(b.stepIndex, 3);
  assert.throws(() => b.indexForTimestep(12.25), /timestep 12.25 is not in the schedule/);
});

Deno.test("KDPM2 config: fields checked by name, refused options named, unknown keys kept", () => {
  const refused: [Record<string, unknown>, RegExp][] = [
    [{ prediction_type: "x0" }, /sched\.json: "prediction_type"/],
    [{ prediction_type: "sample" }, /sched\.json: "prediction_type": "sample" is not implemented/],
    [{ timestep_spacing: 3 }, /sched\.json: "timestep_spacing"/],
    [{ timestep_spacing: "karras" }, /sched\.json: "timestep_spacing"/],
    [{ trained_betas: "x" }, /sched\.json: "trained_betas"/],
    [{ steps_offset: "1" }, /sched\.json: "steps_offset"/],
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
      () => KDPM2DiscreteScheduler.fromConfig(json, "sched.json"),
      (e) => e instanceof SchedulerConfigError && message.test(e.message),
      JSON.stringify(json),
    );
  }
  assert.throws(() => new KDPM2DiscreteScheduler({ useBetaSigmas: true }), SchedulerConfigError);
  assert.throws(() => new KDPM2DiscreteScheduler({ clipSample: true } as never), /not an option/);
  const trained = KDPM2DiscreteScheduler.fromConfig({
    num_train_timesteps: 4,
    trained_betas: [0.1, 0.2, 0.3, 0.4],
  });
  assert.deepEqual(Array.from(trained.betas), [0.1, 0.2, 0.3, 0.4].map(Math.fround));
  // Heun's options are not this class's: kept and reported, as diffusers' from_config does
  const s = KDPM2DiscreteScheduler.fromConfig(
    { _class_name: "HeunDiscreteScheduler", clip_sample: false, steps_offset: 1 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 1);
  assert.equal(s.config.stepsOffset, 1);
  assert.equal(s.toDiffusersConfig()._class_name, "KDPM2DiscreteScheduler");
  assert.equal(s.toDiffusersConfig().beta_end, 0.012);
});

Deno.test("KDPM2 is registered and a sampler of order 2: one model call per timestep", async () => {
  assert.equal(SCHEDULER_CLASSES.KDPM2DiscreteScheduler, KDPM2DiscreteScheduler);
  assert.equal(mod.KDPM2DiscreteScheduler, KDPM2DiscreteScheduler);
  assert.ok("KDPM2DiscreteScheduler" in SAMPLERS);
  const s = schedulerFromConfig("KDPM2DiscreteScheduler", SD, { steps_offset: 1 });
  assert.ok(s instanceof KDPM2DiscreteScheduler);
  const ref = await loadSchedulerReference(`${DIR}/sd_vpred_karras_trailing_10.safetensors`);
  const sampler = makeSampler({ type: "KDPM2DiscreteScheduler" }, ref.config, { steps: 10 });
  sampler.setTimesteps(10);
  assert.equal(sampler.order, 2);
  assert.deepEqual(sampler.timesteps, ref.timesteps);
  const calls: Call[] = [];
  const denoise = recording((x, t) => standIn(x, t), calls);
  let x = ref.initialSample;
  for (let i = 0; i < sampler.timesteps.length; i++) {
    x = (await sampler.step(denoise, x, i)).prevSample;
    assert.equal(ulpBetween(x, ref.steps[i].prevSample), 0, `call ${i}`);
  }
  assert.deepEqual(calls.map((c) => c.t), ref.timesteps, "19 model calls at diffusers' timesteps");
  const img = makeSampler({ type: "KDPM2DiscreteScheduler" }, SD, { steps: 10 });
  const { timesteps, beginIndex } = img2imgTimesteps(img, 10, 0.5);
  assert.equal(beginIndex, 10);
  assert.equal(timesteps.length, 9);
});
