import assert from "node:assert/strict";
import { lcmBoundaryScalings, LCMScheduler } from "../../core/schedulers/lcm.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { makeSampler, SAMPLERS } from "../../core/schedulers/samplers.ts";
import { schedulerFromConfig } from "../../core/schedulers/registry.ts";
import { type MathTable, mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import {
  addNoiseUlp,
  listReferenceFiles,
  loadSchedulerReference,
  maxUlpDistance,
  type SchedulerReference,
  stepRows,
  ulpBetween,
} from "./replay_util.ts";
import { standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/lcm";
const files = await listReferenceFiles(DIR);

function recordedMath(ref: SchedulerReference): MathTable | undefined {
  const f = ref.file;
  return mathTableFromTensors((n) => f.has(n) ? f.tensor(n).data : undefined, ref.path) ??
    undefined;
}

/** The `denoised` rows of a reference (LCMSchedulerOutput.denoised), one per step. */
function denoisedRows(ref: SchedulerReference): Tensor[] {
  return stepRows(ref.file, "denoised", ref.steps.length).map((t, i) => {
    assert.ok(t, `${ref.path}: no denoised row ${i}`);
    return t;
  });
}

/** The sample entering step i of a reference. */
function sampleIn(ref: SchedulerReference, i: number): Tensor {
  return i === 0 ? ref.initialSample : ref.steps[i - 1].prevSample;
}

interface Replay {
  prevUlp: number;
  denoisedUlp: number;
}

/** Replays `ref` step by step (the reference's sample and model output into each step). */
function replay(
  ref: SchedulerReference,
  s: LCMScheduler,
  noise: "generator" | "stored",
): Replay {
  s.setTimesteps(ref.steps.length);
  const generator = new TorchGenerator(ref.seed!);
  assert.equal(ulpBetween(generator.randn(ref.initialSample.shape), ref.initialSample), 0);
  const denoised = denoisedRows(ref);
  const out: Replay = { prevUlp: 0, denoisedUlp: 0 };
  for (const [i, step] of ref.steps.entries()) {
    const last = i === ref.steps.length - 1;
    const opts = noise === "generator"
      ? { generator }
      : last
      ? {}
      : { varianceNoise: step.varianceNoise! };
    const r = s.step(step.modelOutput, ref.timesteps[i], sampleIn(ref, i), opts);
    out.prevUlp = Math.max(out.prevUlp, ulpBetween(r.prevSample, step.prevSample));
    out.denoisedUlp = Math.max(out.denoisedUlp, ulpBetween(r.denoised, denoised[i]));
    assert.equal(r.predOriginalSample, r.denoised);
  }
  return out;
}

for (const math of ["IEEE", "recorded"] as const) {
  for (const noise of ["generator", "stored"] as const) {
    Deno.test(`LCM replays every diffusers reference bit for bit (${math} sqrt, noise from ${noise})`, async () => {
      assert.ok(files.length >= 5, `expected the references in ${DIR}, found ${files.length}`);
      const figures: string[] = [];
      for (const path of files) {
        const ref = await loadSchedulerReference(path);
        const table = recordedMath(ref);
        if (math === "recorded" && !table) continue;
        assert.equal(ref.className, "LCMScheduler", path);
        assert.equal(ref.noise, "generator", path);
        const s = LCMScheduler.fromConfig(ref.config, path, math === "IEEE" ? undefined : table);
        assert.deepEqual(s.configWarnings, [], path);
        assert.equal(ulpBetween(s.alphasCumprod, ref.alphasCumprod!), 0, `${path}: alphas`);
        s.setTimesteps(ref.steps.length);
        assert.deepEqual(s.timesteps, ref.timesteps, `${path}: timesteps`);
        const noiseSteps = ref.file.has("variance_noise_steps")
          ? ref.file.ints("variance_noise_steps")
          : [];
        assert.deepEqual(noiseSteps, ref.steps.slice(1).map((_, i) => i), `${path}: noise steps`);
        const r = replay(ref, s, noise);
        assert.equal(r.prevUlp, 0, `${path}: prev_sample ${r.prevUlp} ulp`);
        assert.equal(r.denoisedUlp, 0, `${path}: denoised ${r.denoisedUlp} ulp`);
        figures.push(`${path.split("/").at(-1)} ${r.prevUlp}/${r.denoisedUlp}`);
      }
      assert.ok(figures.length >= (math === "IEEE" ? 5 : 1), figures.join(", "));
      console.log(`LCM replay (${math}, ${noise}): prev/denoised max ulp ${figures.join(", ")}`);
    });
  }
}

Deno.test("LCM: the recorded sqrt of the references is IEEE (MKL_CBWR=AVX2)", async () => {
  let recorded = 0;
  for (const path of files) {
    const table = recordedMath(await loadSchedulerReference(path));
    if (!table) continue;
    recorded++;
    assert.ok(table.size > 0, path);
    assert.deepEqual(table.deviations(), [], path);
  }
  assert.ok(recorded >= 1);
});

Deno.test("LCM free run with the stand-in model and one generator follows diffusers exactly", async () => {
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const s = LCMScheduler.fromConfig(ref.config, path);
    s.setTimesteps(ref.steps.length);
    const generator = new TorchGenerator(ref.seed!);
    let x = generator.randn(ref.initialSample.shape);
    for (const [i, t] of s.timesteps.entries()) {
      const eps = standInEps(s.scaleModelInput(x, t), t);
      assert.equal(ulpBetween(eps, ref.steps[i].modelOutput), 0, `${path}: model output ${i}`);
      x = s.step(eps, t, x, { generator }).prevSample;
      assert.equal(ulpBetween(x, ref.steps[i].prevSample), 0, `${path}: step ${i}`);
    }
  }
});

Deno.test("LCM: the config is diffusers' (defaults, order, JSON) and add_noise matches", async () => {
  const ref = await loadSchedulerReference(`${DIR}/steps_4.safetensors`);
  const full = JSON.parse(ref.metadata.diffusers_config);
  const ours = new LCMScheduler().toDiffusersConfig();
  assert.deepEqual(Object.keys(ours), Object.keys(full));
  assert.deepEqual(ours, full);
  const s = LCMScheduler.fromConfig(full, ref.path);
  s.setTimesteps(4);
  assert.equal(s.initNoiseSigma, 1);
  assert.equal(addNoiseUlp(ref, s), 0);
  // diffusers' __init__: the training timesteps, descending
  const fresh = new LCMScheduler({ numTrainTimesteps: 5 });
  assert.deepEqual(fresh.timesteps, [4, 3, 2, 1, 0]);
});

Deno.test("LCM set_timesteps: diffusers' schedules incl. strength and original_inference_steps; timestep_spacing and steps_offset are not read", () => {
  // from diffusers 0.42.1's LCMScheduler(**config).set_timesteps(n, **kwargs)
  const cases: [
    Record<string, unknown>,
    number,
    { strength?: number; originalInferenceSteps?: number },
    number[],
  ][] = [
    [{}, 4, { strength: 0.5 }, [499, 379, 259, 139]],
    [{ original_inference_steps: 37 }, 5, { strength: 0.8 }, [782, 647, 485, 323, 161]],
    [{ original_inference_steps: 1000 }, 7, {}, [999, 857, 714, 571, 428, 285, 142]],
    [{ num_train_timesteps: 30, original_inference_steps: 7 }, 3, {}, [27, 19, 11]],
    [{}, 8, { originalInferenceSteps: 13 }, [987, 911, 759, 683, 531, 379, 303, 151]],
  ];
  for (const [config, n, opts, expected] of cases) {
    const s = LCMScheduler.fromConfig(config);
    s.setTimesteps(n, opts);
    assert.deepEqual(s.timesteps, expected, JSON.stringify([config, n, opts]));
  }
  for (
    const config of [{ timestep_spacing: "trailing", steps_offset: 1 }, {
      timestep_spacing: "linspace",
    }]
  ) {
    const s = LCMScheduler.fromConfig(config);
    s.setTimesteps(4);
    assert.deepEqual(s.timesteps, [999, 759, 499, 259], JSON.stringify(config));
  }
});

Deno.test("LCM: config and set_timesteps errors name the field", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ original_inference_steps: 0 }, /lcm\.json: "original_inference_steps"/],
    [{ original_inference_steps: 2.5 }, /lcm\.json: "original_inference_steps"/],
    [{ timestep_scaling: "10" }, /lcm\.json: "timestep_scaling"/],
    [{ prediction_type: "flow_prediction" }, /lcm\.json: "prediction_type"/],
    [{ beta_schedule: "exp" }, /lcm\.json: "beta_schedule"/],
  ];
  for (const [config, pattern] of bad) {
    assert.throws(() => LCMScheduler.fromConfig(config, "lcm.json"), (e: unknown) => {
      assert.ok(e instanceof SchedulerConfigError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  }
  const s = new LCMScheduler();
  assert.throws(
    () => s.setTimesteps(51),
    // diffusers checks len(lcm_origin_timesteps) // n >= 1 first
    /`original_steps x strength`: 50 x 1 is smaller than `num_inference_steps`: 51/,
  );
  assert.throws(
    () => s.setTimesteps(4, { originalInferenceSteps: 1001 }),
    /`original_steps`: 1001/,
  );
  assert.throws(
    () => s.setTimesteps(30, { strength: 0.5 }),
    /`original_steps x strength`: 50 x 0.5/,
  );
  assert.throws(() => s.setTimesteps(0), /positive integer/);
  assert.throws(
    () => s.setTimesteps(1001),
    /`num_inference_steps`: 1001 cannot be larger than num_train/,
  );
  assert.throws(
    () => s.step(Tensor.zeros([1, 1]), 999, Tensor.zeros([1, 1])),
    /LCMScheduler\.step: number of inference steps is not set/,
  );
});

Deno.test("LCM boundary condition: c_skip / c_out as torch computes them, and a step without them misses diffusers", async () => {
  // float64 formula vs the float32 port
  for (const [t, scaling] of [[999, 10], [259, 10], [749, 0.0025], [0, 10], [1, 0.1]]) {
    const { cSkip, cOut } = lcmBoundaryScalings(t, scaling);
    const s = t * scaling;
    assert.ok(Math.abs(cSkip - 0.25 / (s * s + 0.25)) <= 2.4e-7 * 0.25 / (s * s + 0.25), `${t}`);
    assert.ok(Math.abs(cOut - s / Math.sqrt(s * s + 0.25)) <= 2.4e-7, `${t}`);
  }
  // the scaling is taken as float32, as torch takes a Python float times an int64 tensor
  assert.equal(
    lcmBoundaryScalings(749, 0.0025).cSkip,
    lcmBoundaryScalings(749, Math.fround(0.0025)).cSkip,
  );
  // with timestep_scaling 0.0025 c_skip is 0.04 .. 0.4: the identity (c_skip 0, c_out 1) or
  // the x0 alone is far from diffusers' denoised in every step
  const ref = await loadSchedulerReference(`${DIR}/orig40_vpred_clip_scaling_4.safetensors`);
  const denoised = denoisedRows(ref);
  for (const [i, step] of ref.steps.entries()) {
    const s = LCMScheduler.fromConfig(ref.config);
    s.setTimesteps(ref.steps.length);
    s.setBeginIndex(i);
    const x = sampleIn(ref, i);
    const last = i === ref.steps.length - 1;
    const r = s.step(
      step.modelOutput,
      ref.timesteps[i],
      x,
      last ? {} : { varianceNoise: step.varianceNoise! },
    );
    assert.equal(ulpBetween(r.denoised, denoised[i]), 0, `step ${i}`);
    const { cSkip, cOut } = lcmBoundaryScalings(ref.timesteps[i], 0.0025);
    assert.ok(cSkip > 0.03 && cOut < 0.99, `step ${i}: c_skip ${cSkip}`);
    // undo the boundary condition: x0 = (denoised - c_skip * x) / c_out, clipped to 0.8
    const x0 = denoised[i].data.map((d, j) => (d - cSkip * x.data[j]) / cOut);
    assert.ok(x0.every((v) => Math.abs(v) <= 0.8 + 1e-5), `step ${i}: x0 clipped`);
    assert.ok(maxUlpDistance(x0, denoised[i].data).maxUlp > 1e5, `step ${i}: x0 alone`);
  }
});

Deno.test("LCM noise injection: a draw at every step but the last, scaled by sqrt(1 - a_prev)", async () => {
  const ref = await loadSchedulerReference(`${DIR}/steps_4.safetensors`);
  const g = new TorchGenerator(ref.seed!);
  g.randn(ref.initialSample.shape);
  for (const [i, step] of ref.steps.entries()) {
    if (i < ref.steps.length - 1) {
      assert.equal(ulpBetween(g.randn(step.modelOutput.shape), step.varianceNoise!), 0, `${i}`);
    } else assert.equal(step.varianceNoise, undefined);
  }
  // the last step draws nothing: the generator is where it was
  const s = new LCMScheduler();
  s.setTimesteps(1);
  const gen = new TorchGenerator(3);
  const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
  const r = s.step(x, s.timesteps[0], x, { generator: gen });
  assert.equal(r.prevSample, r.denoised);
  assert.deepEqual(gen.randn([2]).data, new TorchGenerator(3).randn([2]).data);
  // without the noise (or with other noise) a middle step misses diffusers by far
  const i = 1;
  const stepWith = (varianceNoise: Tensor) => {
    const t = LCMScheduler.fromConfig(ref.config);
    t.setTimesteps(ref.steps.length);
    t.setBeginIndex(i);
    return t.step(ref.steps[i].modelOutput, ref.timesteps[i], sampleIn(ref, i), { varianceNoise });
  };
  const noise = ref.steps[i].varianceNoise!;
  const right = stepWith(noise);
  assert.equal(ulpBetween(right.prevSample, ref.steps[i].prevSample), 0);
  const none = stepWith(Tensor.zeros(noise.shape));
  assert.ok(ulpBetween(none.prevSample, ref.steps[i].prevSample) > 1e5);
  assert.equal(ulpBetween(none.denoised, right.denoised), 0);
  // prev - sqrt(a_prev) * denoised = sqrt(1 - a_prev) * noise
  const aPrev = LCMScheduler.fromConfig(ref.config).alphasCumprod[ref.timesteps[i + 1]];
  right.prevSample.data.forEach((v, j) => {
    const expected = Math.sqrt(1 - aPrev) * noise.data[j];
    assert.ok(Math.abs(v - none.prevSample.data[j] - expected) < 1e-5, `${j}`);
  });
  // a step other than the last needs a noise source
  const t = new LCMScheduler();
  t.setTimesteps(2);
  assert.throws(
    () => t.step(x, t.timesteps[0], x),
    /LCMScheduler\.step: every step but the last needs a generator or varianceNoise/,
  );
});

Deno.test("LCM is registered: schedulerFromConfig, SAMPLERS and makeSampler run diffusers' loop", async () => {
  const ref = await loadSchedulerReference(`${DIR}/steps_4.safetensors`);
  const s = schedulerFromConfig("LCMScheduler", ref.config, {}, ref.path);
  assert.ok(s instanceof LCMScheduler);
  assert.ok("LCMScheduler" in SAMPLERS);
  const generator = new TorchGenerator(ref.seed!);
  let x = generator.randn(ref.initialSample.shape);
  const sampler = makeSampler({ type: "LCMScheduler" }, ref.config, { steps: 4, generator });
  assert.deepEqual(sampler.timesteps, ref.timesteps);
  assert.equal(sampler.initNoiseSigma, 1);
  for (let i = 0; i < sampler.timesteps.length; i++) {
    x = (await sampler.step((v, t) => Promise.resolve(standInEps(v, t)), x, i)).prevSample;
    assert.equal(ulpBetween(x, ref.steps[i].prevSample), 0, `step ${i}`);
  }
});
