import assert from "node:assert/strict";
import {
  dpmSinglestepOrderList,
  DPMSolverSinglestepScheduler,
} from "../../core/schedulers/dpm_singlestep.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { ieeeMath } from "../../core/numerics/f32_math.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import {
  addNoiseUlp,
  assertFreeRuns,
  freeRunAll,
  fromReference,
  listReferenceFiles,
  loadSchedulerReference,
  recordedMathOrIeee,
  referenceName,
  replayAll,
  replayReference,
  type SchedulerReference,
  ulpBetween,
} from "./replay_util.ts";
import { standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/dpm_singlestep";
const files = await listReferenceFiles(DIR);

function make(ref: SchedulerReference, overrides: Record<string, unknown> = {}) {
  return fromReference(DPMSolverSinglestepScheduler, ref, overrides);
}

async function load(name: string): Promise<SchedulerReference> {
  return await loadSchedulerReference(`${DIR}/${name}.safetensors`);
}

Deno.test("DPMSolverSinglestep replays every diffusers reference bit for bit", async () => {
  assert.ok(files.length >= 7, `expected the references in ${DIR}, found ${files.length}`);
  const runs = await replayAll(files, "DPMSolverSinglestepScheduler", (ref) => make(ref));
  const figures: string[] = [];
  let addNoiseFiles = 0;
  for (const { ref, scheduler: s, report: r } of runs) {
    const path = ref.path;
    assert.deepEqual(s.configWarnings, [], path);
    assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
    assert.equal(s.initNoiseSigma, 1, path);
    assert.deepEqual(s.orderList, JSON.parse(ref.metadata.order_list), `${path}: order_list`);
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
  assert.equal(addNoiseFiles, 1);
  assert.ok(runs.some((r) => r.ref.noise === "generator"), "SDE noise from the generator");
  // diffusers' whole config (steps_1) reads without a warning: every key is an option here
  const full = runs.find((r) => r.ref.config.use_flow_sigmas !== undefined);
  assert.ok(full, "one reference holds diffusers' whole config");
  console.log(`DPMSolverSinglestep replay, max ulp per file: ${figures.join(", ")}`);
});

Deno.test("DPMSolverSinglestep free run with the stand-in model follows diffusers exactly", async () => {
  const runs = await freeRunAll(files, (ref) => make(ref), (x, t) => standInEps(x, t));
  assertFreeRuns(runs, 0);
});

Deno.test("DPMSolverSinglestep with IEEE math instead of the recorded MKL results is off", async () => {
  // torch's float32 log (MKL VML) is not correctly rounded: the recorded pairs matter. Measured:
  // an IEEE replay is off on two files (1 ulp dpm2_heun_cosine_clip_7, 4 ulp
  // sdepp3_heun_exponential_8); none may be off by more than 8 ulp, so that a wrong exp/log
  // fails here and not only with the recorded values swapped in.
  let differing = 0;
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const r = replayReference(ref, DPMSolverSinglestepScheduler.fromConfig(ref.config, path));
    if (r.prevSample.maxUlp > 0) differing++;
    assert.ok(r.prevSample.maxUlp <= 8, `${path}: IEEE math ${r.prevSample.maxUlp} ulp off`);
  }
  assert.ok(differing >= 2, `only ${differing} references depend on the recorded math`);
});

Deno.test("DPMSolverSinglestep order list: diffusers' get_order_list", () => {
  // lower_order_final
  assert.deepEqual(dpmSinglestepOrderList(10, 3, true, "zero"), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]);
  assert.deepEqual(dpmSinglestepOrderList(8, 3, true, "zero"), [1, 2, 3, 1, 2, 3, 1, 1]);
  assert.deepEqual(dpmSinglestepOrderList(6, 3, true, "sigma_min"), [1, 2, 3, 1, 2, 1]);
  assert.deepEqual(dpmSinglestepOrderList(3, 3, true, "sigma_min"), [1, 2, 1]);
  assert.deepEqual(dpmSinglestepOrderList(2, 3, true, "sigma_min"), [1, 2]);
  assert.deepEqual(dpmSinglestepOrderList(6, 2, true, "sigma_min"), [1, 2, 1, 2, 1, 1]);
  assert.deepEqual(dpmSinglestepOrderList(7, 2, true, "sigma_min"), [1, 2, 1, 2, 1, 2, 1]);
  assert.deepEqual(dpmSinglestepOrderList(3, 1, true, "zero"), [1, 1, 1]);
  // without: whole groups; a zero final sigma makes the last step first order
  assert.deepEqual(dpmSinglestepOrderList(6, 3, false, "sigma_min"), [1, 2, 3, 1, 2, 3]);
  assert.deepEqual(dpmSinglestepOrderList(4, 2, false, "zero"), [1, 2, 1, 1]);
  assert.throws(() => dpmSinglestepOrderList(4, 4, true, "zero"), /order 4 is not supported/);
});

