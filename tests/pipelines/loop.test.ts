import assert from "node:assert/strict";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { classifierFreeGuidance } from "../../core/pipelines/guidance.ts";
import { guidedDenoiser } from "../../core/pipelines/denoiser.ts";
import { denoiseLoop } from "../../core/pipelines/loop.ts";
import type { PipelineHooks, StepRecord } from "../../core/pipelines/types.ts";
import type { UNetModel } from "../../core/models/types.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import type { Scheduler, StepOptions } from "../../core/schedulers/types.ts";
import { readSafetensors } from "../../core/tensor/safetensors.ts";
import { concat } from "../../core/tensor/ops.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "./_standins.ts";
import { assertBitEqual, ulpReport } from "./_refs.ts";

const SHAPE = [1, 4, 3, 3];
const EMBEDS = new Tensor(new Float32Array([-0.4, 0, 0.9, 0]), [2, 2, 1]); // e00: -0.4 / 0.9

function ddim(steps: number): DDIMScheduler {
  const s = new DDIMScheduler({
    betaSchedule: "scaled_linear",
    betaStart: 0.00085,
    betaEnd: 0.012,
  });
  s.setTimesteps(steps);
  return s;
}

function start(): Tensor {
  return new TorchGenerator(3).randn(SHAPE);
}

/** The loop over a diffusers scheduler with the guided UNet, as text2img drives it. */
async function runLoop(o: {
  unet: UNetModel;
  scheduler: Scheduler;
  latents: Tensor;
  embeds: Tensor;
  guidanceScale: number;
  eta?: number;
  generator?: TorchGenerator;
  afterStep?: (x: Tensor, i: number, t: number) => Tensor;
  hooks?: PipelineHooks;
}) {
  const out = await denoiseLoop({
    stepper: schedulerSampler(o.scheduler, { eta: o.eta, generator: o.generator }),
    denoiser: guidedDenoiser(o.unet, o.embeds, o.guidanceScale),
    sample: o.latents,
    hooks: o.hooks,
    afterStep: o.afterStep,
  });
  return { ...out, latents: out.sample };
}

/** The loop written out by hand: CFG of the stand-in UNet, then DDIM's step. */
function handLoop(steps: number, override?: Map<number, Tensor>): Tensor[] {
  const s = ddim(steps);
  let x = start();
  const out: Tensor[] = [];
  s.timesteps.forEach((t, i) => {
    const u = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, Math.fround(-0.4), k)), SHAPE);
    const c = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, Math.fround(0.9), k)), SHAPE);
    const eps = override?.get(i) ?? classifierFreeGuidance(u, c, 5);
    x = s.step(eps, t, x).prevSample;
    out.push(x);
  });
  return out;
}

