import assert from "node:assert/strict";
import {
  ancestralSigmas,
  EulerAncestralDiscreteScheduler,
} from "../../core/schedulers/euler_ancestral_discrete.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { SchedulerConfigError } from "../../core/schedulers/config_json.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";
import { schedulerFromConfig } from "../../core/schedulers/registry.ts";
import { checkSameGenerator } from "../../core/pipelines/timesteps.ts";
import { type MathTable, mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
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
import { standInEps } from "./stand_in_eps.ts";

const DIR = "fixtures/refs/schedulers/euler_ancestral";
const files = await listReferenceFiles(DIR);

/** The float32 sqrt results torch computed while the reference was made (ref_math.py). */
function recordedMath(ref: SchedulerReference): MathTable {
  const f = ref.file;
  const table = mathTableFromTensors((n) => f.has(n) ? f.tensor(n).data : undefined, ref.path);
  assert.ok(table, `${ref.path}: no recorded math`);
  return table;
}

for (const math of ["IEEE", "recorded"] as const) {
  for (const noise of ["generator", "variance_noise"] as const) {
    Deno.test(`EulerAncestral replays every diffusers reference bit for bit (${math} sqrt, noise from ${noise})`, async () => {
      assert.ok(files.length >= 5, `expected the references in ${DIR}, found ${files.length}`);
      const runs = await replayAll(
        files,
        "EulerAncestralDiscreteScheduler",
        (ref) =>
          EulerAncestralDiscreteScheduler.fromConfig(
            ref.config,
            ref.path,
            math === "IEEE" ? undefined : recordedMath(ref),
          ),
        () => ({ noiseSource: noise === "generator" ? "auto" : "stored" }),
      );
      const figures: string[] = [];
      for (const { ref, scheduler: s, report } of runs) {
        const path = ref.path;
        assert.equal(ref.noise, "generator", path);
        assert.deepEqual(s.configWarnings, [], path);
        assert.equal(ulpBetween(s.sigmas, ref.file.tensor("sigmas")), 0, `${path}: sigmas`);
        assert.ok(ref.steps.every((st) => st.varianceNoise), `${path}: every step drew noise`);
        for (const [what, q] of replayQuantities(report)) {
          assert.equal(q.maxUlp, 0, `${path}: ${what} ${q.maxUlp} ulp at step ${q.step}`);
        }
        const fresh = EulerAncestralDiscreteScheduler.fromConfig(ref.config, path);
        fresh.setTimesteps(ref.steps.length);
        assert.equal(fresh.initNoiseSigma, ref.file.tensor("init_noise_sigma").data[0], path);
        const scaled = ref.file.tensor("initial_noise").data.map((v) => v * fresh.initNoiseSigma);
        assert.equal(ulpBetween(scaled, ref.initialSample), 0, `${path}: x_T`);
        assert.equal(addNoiseUlp(ref, fresh), 0, `${path}: add_noise on a fresh scheduler`);
        figures.push(`${path.split("/").at(-1)} ${report.prevSample.maxUlp}`);
      }
      assert.ok(runs.some((r) => r.report.modelInput.step >= 0), "model inputs are compared");
      assert.ok(runs.some((r) => r.report.predOriginalSample.step >= 0), "x0 is compared");
      console.log(
        `EulerAncestral replay (${math}, ${noise}): prev_sample max ulp ${figures.join(", ")}`,
      );
    });
  }
}

Deno.test("EulerAncestral: the recorded sqrt of the references is IEEE (MKL_CBWR=AVX2)", async () => {
  for (const path of files) {
    const table = recordedMath(await loadSchedulerReference(path));
    assert.ok(table.size > 0, path);
    assert.deepEqual(table.deviations(), [], path);
  }
});

Deno.test("EulerAncestral free run with the stand-in model and one generator follows diffusers exactly", async () => {
  const runs = await freeRunAll(
    files,
    (ref) => EulerAncestralDiscreteScheduler.fromConfig(ref.config, ref.path),
    (x, t) => standInEps(x, t),
  );
  assert.equal(runs.length, files.length);
  for (const { ref, report, drift } of runs) {
    assert.equal(report.modelOutputMaxUlp, 0, `${ref.path}: stand-in model outputs`);
    assert.equal(drift, 0, `${ref.path}: free-run drift ${report.perStepUlp.join(",")} ulp`);
  }
});

Deno.test("EulerAncestral draws one randn(shape) per step after the initial noise, the last step too", async () => {
  for (const path of files) {
    const ref = await loadSchedulerReference(path);
    const g = new TorchGenerator(ref.seed!);
    assert.equal(ulpBetween(g.randn(ref.initialSample.shape), ref.file.tensor("initial_noise")), 0);
    for (const [i, step] of ref.steps.entries()) {
      assert.equal(
        ulpBetween(g.randn(step.modelOutput.shape), step.varianceNoise!),
        0,
        `${path} ${i}`,
      );
    }
  }
  // the last step's sigma_up is 0, yet it draws (and so moves the generator) as diffusers does
  const s = new EulerAncestralDiscreteScheduler();
  s.setTimesteps(1);
  const g = new TorchGenerator(3);
  const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
  s.step(x, s.timesteps[0], x, { generator: g });
  const after = new TorchGenerator(3);
  after.randn([1, 2]);
  assert.deepEqual(g.randn([2]).data, after.randn([2]).data);
});

Deno.test("EulerAncestral's noise split: sigma_up^2 + sigma_down^2 = sigma_next^2, and a wrong split fails the replay", async () => {
  // the split in float64, against the float32 port
  for (const [from, to] of [[14.6, 10.2], [1.5, 0.03], [4096, 3.5], [0.5, 0]]) {
    const { sigmaUp, sigmaDown } = ancestralSigmas(Math.fround(from), Math.fround(to));
    const f = Math.fround(from), t = Math.fround(to);
    const up = Math.sqrt((t * t * (f * f - t * t)) / (f * f));
    assert.ok(Math.abs(sigmaUp - up) <= 4e-7 * Math.max(up, 1e-30), `${from} -> ${to}: up`);
    // sigma_down = to^2 / from in exact arithmetic; float32's to^2 - sigma_up^2 cancels when
    // to << from, so the float32 result is that close only relative to sigma_to
    assert.ok(Math.abs(sigmaUp ** 2 + sigmaDown ** 2 - t * t) <= 1e-6 * t * t, `${from} -> ${to}`);
    assert.ok(Math.abs(sigmaDown - (t * t) / f) <= 1e-3 * t, `${from} -> ${to}: down`);
  }
  // the noise enters as noise * sigma_up: two steps differing only in the noise differ by that
  const ref = await loadSchedulerReference(`${DIR}/sd_linspace_10.safetensors`);
  const i = 3;
  const sampleIn = ref.steps[i - 1].prevSample;
  const stepWith = (noise: Tensor) => {
    const s = EulerAncestralDiscreteScheduler.fromConfig(ref.config);
    s.setTimesteps(ref.steps.length);
    s.setBeginIndex(i);
    return {
      s,
      prev: s.step(ref.steps[i].modelOutput, ref.timesteps[i], sampleIn, { varianceNoise: noise })
        .prevSample,
    };
  };
  const noise = ref.steps[i].varianceNoise!;
  const { s, prev } = stepWith(noise);
  assert.equal(ulpBetween(prev, ref.steps[i].prevSample), 0);
  const quiet = stepWith(Tensor.zeros(noise.shape)).prev;
  const { sigmaUp, sigmaDown } = ancestralSigmas(s.sigmas[i], s.sigmas[i + 1]);
  assert.ok(sigmaUp > 0.3 * s.sigmas[i + 1] && sigmaDown > 0.3 * s.sigmas[i + 1], "a real split");
  for (let k = 0; k < noise.size; k++) {
    const added = prev.data[k] - quiet.data[k];
    assert.ok(Math.abs(added - noise.data[k] * sigmaUp) <= 1e-5 * Math.abs(prev.data[k]) + 1e-6);
  }
  // swapped sigma_up / sigma_down, or no split at all (plain Euler to sigma_next): far off
  const x = sampleIn.data;
  const x0ref = ref.steps[i].predOriginalSample!.data;
  const sigma = s.sigmas[i];
  const wrong = (down: number, up: number) =>
    x.map((v, k) => v + ((v - x0ref[k]) / sigma) * (down - sigma) + noise.data[k] * up);
  for (
    const [name, bad] of [
      ["swapped", wrong(sigmaUp, sigmaDown)],
      ["plain Euler", wrong(s.sigmas[i + 1], 0)],
    ] as const
  ) {
    assert.ok(ulpBetween(bad, ref.steps[i].prevSample) > 1000, `${name} split would be caught`);
  }
  const euler = EulerDiscreteScheduler.fromConfig(ref.config);
  euler.setTimesteps(ref.steps.length);
  euler.setBeginIndex(i);
  const plain = euler.step(ref.steps[i].modelOutput, ref.timesteps[i], sampleIn).prevSample;
  assert.ok(ulpBetween(plain, ref.steps[i].prevSample) > 1000, "EulerDiscrete is not ancestral");
});

Deno.test("EulerAncestral state: begin index, index_for_timestep, noise sources, errors", () => {
  const s = new EulerAncestralDiscreteScheduler();
  assert.equal(s.timesteps.length, 1000);
  assert.equal(s.timesteps[0], 999);
  s.setTimesteps(10);
  assert.equal(s.stepIndex, null);
  assert.equal(s.indexForTimestep(s.timesteps[3]), 3);
  assert.throws(() => s.indexForTimestep(12.5), /timestep 12.5 is not in the schedule/);
  s.setBeginIndex(4);
  const x = new Tensor(new Float32Array([1, 2]), [1, 2]);
  const zero = Tensor.zeros([1, 2]);
  s.scaleModelInput(x, s.timesteps[0]); // the begin index wins over the timestep
  assert.equal(s.stepIndex, 4);
  s.step(x, s.timesteps[4], x, { varianceNoise: zero });
  assert.equal(s.stepIndex, 5);
  assert.throws(
    () => s.step(x, s.timesteps[5], x),
    /EulerAncestralDiscreteScheduler\.step: every step needs a generator or varianceNoise/,
  );
  assert.throws(
    () => s.step(x, s.timesteps[5], x, { varianceNoise: zero, generator: new TorchGenerator(0) }),
    /cannot pass both/,
  );
  assert.throws(() => s.step(x, s.timesteps[5], x, { varianceNoise: Tensor.zeros([2]) }), /shape/);
  s.setTimesteps(2);
  assert.equal(s.stepIndex, null);
  assert.equal(s.beginIndex, null);
  s.step(x, s.timesteps[0], x, { varianceNoise: zero });
  s.step(x, s.timesteps[1], x, { varianceNoise: zero });
  assert.throws(
    () => s.step(x, s.timesteps[1], x, { varianceNoise: zero }),
    /past the end of the schedule/,
  );
  const sample = new EulerAncestralDiscreteScheduler({ predictionType: "sample" });
  sample.setTimesteps(2);
  assert.throws(
    () => sample.step(x, sample.timesteps[0], x, { varianceNoise: zero }),
    /prediction_type not implemented yet: sample/,
  );
});

Deno.test("EulerAncestral config: fields checked by name, unknown keys kept as warnings", () => {
  assert.throws(
    () => EulerAncestralDiscreteScheduler.fromConfig({ prediction_type: "x0" }, "sched.json"),
    (e) => e instanceof SchedulerConfigError && /sched\.json: "prediction_type"/.test(e.message),
  );
  assert.throws(
    () => EulerAncestralDiscreteScheduler.fromConfig({ timestep_spacing: 3 }, "sched.json"),
    /sched\.json: "timestep_spacing"/,
  );
  assert.throws(
    () => EulerAncestralDiscreteScheduler.fromConfig({ trained_betas: "x" }, "sched.json"),
    /sched\.json: "trained_betas"/,
  );
  assert.throws(
    () => EulerAncestralDiscreteScheduler.fromConfig({ rescale_betas_zero_snr: 1 }, "sched.json"),
    /sched\.json: "rescale_betas_zero_snr"/,
  );
  assert.throws(
    () => new EulerAncestralDiscreteScheduler({ useKarrasSigmas: true } as never),
    /not an option/,
  );
  // Euler's options are not this class's: kept and reported, as diffusers' from_config does
  const s = EulerAncestralDiscreteScheduler.fromConfig(
    {
      _class_name: "EulerDiscreteScheduler",
      use_karras_sigmas: true,
      interpolation_type: "linear",
      steps_offset: 1,
    },
    "sched.json",
  );
  assert.equal(s.configWarnings.length, 2);
  assert.equal(s.config.stepsOffset, 1);
  assert.equal(s.toDiffusersConfig().use_karras_sigmas, true);
});

Deno.test("EulerAncestral is a registered sampler that steps with the pipeline's generator", () => {
  const sd = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 };
  const s = schedulerFromConfig("EulerAncestralDiscreteScheduler", sd, { steps_offset: 1 });
  assert.ok(s instanceof EulerAncestralDiscreteScheduler);
  const g = new TorchGenerator(0);
  const sampler = makeSampler({ type: "EulerAncestralDiscreteScheduler" }, sd, {
    steps: 4,
    generator: g,
  });
  assert.equal(sampler.generator, g);
  checkSameGenerator("text2img", sampler, g);
  assert.throws(
    () => checkSameGenerator("text2img", sampler, new TorchGenerator(0)),
    /another generator/,
  );
});