Deno.test("DPMSolverSinglestep set_timesteps switches lower_order_final on for good", () => {
  const s = new DPMSolverSinglestepScheduler({ finalSigmasType: "sigma_min" });
  assert.equal(s.lowerOrderFinal, false);
  s.setTimesteps(10); // a multiple of the order, sigma_min: stays off
  assert.deepEqual([s.lowerOrderFinal, s.orderList], [false, [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]]);
  s.setTimesteps(9); // not a multiple: diffusers' register_to_config(lower_order_final=True)
  assert.deepEqual(s.orderList, [1, 2, 1, 2, 1, 2, 1, 2, 1]);
  s.setTimesteps(10); // and it stays on
  assert.deepEqual([s.lowerOrderFinal, s.orderList], [true, [1, 2, 1, 2, 1, 2, 1, 2, 1, 1]]);
  assert.equal(s.config.lowerOrderFinal, false); // the given option is kept
  // the default final sigma (zero) switches it on at once
  const z = new DPMSolverSinglestepScheduler({ solverOrder: 3 });
  z.setTimesteps(9);
  assert.deepEqual([z.lowerOrderFinal, z.orderList], [true, [1, 2, 3, 1, 2, 3, 1, 2, 1]]);
});

Deno.test("DPMSolverSinglestep orders: a wrong order differs exactly where it should", async () => {
  // pp3_sd_10: orders 1, 2, 3, 1, 2, 3, 1, 2, 3, 1; as order 2 the lists agree on 1, 2, _, ...
  const ref = await load("pp3_sd_10");
  const as2 = replayReference(ref, make(ref, { solver_order: 2 }));
  assert.deepEqual(as2.perStepPrevUlp.slice(0, 2), [0, 0], "steps 0, 1 are orders 1 and 2");
  assert.ok(as2.perStepPrevUlp[2] > 0, "step 2 is third order");
  const as1 = replayReference(ref, make(ref, { solver_order: 1 }));
  assert.equal(as1.perStepPrevUlp[0], 0);
  assert.ok(as1.perStepPrevUlp[1] > 0, "step 1 is second order");
  assert.equal(as1.perStepPrevUlp[3], 0, "step 3 starts a group: first order from its sample");
  // dpm3_sigma_min_6: lower_order_final stays off, the last step is third order
  const full = await load("dpm3_sigma_min_6");
  assert.equal(full.metadata.order_list, "[1,2,3,1,2,3]");
  const lower = replayReference(full, make(full, { lower_order_final: true }));
  assert.deepEqual(lower.perStepPrevUlp.slice(0, 5), [0, 0, 0, 0, 0]);
  assert.ok(lower.perStepPrevUlp[5] > 0, "lower_order_final makes the last step 1st order");
});