Deno.test("denoiseLoop reports every step in order with the model input, guided output and result", async () => {
  const unet = new StandInUNet();
  const scheduler = ddim(6);
  const records: StepRecord[] = [];
  const { latents, modelMs, loopMs } = await runLoop({
    unet,
    scheduler,
    latents: start(),
    embeds: EMBEDS,
    guidanceScale: 5,
    hooks: { onStep: (r) => void records.push(r) },
  });
  const expected = handLoop(6);
  assert.deepEqual(records.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(records.map((r) => r.t), scheduler.timesteps);
  assert.equal(unet.calls.length, 6);
  records.forEach((r, i) => {
    assert.deepEqual(r.modelInput.shape, [1, 4, 3, 3], "modelInput is the denoiser's input");
    assert.deepEqual(unet.calls[i].sample.shape, [2, 4, 3, 3], "the UNet ran on cat([x] * 2)");
    assertBitEqual(unet.calls[i].sample, concat([r.modelInput, r.modelInput]), `batch ${i}`);
    assertBitEqual(r.prevSample, expected[i], `prevSample ${i}`);
    if (i === 0) assertBitEqual(r.sample, start(), "sample 0");
    else assert.equal(r.sample, records[i - 1].prevSample);
    assert.ok(r.predOriginalSample, "DDIM gives pred_original_sample");
    assert.equal(r.sampleOverridden || r.modelOutputOverridden, false);
    assert.ok(Number.isFinite(r.modelMs) && r.modelMs >= 0, `step ${i}: the model call is timed`);
    assert.ok(Number.isFinite(r.stepMs) && r.stepMs >= 0, `step ${i}: the step is timed`);
  });
  assertBitEqual(latents, expected[5], "final latents");
  const perCall = records.reduce((sum, r) => sum + r.modelMs, 0);
  assert.ok(Math.abs(modelMs - perCall) < 1e-9, "modelMs is the sum of the calls");
  assert.ok(loopMs >= modelMs);
});

Deno.test("overrideModelOutput replaces the guided output of that step and skips the UNet", async () => {
  const unet = new StandInUNet();
  const scheduler = ddim(5);
  const injected = new TorchGenerator(11).randn(SHAPE);
  const records: StepRecord[] = [];
  const { latents } = await runLoop({
    unet,
    scheduler,
    latents: start(),
    embeds: EMBEDS,
    guidanceScale: 5,
    hooks: {
      overrideModelOutput: (i) => (i === 2 ? injected : undefined),
      onStep: (r) => void records.push(r),
    },
  });
  assert.equal(unet.calls.length, 4);
  assert.equal(records[2].modelOutput, injected);
  assert.equal(records[2].modelOutputOverridden, true);
  assert.equal(records[2].modelMs, 0);
  assertBitEqual(latents, handLoop(5, new Map([[2, injected]]))[4], "final latents");
  // and it changed the result
  assert.notDeepEqual([...latents.data], [...handLoop(5)[4].data]);
});

Deno.test("overrideSample replaces the latents entering a step", async () => {
  const scheduler = ddim(4);
  const replacement = new TorchGenerator(99).randn(SHAPE);
  const records: StepRecord[] = [];
  await runLoop({
    unet: new StandInUNet(),
    scheduler,
    latents: start(),
    embeds: EMBEDS,
    guidanceScale: 5,
    hooks: {
      overrideSample: (i, t) => (i === 3 && t === scheduler.timesteps[3] ? replacement : undefined),
      onStep: (r) => void records.push(r),
    },
  });
  assert.equal(records[3].sample, replacement);
  assert.equal(records[3].sampleOverridden, true);
  const t = scheduler.timesteps[3];
  const u = new Tensor(
    replacement.data.map((v, k) => StandInUNet.eps(v, t, Math.fround(-0.4), k)),
    SHAPE,
  );
  const c = new Tensor(
    replacement.data.map((v, k) => StandInUNet.eps(v, t, Math.fround(0.9), k)),
    SHAPE,
  );
  const ref = ddim(4);
  const expected = ref.step(classifierFreeGuidance(u, c, 5), t, replacement).prevSample;
  assertBitEqual(records[3].prevSample, expected, "step 3 from the replaced sample");
});

Deno.test("a NaN from the UNet stops the loop with NonFiniteError naming step, timestep and tensor", async () => {
  const unet = new StandInUNet();
  unet.nanAtCall = 2;
  const scheduler = ddim(5);
  const seen: number[] = [];
  await assert.rejects(
    () =>
      runLoop({
        unet,
        scheduler,
        latents: start(),
        embeds: EMBEDS,
        guidanceScale: 5,
        hooks: { onStep: (r) => void seen.push(r.index) },
      }),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 2 && e.timestep === scheduler.timesteps[2] &&
      e.tensor === "modelOutput" && e.elementIndex === 3 && Number.isNaN(e.value) &&
      e.message.includes(`step 2 (timestep ${scheduler.timesteps[2]})`),
  );
  assert.deepEqual(seen, [0, 1]);
});

/** A scheduler whose step returns +Infinity at one step. */
function infScheduler(atStep: number): Scheduler {
  let n = 0;
  return {
    initNoiseSigma: 1,
    timesteps: [30, 20, 10],
    setTimesteps: () => {},
    scaleModelInput: (x) => x,
    addNoise: (x) => x,
    step: (m) => {
      const out = m.clone();
      if (n++ === atStep) out.data[5] = Infinity;
      return { prevSample: out };
    },
  };
}

Deno.test("non-finite prevSample, initial latents and overrides are caught and named", async () => {
  const base = {
    unet: new StandInUNet(),
    embeds: new Tensor(new Float32Array([1]), [1, 1, 1]),
    guidanceScale: 1,
  };
  await assert.rejects(
    () => runLoop({ ...base, scheduler: infScheduler(1), latents: start() }),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 1 && e.timestep === 20 &&
      e.tensor === "prevSample" && e.value === Infinity,
  );
  const bad = start().clone();
  bad.data[0] = -Infinity;
  await assert.rejects(
    () => runLoop({ ...base, scheduler: infScheduler(9), latents: bad }),
    (e: unknown) => e instanceof NonFiniteError && e.stepIndex === -1 && e.tensor === "initLatents",
  );
  const nan = Tensor.zeros(SHAPE);
  nan.data[7] = NaN;
  await assert.rejects(
    () =>
      runLoop({
        ...base,
        scheduler: infScheduler(9),
        latents: start(),
        hooks: { overrideModelOutput: (i) => (i === 1 ? nan : undefined) },
      }),
    (e: unknown) => e instanceof NonFiniteError && e.stepIndex === 1 && e.tensor === "modelOutput",
  );
  await assert.rejects(
    () =>
      runLoop({
        ...base,
        scheduler: infScheduler(9),
        latents: start(),
        hooks: { overrideSample: () => Tensor.zeros([1, 4, 2, 2]) },
      }),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "overrideSample" &&
      /model call 0/.test(e.message),
  );
});

Deno.test("eta and the generator reach every step; afterStep's result is handed on", async () => {
  const seen: StepOptions[] = [];
  const scheduler: Scheduler = {
    ...infScheduler(9),
    timesteps: [30, 20],
    step: (m, _t, _x, opts) => {
      seen.push(opts ?? {});
      return { prevSample: m };
    },
  };
  const generator = new TorchGenerator(1);
  const records: StepRecord[] = [];
  const shifted = Tensor.zeros(SHAPE);
  const out = await runLoop({
    unet: new StandInUNet(),
    scheduler,
    latents: start(),
    embeds: new Tensor(new Float32Array([1]), [1, 1, 1]),
    guidanceScale: 1,
    eta: 0.3,
    generator,
    afterStep: (_x, i) => (i === 1 ? shifted : _x),
    hooks: { onStep: (r) => void records.push(r) },
  });
  assert.deepEqual(seen.map((o) => [o.eta, o.generator === generator]), [[0.3, true], [0.3, true]]);
  assert.equal(out.latents, shifted);
  assert.equal(records[1].prevSample, shifted);
  assert.ok(records[1].unblendedPrevSample && records[1].unblendedPrevSample !== shifted);
});

/** fixtures/refs/loop/: diffusers' DDIM / DDPM loops under the stand-in UNet (dump_loop_standin.py). */
const LOOP_REFS = new URL("../../fixtures/refs/loop/", import.meta.url);
const LOOP_RUNS = ["ddim_eta05_cfg", "ddim_eta1", "ddpm_cfg", "ddpm_linear_50"];

/** Row `i` of a tensor stacked over steps, `[steps, ...shape]`. */
function row(stacked: Tensor, i: number): Tensor {
  const [, ...shape] = stacked.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(stacked.data.slice(i * n, (i + 1) * n), shape);
}

Deno.test("denoiseLoop reproduces diffusers' DDIM (eta > 0) and DDPM trajectories with step noise, 0 ulp", async () => {
  const found: string[] = [];
  for await (const e of Deno.readDir(LOOP_REFS)) found.push(e.name.replace(/\.safetensors$/, ""));
  assert.deepEqual(found.sort(), [...LOOP_RUNS].sort(), "the runs of dump_loop_standin.py");
  const noisy: string[] = [];
  for (const name of LOOP_RUNS) {
    const ref = await readSafetensors(new URL(`${name}.safetensors`, LOOP_REFS).pathname);
    const meta = ref.metadata;
    assert.equal(meta.format, "diffparity-loop-trajectory/1", name);
    const config = JSON.parse(meta.config);
    // the float32 sqrt results torch gave on the reference machine (MKL's; correctly rounded
    // there with MKL_CBWR=AVX2, not on every CPU): our schedulers take their sqrt from them
    const math = mathTableFromTensors((n) => ref.has(n) ? ref.tensor(n).data : undefined, name);
    assert.ok(math, `${name}: no recorded math`);
    const scheduler = meta.class_name === "DDIMScheduler"
      ? DDIMScheduler.fromConfig(config, name, math)
      : DDPMScheduler.fromConfig(config, name, math);
    assert.equal(scheduler.constructor.name, meta.class_name);
    scheduler.setTimesteps(JSON.parse(meta.steps));
    assert.deepEqual(scheduler.timesteps, ref.ints("timesteps"), `${name}: timesteps`);
    // one generator draws the initial latents, then every step's noise (as the pipeline does)
    const generator = new TorchGenerator(JSON.parse(meta.seed));
    assert.equal(scheduler.initNoiseSigma, 1, name);
    const latents = generator.randn([1, 4, 3, 3]);
    assertBitEqual(latents, ref.tensor("initial_latents"), `${name}: initial latents`);
    const eta = meta.eta === undefined ? undefined : JSON.parse(meta.eta);
    const records: StepRecord[] = [];
    const unet = new StandInUNet();
    const out = await runLoop({
      unet,
      scheduler,
      latents,
      embeds: ref.tensor("embeds"),
      guidanceScale: JSON.parse(meta.guidance_scale),
      eta,
      generator,
      hooks: { onStep: (r) => void records.push(r) },
    });
    const outputs = ref.tensor("model_output");
    const prevs = ref.tensor("prev_sample");
    assert.equal(records.length, prevs.shape[0], name);
    const off: string[] = [];
    records.forEach((r, i) => {
      const m = ulpReport(r.modelOutput, row(outputs, i));
      const p = ulpReport(r.prevSample, row(prevs, i));
      if (m.maxUlp > 0 || p.maxUlp > 0) {
        off.push(`step ${i} (t=${r.t}): modelOutput ${m.maxUlp} ulp, prevSample ${p.maxUlp} ulp`);
      }
    });
    assert.deepEqual(off, [], `${name}: steps that differ from diffusers`);
    // every sqrt our steps took is one diffusers' steps took (none fell back to IEEE)
    assert.deepEqual(
      [math.misses, [...math.missed]],
      [0, []],
      `${name}: sqrt inputs diffusers never had`,
    );
    assert.ok(math.hits > 0, name);
    if (math.deviations().length > 0) {
      console.log(`${name}: ${math.deviations().length} recorded sqrt results are not IEEE`);
    }
    assertBitEqual(out.latents, row(prevs, records.length - 1), `${name}: final latents`);
    // the step noise was drawn (a noise-free loop would not reproduce these)
    if (ref.ints("variance_noise_steps").length > 0) noisy.push(name);
  }
  assert.deepEqual(noisy, LOOP_RUNS);
});
