import assert from "node:assert/strict";
import { DEISMultistepScheduler } from "../../core/schedulers/deis.ts";
import { dpmAlphaSigma } from "../../core/schedulers/dpm_multistep.ts";
import { npLogF32 } from "../../core/numerics/numpy.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
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

const DIR = "fixtures/refs/schedulers/deis";
const files = await listReferenceFiles(DIR);

function make(ref: SchedulerReference, overrides: Record<string, unknown> = {}) {
  return fromReference(DEISMultistepScheduler, ref, overrides);
}

function load(name: string): Promise<SchedulerReference> {
  return loadSchedulerReference(`${DIR}/${name}.safetensors`);
}

Deno.test("DEISMultistep replays every diffusers reference bit for bit", async () => {
  assert.ok(files.length >= 6, `expected the DEIS references in ${DIR}, found ${files.length}`);
  const runs = await replayAll(files, "DEISMultistepScheduler", (ref) => make(ref));
  const figures: string[] = [];
  let addNoiseFiles = 0;
  for (const { ref, scheduler: s, report: r } of runs) {
    const path = ref.path;
    assert.equal(ref.noise, "none", path);
    assert.deepEqual(s.configWarnings, [], path);
    assert.deepEqual(s.timesteps, ref.timesteps, `${path}: timesteps`);
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
  assert.equal(addNoiseFiles, 1);
  console.log(`DEISMultistep replay, max ulp per file: ${figures.join(", ")}`);
});

Deno.test("DEISMultistep's coefficients take numpy's float32 log, which the references exercise", async () => {
  // diffusers' ind_fn calls np.log on 0-d float32 torch tensors: numpy's SIMD log (up to 3.83
  // ulp), not torch's. The references replay at 0 ulp only with npLogF32: count the rho values
  // (sigma_t / alpha_t) whose numpy log is not the correctly rounded one.
  let exercised = 0;
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const math = recordedMathOrIeee(ref);
    const off = Array.from(ref.file.tensor("sigmas").data).filter((sigma) => {
      const [alpha, sigmaT] = dpmAlphaSigma(sigma, math);
      const rho = Math.fround(sigmaT / alpha);
      return npLogF32(rho) !== Math.fround(Math.log(rho));
    }).length;
    if (off > 0) exercised++;
  }
  assert.ok(
    exercised >= 3,
    `only ${exercised} references have a rho where numpy's log is not IEEE`,
  );
});

Deno.test("DEISMultistep free run with the stand-in model follows diffusers exactly", async () => {
  const runs = await freeRunAll(files, (ref) => make(ref), (x, t) => standInEps(x, t));
  assertFreeRuns(runs, 0);
});

Deno.test("DEISMultistep solver order: a wrong order differs exactly where it should", async () => {
  // 10 steps of order 3 with lower_order_final: orders 1, 2, 3, ..., 3, 2 (n - 2), 1 (n - 1)
  const ref = await load("o3_linspace_10");
  const as2 = replayReference(ref, make(ref, { solver_order: 2 }));
  assert.deepEqual(as2.perStepPrevUlp.slice(0, 2), [0, 0], "steps 0, 1 are orders 1 and 2");
  assert.ok(as2.perStepPrevUlp[2] > 0, "step 2 is the first third-order step");
  assert.deepEqual(as2.perStepPrevUlp.slice(8), [0, 0], "the last two are orders 2 and 1");
  const as1 = replayReference(ref, make(ref, { solver_order: 1 }));
  assert.equal(as1.perStepPrevUlp[0], 0);
  assert.ok(as1.perStepPrevUlp[1] > 0, "step 1 is second order");
  // without lower_order_final (8 < 15 steps) the last two steps stay third order
  const noLower = await load("o3_sample_threshold_leading_no_lower_final_8");
  const lower = replayReference(noLower, make(noLower, { lower_order_final: true }));
  assert.deepEqual(lower.perStepPrevUlp.slice(0, 6), new Array(6).fill(0));
  assert.ok(lower.perStepPrevUlp[6] > 0 && lower.perStepPrevUlp[7] > 0);
  // 25 >= 15 steps: lower_order_final does not apply, the last step is second order
  const long = await load("o2_karras_leading_25");
  const long1 = replayReference(long, make(long, { lower_order_final: false }));
  assert.equal(long1.prevSample.maxUlp, 0);
});

