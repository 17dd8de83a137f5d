import assert from "node:assert/strict";
import { DPMSolverMultistepScheduler } from "../../core/schedulers/dpm_multistep.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import {
  addNoiseUlp,
  assertFreeRuns,
  freeRunAll,
  fromReference,
  listReferenceFiles,
  loadSchedulerReference,
  referenceName,
  replayAll,
  replayReference,
  type SchedulerReference,
  ulpBetween,
} from "./replay_util.ts";
import { standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/dpm_multistep";
const files = await listReferenceFiles(DIR);

function make(ref: SchedulerReference, overrides: Record<string, unknown> = {}) {
  return fromReference(DPMSolverMultistepScheduler, ref, overrides);
}

Deno.test("DPMSolverMultistep replays every diffusers reference bit for bit", async () => {
  assert.ok(files.length >= 20, `expected the DPM references in ${DIR}, found ${files.length}`);
  const runs = await replayAll(files, "DPMSolverMultistepScheduler", (ref) => make(ref));
  const figures: string[] = [];
  let addNoiseFiles = 0;
  for (const { ref, scheduler: s, report: r } of runs) {
    const path = ref.path;
    assert.deepEqual(s.configWarnings, [], path);
    assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
    assert.equal(s.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0], path);
    assert.equal(
      r.prevSample.maxUlp,
      0,
      `${path}: prev_sample ${r.prevSample.maxUlp} ulp at step ${r.prevSample.step}`,
    );
    if (ref.file.has("add_noise.result")) {
      const fresh = make(ref);
      fresh.setTimesteps(ref.steps.length);
      assert.equal(addNoiseUlp(ref, fresh), 0, `${path}: add_noise on a fresh scheduler`);
      addNoiseFiles++;
    }
    figures.push(`${referenceName(path)} ${r.prevSample.maxUlp}`);
  }
  assert.ok(addNoiseFiles >= 4);
  assert.ok(runs.some((r) => r.ref.noise === "generator"), "SDE noise from the generator");
  console.log(`DPMSolverMultistep replay, max ulp per file: ${figures.join(", ")}`);
});

Deno.test("DPMSolverMultistep free run with the stand-in model follows diffusers exactly", async () => {
  const runs = await freeRunAll(files, (ref) => make(ref), (x, t) => standInEps(x, t));
  assertFreeRuns(runs, 0);
});

Deno.test("DPMSolverMultistep with IEEE math instead of the recorded MKL results is off", async () => {
  // torch's float32 log/exp (MKL VML) are not correctly rounded: the recorded pairs matter. An
  // IEEE run is off on most files (measured: up to 7 ulp, pp2m_sd_leading_50); at least one must
  // differ, or the recording tests nothing, and none by more than 8 ulp, so that a wrong
  // exp/log (even 1e-5 relative) fails here and not only with the recorded values swapped in.
  let differing = 0;
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const r = replayReference(ref, DPMSolverMultistepScheduler.fromConfig(ref.config, path));
    if (r.prevSample.maxUlp > 0) differing++;
    assert.ok(r.prevSample.maxUlp <= 8, `${path}: IEEE math ${r.prevSample.maxUlp} ulp off`);
  }
  assert.ok(differing >= 10, `only ${differing} references depend on the recorded math`);
});

Deno.test("DPMSolverMultistep solver order: a wrong order differs exactly where it should", async () => {
  // 12 steps of order 3 with lower_order_final: orders 1, 2, 3, ..., 3, 2 (n - 2), 1 (n - 1)
  const ref = await loadSchedulerReference(`${DIR}/pp3_karras_12.safetensors`);
  const as2 = replayReference(ref, make(ref, { solver_order: 2 }));
  assert.deepEqual(as2.perStepPrevUlp.slice(0, 2), [0, 0], "steps 0, 1 are orders 1 and 2");
  assert.ok(as2.perStepPrevUlp[2] > 0, "step 2 is the first third-order step");
  assert.deepEqual(as2.perStepPrevUlp.slice(10), [0, 0], "the last two are orders 2 and 1");
  const as1 = replayReference(ref, make(ref, { solver_order: 1 }));
  assert.equal(as1.perStepPrevUlp[0], 0);
  assert.ok(as1.perStepPrevUlp[1] > 0, "step 1 is second order");
  // without lower_order_final (12 < 15 steps) the second-to-last step stays third order
  const noLower = await loadSchedulerReference(
    `${DIR}/pp3_no_lower_final_sigma_min_12.safetensors`,
  );
  const lower = replayReference(noLower, make(noLower, { lower_order_final: true }));
  assert.deepEqual(lower.perStepPrevUlp.slice(0, 10), new Array(10).fill(0));
  assert.ok(lower.perStepPrevUlp[10] > 0 && lower.perStepPrevUlp[11] > 0);
  // euler_at_final: only the last step changes
  const euler = await loadSchedulerReference(`${DIR}/pp2m_euler_at_final_8.safetensors`);
  const noEuler = replayReference(euler, make(euler, { euler_at_final: false }));
  assert.deepEqual(noEuler.perStepPrevUlp.slice(0, 7), new Array(7).fill(0));
  assert.ok(noEuler.perStepPrevUlp[7] > 0);
});

