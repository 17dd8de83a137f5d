import assert from "node:assert/strict";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { classifierFreeGuidance } from "../../core/pipelines/guidance.ts";
import { img2img } from "../../core/pipelines/img2img.ts";
import { isStepSampler, samplerLoop } from "../../core/pipelines/sampler_loop.ts";
import { text2img } from "../../core/pipelines/text2img.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import {
  ldmAlphasCumprod,
  type NoiseModel,
  runSampler,
  type SamplerStep,
} from "../../core/schedulers/sampler.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet, StandInVaeEncoder } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const f32 = Math.fround;
const SHAPE = [1, 4, 3, 3];
const ALPHAS = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
const EMBEDS = new Tensor(new Float32Array([-0.4, 0.9]), [2, 1, 1]); // e00: -0.4 / 0.9

/** The guided stand-in UNet as a NoiseModel, written out here. */
const handModel: NoiseModel = (x, t) => {
  const u = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(-0.4), k)), x.shape);
  const c = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(0.9), k)), x.shape);
  return Promise.resolve(classifierFreeGuidance(u, c, 6));
};

async function handRun(sampler: CompVisPLMSSampler | LabmlDDIMSampler, model = handModel) {
  const steps: SamplerStep[] = [];
  const out = await runSampler(sampler, model, new TorchGenerator(2).randn(SHAPE), (s) => {
    steps.push(s);
  });
  return { out, steps };
}