Deno.test("DEISMultistep sigmas: the last one repeated with Karras / exponential, sigma_min else", async () => {
  const karras = await load("o2_karras_10");
  const s = make(karras);
  s.setTimesteps(10);
  assert.deepEqual(s.timesteps, [999, 916, 815, 687, 523, 327, 146, 41, 7, 0]);
  assert.equal(s.sigmas[10], s.sigmas[9], "Karras: the last sigma again (a zero-length step)");
  const last = karras.steps.length - 1;
  assert.equal(
    ulpBetween(karras.steps[last].prevSample, karras.steps[last - 1].prevSample),
    0,
    "the last (first-order, h = 0) step leaves the sample as it is",
  );
  const plain = make(karras, { use_karras_sigmas: false });
  plain.setTimesteps(10);
  assert.deepEqual(plain.timesteps, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
  // diffusers 0.42.1: the smallest training sigma after the last, Karras' smallest sigma too
  assert.deepEqual([plain.sigmas[10], s.sigmas[10]], [0.029167532920837402, 0.029167532920837402]);
  // exponential timesteps are truncated, not rounded
  const exp = await load("o3_vpred_exponential_trailing_10");
  const e = make(exp);
  e.setTimesteps(10);
  assert.deepEqual(e.timesteps, exp.timesteps);
  assert.deepEqual(e.timesteps.slice(0, 3), [998, 874, 723]); // 998.x, not rounded to 999
  assert.notDeepEqual(e.timesteps, make(exp, { use_exponential_sigmas: false }).timesteps);
  // a case's sampler spec: DEIS on a folder's (here the reference's) config
  const sampler = makeSampler(
    { type: "DEISMultistepScheduler", config: { use_karras_sigmas: true } },
    { ...karras.config, use_karras_sigmas: false },
    { steps: 10 },
  );
  assert.deepEqual(sampler.timesteps, karras.timesteps);
});

Deno.test("DEISMultistep thresholding and prediction types change what they should", async () => {
  const ref = await load("o3_sample_threshold_leading_no_lower_final_8");
  const off = replayReference(ref, make(ref, { thresholding: false }));
  assert.ok(off.prevSample.maxUlp > 0, "the reference's thresholds clamp");
  const vpred = await load("o3_vpred_exponential_trailing_10");
  const asEps = replayReference(vpred, make(vpred, { prediction_type: "epsilon" }));
  assert.ok(asEps.prevSample.maxUlp > 0);
});

Deno.test("DEISMultistep state: begin index, index fallback, errors", () => {
  const s = new DEISMultistepScheduler();
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
  assert.equal(s.order, 1);
});

Deno.test("DEISMultistep config: own keys checked, unsupported options named", () => {
  const unsupported: [Record<string, unknown>, string][] = [
    [{ prediction_type: "flow_prediction" }, "prediction_type"],
    [{ use_flow_sigmas: true }, "use_flow_sigmas"],
    [{ use_dynamic_shifting: true }, "use_dynamic_shifting"],
  ];
  for (const [json, key] of unsupported) {
    assert.throws(
      () => DEISMultistepScheduler.fromConfig(json, "sched.json"),
      (e) =>
        e instanceof SchedulerConfigError && e.message.includes(`"${key}"`) &&
        /not supported yet by diffparity's port/.test(e.message),
      key,
    );
  }
  // diffusers' NotImplementedError: DEIS implements no other algorithm
  assert.throws(
    () => DEISMultistepScheduler.fromConfig({ algorithm_type: "sde-dpmsolver++" }, "sched.json"),
    (e) =>
      e instanceof SchedulerConfigError && /"algorithm_type"/.test(e.message) &&
      /not implemented for DEISMultistepScheduler/.test(e.message),
  );
  assert.throws(
    () => new DEISMultistepScheduler({ algorithmType: "unipc" as "deis" }),
    (e) => e instanceof SchedulerConfigError && /"algorithmType"/.test(e.message),
  );
  assert.throws(
    () => DEISMultistepScheduler.fromConfig({ solver_type: "rk4" }, "sched.json"),
    /"solver_type"/,
  );
  assert.throws(
    () => DEISMultistepScheduler.fromConfig({ use_beta_sigmas: true }, "sched.json"),
    /"use_beta_sigmas": not supported/,
  );
  assert.throws(
    () => DEISMultistepScheduler.fromConfig({ solver_order: "2" }, "sched.json"),
    /sched\.json: "solver_order"/,
  );
  assert.throws(
    () =>
      DEISMultistepScheduler.fromConfig(
        { use_karras_sigmas: true, use_exponential_sigmas: true },
        "sched.json",
      ),
    /sched\.json: only one of/,
  );
  // diffusers' register_to_config aliases
  const aliased = DEISMultistepScheduler.fromConfig({
    algorithm_type: "dpmsolver",
    solver_type: "bh2",
  });
  assert.deepEqual([aliased.config.algorithmType, aliased.config.solverType], ["deis", "logrho"]);
  const s = DEISMultistepScheduler.fromConfig(
    { _class_name: "DEISMultistepScheduler", rescale_betas_zero_snr: false, foo: 1 },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 2);
  assert.equal(s.toDiffusersConfig().foo, 1);
});

Deno.test("DEISMultistep config: a DDPM config's variance_type is not a DEIS option, kept and unread as in diffusers", () => {
  // diffusers 0.42.1: DEISMultistepScheduler.__init__ has no variance_type; from_config
  // ({"variance_type": "fixed_small"} or "learned_range") keeps the value in its config unread,
  // and set_timesteps(10) gives [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
  for (const value of ["fixed_small", "learned_range"]) {
    const s = DEISMultistepScheduler.fromConfig({ variance_type: value }, "sched.json");
    assert.deepEqual(s.configWarnings, [
      'sched.json: "variance_type" is not an option of DEISMultistepScheduler; kept in extra, not used',
    ]);
    assert.equal(s.toDiffusersConfig().variance_type, value);
    s.setTimesteps(10);
    assert.deepEqual(s.timesteps, [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
  }
});