Deno.test("DPMSolverMultistep thresholding and lambda_min_clipped change what they should", async () => {
  for (const name of ["pp2m_threshold_sample_10", "dpm2_heun_vpred_threshold_8"]) {
    const ref = await loadSchedulerReference(`${DIR}/${name}.safetensors`);
    const off = replayReference(ref, make(ref, { thresholding: false }));
    assert.ok(off.prevSample.maxUlp > 0, `${name}: the references' thresholds clamp`);
  }
  // lambda(t) < -5.1 at the last 4 training timesteps: linspace over 0..995, not 0..999
  const clip = await loadSchedulerReference(`${DIR}/pp3_cosine_clip_10.safetensors`);
  assert.equal(clip.timesteps[0], 995);
  const unclipped = make(clip, { lambda_min_clipped: -1e9 });
  unclipped.setTimesteps(10);
  assert.equal(unclipped.timesteps[0], 999);
});

Deno.test("DPMSolverMultistep Karras sigmas: DPM++ 2M Karras's timesteps and sigmas", async () => {
  const ref = await loadSchedulerReference(`${DIR}/pp2m_karras_25.safetensors`);
  const s = make(ref);
  s.setTimesteps(25);
  // diffusers 0.42.1's DPM++ 2M Karras on Stable Diffusion's betas, 25 steps
  assert.deepEqual(s.timesteps.slice(0, 5), [999, 970, 938, 905, 868]);
  assert.deepEqual(s.timesteps.slice(-5), [18, 9, 4, 1, 0]);
  assert.deepEqual(Array.from(s.sigmas.slice(0, 2)), [14.614646911621094, 12.283041954040527]);
  assert.equal(s.sigmas[25], 0);
  const plain = make(ref, { use_karras_sigmas: false });
  plain.setTimesteps(25);
  assert.notDeepEqual(plain.timesteps, ref.timesteps);
  assert.ok(ulpBetween(plain.sigmas, ref.file.tensor("sigmas")) > 0);
  // a case's sampler spec: DPM++ 2M Karras on a folder's (here the reference's) config
  const sampler = makeSampler(
    { type: "DPMSolverMultistepScheduler", config: { use_karras_sigmas: true } },
    { ...ref.config, use_karras_sigmas: false },
    { steps: 25 },
  );
  assert.deepEqual(sampler.timesteps, ref.timesteps);
  assert.deepEqual([sampler.initNoiseSigma, sampler.configWarnings], [1, []]);
  // squaredcos_cap_v2 Karras timesteps are truncated, not rounded
  const cos = await loadSchedulerReference(`${DIR}/pp2m_cosine_karras_3.safetensors`);
  assert.deepEqual(cos.timesteps, [998, 997, 0]);
});

Deno.test("DPMSolverMultistep SDE types draw noise from the generator after the initial sample", async () => {
  const ref = await loadSchedulerReference(`${DIR}/sdepp2m_karras_10.safetensors`);
  assert.equal(ref.noise, "generator");
  const g = new TorchGenerator(ref.seed!);
  const s = make(ref);
  s.setTimesteps(ref.steps.length);
  let x = g.randn(ref.initialSample.shape);
  for (let i = 0; i < ref.steps.length; i++) {
    x = s.step(ref.steps[i].modelOutput, s.timesteps[i], x, { generator: g }).prevSample;
    assert.ok(ref.steps[i].varianceNoise, `step ${i} drew noise`);
  }
  assert.equal(ulpBetween(x, ref.steps.at(-1)!.prevSample), 0);
  // the stored noise gives the same steps
  const stored = replayReference(ref, make(ref), { noiseSource: "stored" });
  assert.equal(stored.prevSample.maxUlp, 0);
  const noisy = new DPMSolverMultistepScheduler({ algorithmType: "sde-dpmsolver++" });
  noisy.setTimesteps(4);
  const xs = Tensor.zeros([1, 2]);
  assert.throws(() => noisy.step(xs, noisy.timesteps[0], xs), /sde-dpmsolver\+\+ draws noise/);
  const third = new DPMSolverMultistepScheduler({
    algorithmType: "sde-dpmsolver",
    solverOrder: 3,
    finalSigmasType: "sigma_min",
  });
  third.setTimesteps(20);
  const gen = new TorchGenerator(0);
  third.step(xs, third.timesteps[0], xs, { generator: gen });
  third.step(xs, third.timesteps[1], xs, { generator: gen });
  assert.throws(
    () => third.step(xs, third.timesteps[2], xs, { generator: gen }),
    /no third-order sde-dpmsolver/,
  );
});