Deno.test("samplerLoop with CompVis PLMS: one record per model call, call 0's prevSample is the Euler estimate", async () => {
  const unet = new StandInUNet();
  const records: StepRecord[] = [];
  const sampler = new CompVisPLMSSampler(ALPHAS, 5);
  const result = await samplerLoop({
    unet,
    sampler,
    latents: new TorchGenerator(2).randn(SHAPE),
    embeds: EMBEDS,
    guidanceScale: 6,
    hooks: { onStep: (r) => void records.push(r) },
  });
  const hand = await handRun(new CompVisPLMSSampler(ALPHAS, 5));
  assertBitEqual(result.latents, hand.out, "final latents");
  assert.equal(unet.calls.length, 6);
  assert.deepEqual(records.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(result.timesteps, [801, 601, 601, 401, 201, 1]);
  assert.deepEqual(records.map((r) => r.t), result.timesteps);
  const [s0, ...rest] = hand.steps;
  assertBitEqual(records[0].prevSample, s0.extraCalls[0].x, "call 0 -> Euler estimate");
  assertBitEqual(records[1].sample, s0.extraCalls[0].x, "call 1 runs at the estimate");
  assertBitEqual(records[1].modelOutput, s0.extraCalls[0].eps, "call 1 eps");
  assertBitEqual(records[1].prevSample, s0.xPrev, "call 1 -> x_prev of step 0");
  assert.equal(records[0].predOriginalSample, undefined);
  assertBitEqual(records[1].predOriginalSample!, s0.predX0, "pred x0 of step 0");
  rest.forEach((s, j) => {
    assertBitEqual(records[j + 2].modelOutput, s.eps, `eps of step ${j + 1}`);
    assertBitEqual(records[j + 2].prevSample, s.xPrev, `x_prev of step ${j + 1}`);
  });
  // the UNet got cat([x, x]) unscaled, and the embeddings as given
  assert.deepEqual(records[2].modelInput.shape, [2, 4, 3, 3]);
  assert.deepEqual([...records[2].modelInput.data.subarray(0, 36)], [...records[2].sample.data]);
  assert.equal(unet.calls[2].embeds, EMBEDS);
});

Deno.test("samplerLoop with labml DDIM (quad): one call per step, same result as runSampler", async () => {
  const records: StepRecord[] = [];
  const result = await samplerLoop({
    unet: new StandInUNet(),
    sampler: new LabmlDDIMSampler(ALPHAS, 6, { discretize: "quad" }),
    latents: new TorchGenerator(2).randn(SHAPE),
    embeds: EMBEDS,
    guidanceScale: 6,
    hooks: { onStep: (r) => void records.push(r) },
  });
  const hand = await handRun(new LabmlDDIMSampler(ALPHAS, 6, { discretize: "quad" }));
  assertBitEqual(result.latents, hand.out, "final latents");
  assert.deepEqual(result.timesteps, hand.steps.map((s) => s.t));
  records.forEach((r, i) => assertBitEqual(r.prevSample, hand.steps[i].xPrev, `step ${i}`));
});

Deno.test("samplerLoop overrides: model output of the extra PLMS call, and the sample entering a step", async () => {
  const injected = new TorchGenerator(9).randn(SHAPE);
  const unet = new StandInUNet();
  const records: StepRecord[] = [];
  const result = await samplerLoop({
    unet,
    sampler: new CompVisPLMSSampler(ALPHAS, 4),
    latents: new TorchGenerator(2).randn(SHAPE),
    embeds: EMBEDS,
    guidanceScale: 6,
    hooks: {
      overrideModelOutput: (i) => (i === 1 ? injected : undefined),
      onStep: (r) => void records.push(r),
    },
  });
  assert.equal(unet.calls.length, 4);
  assert.equal(records[1].modelOutputOverridden, true);
  let call = 0;
  const expected = await handRun(
    new CompVisPLMSSampler(ALPHAS, 4),
    (x, t) => call++ === 1 ? Promise.resolve(injected) : handModel(x, t),
  );
  assertBitEqual(result.latents, expected.out, "final latents with call 1 replaced");

  // replacing the sample entering step 2 (model call 3)
  const replacement = new TorchGenerator(5).randn(SHAPE);
  const recs: StepRecord[] = [];
  await samplerLoop({
    unet: new StandInUNet(),
    sampler: new CompVisPLMSSampler(ALPHAS, 4),
    latents: new TorchGenerator(2).randn(SHAPE),
    embeds: EMBEDS,
    guidanceScale: 6,
    hooks: {
      overrideSample: (i) => (i === 3 ? replacement : undefined),
      onStep: (r) => void recs.push(r),
    },
  });
  assert.equal(recs[3].sample, replacement);
  assert.equal(recs[3].sampleOverridden, true);
  assert.deepEqual(recs.map((r) => r.sampleOverridden), [false, false, false, true, false]);
  const ref = new CompVisPLMSSampler(ALPHAS, 4);
  let x = new TorchGenerator(2).randn(SHAPE);
  for (let s = 0; s < 4; s++) {
    if (s === 2) x = replacement;
    x = (await ref.step(handModel, x)).xPrev;
  }
  assertBitEqual(recs[4].prevSample, x, "final latents from the replaced sample");
});

Deno.test("samplerLoop: a NaN names the model call; wrong override shapes are refused", async () => {
  const unet = new StandInUNet();
  unet.nanAtCall = 1;
  await assert.rejects(
    () =>
      samplerLoop({
        unet,
        sampler: new CompVisPLMSSampler(ALPHAS, 4),
        latents: new TorchGenerator(2).randn(SHAPE),
        embeds: EMBEDS,
        guidanceScale: 6,
      }),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 1 && e.timestep === 501 &&
      e.tensor === "modelOutput",
  );
  await assert.rejects(
    () =>
      samplerLoop({
        unet: new StandInUNet(),
        sampler: new LabmlDDIMSampler(ALPHAS, 4),
        latents: new TorchGenerator(2).randn(SHAPE),
        embeds: EMBEDS,
        guidanceScale: 6,
        hooks: { overrideModelOutput: () => Tensor.zeros([1, 4]) },
      }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "overrideModelOutput",
  );
});

Deno.test("text2img drives a StepSampler from x_T = randn (no sigma); img2img refuses one", async () => {
  const result = await text2img({
    unet: new StandInUNet(),
    scheduler: new CompVisPLMSSampler(ALPHAS, 5),
    generator: new TorchGenerator(2),
    prompt: { embeds: EMBEDS },
    steps: 5,
    guidanceScale: 6,
    latentShape: SHAPE,
  });
  const hand = await handRun(new CompVisPLMSSampler(ALPHAS, 5));
  assertBitEqual(result.initLatents, new TorchGenerator(2).randn(SHAPE), "x_T");
  assertBitEqual(result.latents, hand.out, "final latents");
  assert.equal(result.timesteps.length, 6);
  assert.ok(isStepSampler(new LabmlDDIMSampler(ALPHAS, 4)));
  assert.ok(!isStepSampler(new DDIMScheduler()));
  await assert.rejects(
    () =>
      text2img({
        unet: new StandInUNet(),
        scheduler: new CompVisPLMSSampler(ALPHAS, 5),
        generator: new TorchGenerator(2),
        prompt: { embeds: EMBEDS },
        steps: 5,
        guidanceScale: 6,
        eta: 0.5,
        latentShape: SHAPE,
      }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "eta",
  );
  await assert.rejects(
    () =>
      img2img({
        unet: new StandInUNet(),
        vaeEncoder: new StandInVaeEncoder(),
        // deliberately the wrong kind of sampler: the type says Scheduler
        scheduler: new CompVisPLMSSampler(ALPHAS, 5) as unknown as DDIMScheduler,
        generator: new TorchGenerator(2),
        prompt: { embeds: EMBEDS },
        steps: 5,
        guidanceScale: 6,
        image: Tensor.zeros([1, 3, 6, 6]),
        scalingFactor: 0.18215,
      }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "scheduler",
  );
});