Deno.test("DPMSolverSinglestep solver type, thresholding and lambda_min_clipped matter", async () => {
  for (const name of ["pp3_heun_sample_threshold_6", "sdepp3_heun_exponential_8"]) {
    const ref = await load(name);
    const mid = replayReference(ref, make(ref, { solver_type: "midpoint" }), {
      noiseSource: "stored",
    });
    assert.equal(mid.perStepPrevUlp[0], 0, `${name}: a first-order step has no solver type`);
    assert.ok(mid.perStepPrevUlp[1] > 0 && mid.perStepPrevUlp[2] > 0, `${name}: orders 2, 3`);
  }
  const thr = await load("pp3_heun_sample_threshold_6");
  const off = replayReference(thr, make(thr, { thresholding: false }));
  assert.ok(off.prevSample.maxUlp > 0, "the reference's threshold clamps");
  // lambda(t) < -5.1 at the last 4 training timesteps: linspace over 0..995, not 0..999
  const clip = await load("dpm2_heun_cosine_clip_7");
  assert.equal(clip.timesteps[0], 995);
  for (const math of [ieeeMath, recordedMathOrIeee(clip)]) {
    const s = DPMSolverSinglestepScheduler.fromConfig(clip.config, clip.path, math);
    s.setTimesteps(7);
    assert.deepEqual(s.timesteps, clip.timesteps);
  }
  const unclipped = make(clip, { lambda_min_clipped: -1e9 });
  unclipped.setTimesteps(7);
  assert.equal(unclipped.timesteps[0], 999);
});

Deno.test("DPMSolverSinglestep Karras and exponential timesteps", async () => {
  const karras = await load("sdepp2_karras_vpred_7");
  const s = make(karras);
  s.setTimesteps(7);
  assert.deepEqual(s.timesteps, karras.timesteps);
  const plain = make(karras, { use_karras_sigmas: false });
  plain.setTimesteps(7);
  assert.notDeepEqual(plain.timesteps, karras.timesteps);
  assert.deepEqual(plain.timesteps, [999, 856, 714, 571, 428, 285, 143]);
  // Karras timesteps are rounded (998.99999975 -> 999, 145.94 -> 146), exponential ones
  // truncated by the int64 cast (998.99999975 -> 998, 4.83 -> 4)
  assert.deepEqual(karras.timesteps, [999, 868, 687, 427, 146, 18, 0]);
  const exp = await load("sdepp3_heun_exponential_8");
  assert.deepEqual(exp.timesteps, [998, 834, 621, 359, 133, 30, 4, 0]);
  const e = make(exp);
  e.setTimesteps(8);
  assert.deepEqual(e.timesteps, exp.timesteps);
});

Deno.test("DPMSolverSinglestep sde-dpmsolver++ draws noise at every step after the initial sample", async () => {
  const ref = await load("sdepp3_heun_exponential_8");
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
  const stored = replayReference(ref, make(ref), { noiseSource: "stored" });
  assert.equal(stored.prevSample.maxUlp, 0);
  const noisy = new DPMSolverSinglestepScheduler({ algorithmType: "sde-dpmsolver++" });
  noisy.setTimesteps(4);
  const xs = Tensor.zeros([1, 2]);
  assert.throws(() => noisy.step(xs, noisy.timesteps[0], xs), /sde-dpmsolver\+\+ draws noise/);
});

Deno.test("DPMSolverSinglestep state: begin index lowers the first orders, errors", () => {
  const s = new DPMSolverSinglestepScheduler({ solverOrder: 3 });
  const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
  assert.throws(() => s.step(x, 999, x), /call setTimesteps first/);
  s.setTimesteps(10);
  assert.equal(s.indexForTimestep(12.5), 9); // diffusers: the last step when not found
  // img2img from step 2 (order 3 in the list): no history, so first order, then second order
  const a = new DPMSolverSinglestepScheduler({ solverOrder: 3 });
  a.setTimesteps(10);
  a.setBeginIndex(2);
  const eps = new Tensor(new Float32Array([0.1, -0.2]), [1, 2]);
  const a1 = a.step(eps, a.timesteps[2], x).prevSample;
  assert.equal(a.stepIndex, 3);
  const b = new DPMSolverSinglestepScheduler({ solverOrder: 1 });
  b.setTimesteps(10);
  b.setBeginIndex(2);
  assert.deepEqual(b.step(eps, b.timesteps[2], x).prevSample.data, a1.data);
  s.setTimesteps(2);
  assert.deepEqual([s.stepIndex, s.beginIndex], [null, null]);
  s.step(x, s.timesteps[0], x);
  s.step(x, s.timesteps[1], x);
  assert.throws(() => s.step(x, s.timesteps[1], x), /past the end of the schedule/);
  assert.throws(() => s.step(Tensor.zeros([2]), s.timesteps[0], x), /shape/);
  assert.throws(() => s.setTimesteps(0), /positive integer/);
});