Deno.test("DPMSolverMultistep state: begin index, index fallback, errors", () => {
  const s = new DPMSolverMultistepScheduler();
  const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
  assert.throws(() => s.step(x, 999, x), /call setTimesteps first/);
  s.setTimesteps(10);
  assert.equal(s.stepIndex, null);
  assert.equal(s.indexForTimestep(s.timesteps[3]), 3);
  assert.equal(s.indexForTimestep(12.5), 9); // diffusers: the last step when not found
  s.setBeginIndex(4);
  s.step(x, s.timesteps[0], x); // the begin index wins over the timestep
  assert.equal(s.stepIndex, 5);
  s.setTimesteps(2);
  assert.deepEqual([s.stepIndex, s.beginIndex, s.lowerOrderNums], [null, null, 0]);
  s.step(x, s.timesteps[0], x);
  s.step(x, s.timesteps[1], x);
  assert.throws(() => s.step(x, s.timesteps[1], x), /past the end of the schedule/);
  assert.throws(() => s.step(Tensor.zeros([2]), s.timesteps[0], x), /shape/);
  assert.throws(() => s.setTimesteps(0), /positive integer/);
});

Deno.test("DPMSolverMultistep config: a DDPM config's variance_type 'fixed_small' is kept and unread, as in diffusers", () => {
  // diffusers 0.42.1: DPMSolverMultistepScheduler.from_config({"variance_type": "fixed_small"})
  // keeps the value, and set_timesteps(10) gives [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
  const s = DPMSolverMultistepScheduler.fromConfig({ variance_type: "fixed_small" }, "sched.json");
  assert.equal(s.config.varianceType, "fixed_small");
  s.setTimesteps(10);
  assert.deepEqual(s.timesteps, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
});

Deno.test("DPMSolverMultistep config: own keys checked, unsupported options named", () => {
  const unsupported: [Record<string, unknown>, string][] = [
    [{ prediction_type: "flow_prediction" }, "prediction_type"],
    [{ use_flow_sigmas: true }, "use_flow_sigmas"],
    [{ use_dynamic_shifting: true }, "use_dynamic_shifting"],
    [{ variance_type: "learned_range" }, "variance_type"],
    [{ variance_type: "learned" }, "variance_type"],
  ];
  for (const [json, key] of unsupported) {
    assert.throws(
      () => DPMSolverMultistepScheduler.fromConfig(json, "sched.json"),
      (e) =>
        e instanceof SchedulerConfigError && e.message.includes(`"${key}"`) &&
        /not supported yet by diffparity's port/.test(e.message),
      key,
    );
  }
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ use_beta_sigmas: true }, "sched.json"),
    /"use_beta_sigmas": not supported/,
  );
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ algorithm_type: "dpmsolver" }, "sched.json"),
    (e) => e instanceof SchedulerConfigError && /"final_sigmas_type"/.test(e.message),
  );
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ solver_order: "2" }, "sched.json"),
    /sched\.json: "solver_order"/,
  );
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ algorithm_type: "unipc" }, "sched.json"),
    /"algorithm_type"/,
  );
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ solver_type: "rk4" }, "sched.json"),
    /"solver_type"/,
  );
  assert.throws(
    () =>
      DPMSolverMultistepScheduler.fromConfig(
        { use_karras_sigmas: true, use_exponential_sigmas: true },
        "sched.json",
      ),
    /sched\.json: only one of/,
  );
  // diffusers' register_to_config aliases
  const aliased = DPMSolverMultistepScheduler.fromConfig({
    algorithm_type: "deis",
    solver_type: "bh2",
  });
  assert.deepEqual([aliased.config.algorithmType, aliased.config.solverType], [
    "dpmsolver++",
    "midpoint",
  ]);
  const s = DPMSolverMultistepScheduler.fromConfig(
    { _class_name: "DPMSolverMultistepScheduler", skip_prk_steps: true, foo: 1 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 2);
  assert.equal(s.toDiffusersConfig().foo, 1);
  assert.equal(s.config.lambdaMinClipped, -Infinity);
  assert.equal(
    DPMSolverMultistepScheduler.fromConfig({ lambda_min_clipped: -Infinity }).config
      .lambdaMinClipped,
    -Infinity,
  );
  assert.throws(
    () => DPMSolverMultistepScheduler.fromConfig({ lambda_min_clipped: NaN }, "sched.json"),
    /"lambda_min_clipped": expected a number/,
  );
  assert.equal(s.order, 1);
});
