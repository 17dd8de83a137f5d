import assert from "node:assert/strict";
import {
  LMSDiscreteScheduler,
  lmsIntegrand,
  type LMSStepOptions,
} from "../../core/schedulers/lms_discrete.ts";
import { quadQags } from "../../core/numerics/quadpack.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import {
  addNoiseUlp,
  assertFreeRuns,
  freeRunAll,
  listReferenceFiles,
  replayAll,
  replayQuantities,
  type SchedulerReference,
  ulpBetween,
} from "./replay_util.ts";
import { standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/lms_discrete";

function lmsOptions(ref: SchedulerReference): LMSStepOptions {
  return typeof ref.stepKwargs.order === "number" ? { order: ref.stepKwargs.order } : {};
}

Deno.test("LMSDiscrete replays every diffusers reference bit for bit, quad coefficients included", async () => {
  const files = await listReferenceFiles(DIR);
  assert.ok(files.length >= 15, `expected the LMS references in ${DIR}, found ${files.length}`);
  let worst = { ulp: 0, where: "" };
  let coefficients = 0;
  const ours = new Map<LMSDiscreteScheduler, number[]>();
  const make = (ref: SchedulerReference) => {
    const s = LMSDiscreteScheduler.fromConfig(ref.config, ref.path);
    const coeffs: number[] = [];
    ours.set(s, coeffs);
    const step = s.step.bind(s);
    s.step = (mo, t, x, o) => {
      const out = step(mo, t, x, o);
      coeffs.push(...s.lastCoefficients);
      return out;
    };
    return s;
  };
  const runs = await replayAll(files, "LMSDiscreteScheduler", make, (ref) => ({
    stepOptions: () => lmsOptions(ref),
  }));
  for (const { ref, scheduler: s, report: r } of runs) {
    const path = ref.path;
    assert.deepEqual(s.configWarnings, [], path);
    assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
    // the coefficients are the doubles scipy.integrate.quad returned, bit for bit
    const coeffs = ours.get(s)!;
    assert.deepEqual(
      coeffs,
      Array.from(ref.file.float64("lms_coeffs")),
      `${path}: lms coefficients`,
    );
    coefficients += coeffs.length;
    const fresh = LMSDiscreteScheduler.fromConfig(ref.config, path);
    fresh.setTimesteps(ref.steps.length);
    assert.equal(fresh.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0], path);
    for (const [what, q] of replayQuantities(r)) {
      if (q.maxUlp > worst.ulp) worst = { ulp: q.maxUlp, where: `${path} ${what} step ${q.step}` };
      assert.equal(q.maxUlp, 0, `${path}: ${what} ${q.maxUlp} ulp at step ${q.step}`);
    }
    assert.equal(addNoiseUlp(ref, fresh), 0, `${path}: add_noise`);
  }
  assert.ok(runs.some((r) => r.report.modelInput.step >= 0), "model inputs are compared");
  assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared");
  console.log(
    `LMSDiscrete replay: largest ulp distance ${worst.ulp}${
      worst.where ? ` ${worst.where}` : ""
    }; ` +
      `${coefficients} quad coefficients bit-identical`,
  );
});

Deno.test("LMSDiscrete free run with the stand-in model reproduces diffusers' trajectory", async () => {
  const runs = await freeRunAll(
    await listReferenceFiles(DIR),
    (ref) => LMSDiscreteScheduler.fromConfig(ref.config, ref.path),
    (x, t) => standInEps(x, t),
    (ref) => ({ stepOptions: () => lmsOptions(ref) }),
  );
  console.log(`LMSDiscrete free run: largest drift ${assertFreeRuns(runs, 0)} ulp`);
});

Deno.test("quadQags on the LMS integrand where float32 noise makes QAGS bisect once", async () => {
  const json = JSON.parse(await Deno.readTextFile(`${DIR}/quad_cases.json`));
  // the LMS integrand where float32 noise makes QAGS bisect once
  const lms = json.lms;
  const f = lmsIntegrand(Float32Array.from(lms.sigmas), lms.order, lms.t, lms.current_order);
  const r = quadQags(f, Math.fround(lms.sigmas[lms.t]), Math.fround(lms.sigmas[lms.t + 1]), lms);
  assert.equal(r.last, 2);
  assert.deepEqual([r.result, r.abserr, r.neval], [lms.result, lms.abserr, lms.neval]);
});

Deno.test("LMSDiscrete state and errors", () => {
  const s = new LMSDiscreteScheduler();
  assert.equal(s.timesteps.length, 1000); // diffusers' __init__ sets N steps
  s.setTimesteps(4);
  assert.deepEqual(s.timesteps, [999, 666, 333, 0]);
  const x = new Tensor(new Float32Array([1, -1]), [1, 2]);
  assert.throws(
    () => s.step(x, s.timesteps[0], x, { order: 0 }),
    /order must be a positive integer/,
  );
  assert.throws(() => s.step(x, 5, x), /timestep 5 is not in the schedule/);
  for (const t of s.timesteps) s.step(x, t, x);
  assert.equal(s.stepIndex, 4);
  assert.throws(() => s.step(x, 0, x), /past the end of the schedule/);
  s.setTimesteps(4);
  s.setBeginIndex(2);
  s.step(x, 999, x); // the begin index wins
  assert.equal(s.stepIndex, 3);
  assert.throws(() => lmsIntegrand(new Float32Array([1, 0]), 3, 0, 0), /needs sigmas/);
});

Deno.test("LMSDiscrete config: own keys checked, unknown keys kept as warnings", () => {
  assert.throws(
    () => LMSDiscreteScheduler.fromConfig({ use_exponential_sigmas: 1 }, "s.json"),
    (e) =>
      e instanceof SchedulerConfigError &&
      /s\.json: "use_exponential_sigmas": expected true or false/.test(e.message),
  );
  assert.throws(
    () => LMSDiscreteScheduler.fromConfig({ prediction_type: "flow" }, "s.json"),
    /"prediction_type"/,
  );
  assert.throws(
    () =>
      LMSDiscreteScheduler.fromConfig({ use_karras_sigmas: true, use_exponential_sigmas: true }),
    /only one of/,
  );
  assert.throws(() => LMSDiscreteScheduler.fromConfig({ use_beta_sigmas: true }), /not supported/);
  const s = LMSDiscreteScheduler.fromConfig({ interpolation_type: "linear", foo: [1] }, "s.json");
  assert.equal(s.configWarnings.length, 2); // interpolation_type is Euler's, foo is unknown
  assert.deepEqual(s.toDiffusersConfig().foo, [1]);
});