Deno.test("DPMSolverSinglestep config: a DDPM config's variance_type 'fixed_small' is kept and unread, as in diffusers", () => {
  // diffusers 0.42.1: DPMSolverSinglestepScheduler.from_config({"variance_type": "fixed_small"})
  // keeps it, and set_timesteps(6) gives [999, 832, 666, 500, 333, 166]
  const s = DPMSolverSinglestepScheduler.fromConfig({ variance_type: "fixed_small" }, "sched.json");
  assert.equal(s.config.varianceType, "fixed_small");
  s.setTimesteps(6);
  assert.deepEqual(s.timesteps, [999, 832, 666, 500, 333, 166]);
});

Deno.test("DPMSolverSinglestep config: own keys checked, unsupported options named", () => {
  const unsupported: [Record<string, unknown>, string][] = [
    [{ prediction_type: "flow_prediction" }, "prediction_type"],
    [{ use_flow_sigmas: true }, "use_flow_sigmas"],
    [{ use_dynamic_shifting: true }, "use_dynamic_shifting"],
    [{ variance_type: "learned_range" }, "variance_type"],
    [{ variance_type: "learned" }, "variance_type"],
  ];
  for (const [json, key] of unsupported) {
    assert.throws(
      () => DPMSolverSinglestepScheduler.fromConfig(json, "sched.json"),
      (e) =>
        e instanceof SchedulerConfigError && e.message.includes(`"${key}"`) &&
        /not supported yet by diffparity's port/.test(e.message),
      key,
    );
  }
  const refused: [Record<string, unknown>, string][] = [
    [{ algorithm_type: "dpmsolver" }, "final_sigmas_type"],
    [
      { algorithm_type: "dpmsolver", final_sigmas_type: "sigma_min", thresholding: true },
      "thresholding",
    ],
    [{ solver_order: 4 }, "solver_order"],
    [{ solver_order: 0 }, "solver_order"],
    [{ algorithm_type: "sde-dpmsolver" }, "algorithm_type"],
    [{ solver_type: "rk4" }, "solver_type"],
  ];
  for (const [json, key] of refused) {
    assert.throws(
      () => DPMSolverSinglestepScheduler.fromConfig(json, "sched.json"),
      (e) => e instanceof SchedulerConfigError && e.message.includes(`"${key}"`),
      key,
    );
  }
  assert.throws(
    () => DPMSolverSinglestepScheduler.fromConfig({ use_beta_sigmas: true }, "sched.json"),
    /"use_beta_sigmas": not supported/,
  );
  assert.throws(
    () =>
      DPMSolverSinglestepScheduler.fromConfig(
        { use_karras_sigmas: true, use_exponential_sigmas: true },
        "sched.json",
      ),
    /sched\.json: only one of/,
  );
  // diffusers' register_to_config aliases
  const aliased = DPMSolverSinglestepScheduler.fromConfig({
    algorithm_type: "deis",
    solver_type: "logrho",
  });
  assert.deepEqual([aliased.config.algorithmType, aliased.config.solverType], [
    "dpmsolver++",
    "midpoint",
  ]);
  // no timestep_spacing / steps_offset in this class: kept and reported
  const s = DPMSolverSinglestepScheduler.fromConfig(
    { _class_name: "DPMSolverSinglestepScheduler", timestep_spacing: "leading", steps_offset: 1 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 2);
  assert.equal(s.toDiffusersConfig().steps_offset, 1);
  assert.equal(s.config.lambdaMinClipped, -Infinity);
  assert.equal(s.order, 1);
});
