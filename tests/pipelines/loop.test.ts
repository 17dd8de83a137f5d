import assert from "node:assert/strict";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { classifierFreeGuidance } from "../../core/pipelines/guidance.ts";
import { denoiseLoop } from "../../core/pipelines/loop.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import type { Scheduler, StepOptions } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

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

Deno.test("denoiseLoop reports every step in order with the scaled batch, guided output and result", async () => {
  const unet = new StandInUNet();
  const scheduler = ddim(6);
  const records: StepRecord[] = [];
  const { latents, modelMs, loopMs } = await denoiseLoop({
    unet,
    scheduler,
    timesteps: scheduler.timesteps,
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
    assert.equal(r.modelInput, unet.calls[i].sample, "modelInput is what the UNet received");
    assert.deepEqual(r.modelInput.shape, [2, 4, 3, 3]);
    assertBitEqual(r.prevSample, expected[i], `prevSample ${i}`);
    if (i === 0) assertBitEqual(r.sample, start(), "sample 0");
    else assert.equal(r.sample, records[i - 1].prevSample);
    assert.ok(r.predOriginalSample, "DDIM gives pred_original_sample");
    assert.equal(r.sampleOverridden || r.modelOutputOverridden, false);
    assert.ok(r.modelMs >= 0 && r.stepMs >= 0);
  });
  assertBitEqual(latents, expected[5], "final latents");
  assert.ok(modelMs >= 0 && loopMs >= modelMs);
});

Deno.test("overrideModelOutput replaces the guided output of that step and skips the UNet", async () => {
  const unet = new StandInUNet();
  const scheduler = ddim(5);
  const injected = new TorchGenerator(11).randn(SHAPE);
  const records: StepRecord[] = [];
  const { latents } = await denoiseLoop({
    unet,
    scheduler,
    timesteps: scheduler.timesteps,
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
  await denoiseLoop({
    unet: new StandInUNet(),
    scheduler,
    timesteps: scheduler.timesteps,
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
      denoiseLoop({
        unet,
        scheduler,
        timesteps: scheduler.timesteps,
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
    timesteps: [30, 20, 10],
    embeds: new Tensor(new Float32Array([1]), [1, 1, 1]),
    guidanceScale: 1,
  };
  await assert.rejects(
    () => denoiseLoop({ ...base, scheduler: infScheduler(1), latents: start() }),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 1 && e.timestep === 20 &&
      e.tensor === "prevSample" && e.value === Infinity,
  );
  const bad = start().clone();
  bad.data[0] = -Infinity;
  await assert.rejects(
    () => denoiseLoop({ ...base, scheduler: infScheduler(9), latents: bad }),
    (e: unknown) => e instanceof NonFiniteError && e.stepIndex === -1 && e.tensor === "initLatents",
  );
  const nan = Tensor.zeros(SHAPE);
  nan.data[7] = NaN;
  await assert.rejects(
    () =>
      denoiseLoop({
        ...base,
        scheduler: infScheduler(9),
        latents: start(),
        hooks: { overrideModelOutput: (i) => (i === 1 ? nan : undefined) },
      }),
    (e: unknown) => e instanceof NonFiniteError && e.stepIndex === 1 && e.tensor === "modelOutput",
  );
  await assert.rejects(
    () =>
      denoiseLoop({
        ...base,
        scheduler: infScheduler(9),
        latents: start(),
        hooks: { overrideSample: () => Tensor.zeros([1, 4, 2, 2]) },
      }),
    (e: unknown) =>
      e instanceof PipelineInputError && e.field === "overrideSample" && /step 0/.test(e.message),
  );
});

Deno.test("eta and the generator reach every step; afterStep's result is handed on", async () => {
  const seen: StepOptions[] = [];
  const scheduler: Scheduler = {
    ...infScheduler(9),
    step: (m, _t, _x, opts) => {
      seen.push(opts ?? {});
      return { prevSample: m };
    },
  };
  const generator = new TorchGenerator(1);
  const records: StepRecord[] = [];
  const shifted = Tensor.zeros(SHAPE);
  const out = await denoiseLoop({
    unet: new StandInUNet(),
    scheduler,
    timesteps: [30, 20],
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
