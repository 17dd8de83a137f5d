/**
 * The one loop driving the CompVis PLMS and labml DDIM samplers with the guided UNet (what
 * `samplerLoop` did before the core had one loop): one record per model call, PLMS's extra
 * call on its first step, the replay hooks per call, NaN detection; checked against the
 * samplers stepped by hand with the guided stand-in model written out here.
 */
import assert from "node:assert/strict";
import { guidedDenoiser } from "../../core/pipelines/denoiser.ts";
import { NonFiniteError, PipelineInputError } from "../../core/pipelines/errors.ts";
import { classifierFreeGuidance } from "../../core/pipelines/guidance.ts";
import { denoiseLoop } from "../../core/pipelines/loop.ts";
import { text2img } from "../../core/pipelines/text2img.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { LabmlDDIMSampler } from "../../core/schedulers/labml_ddim.ts";
import { ldmAlphasCumprod } from "../../core/schedulers/ldm_schedule.ts";
import type { Denoiser, StepOutput } from "../../core/schedulers/types.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const f32 = Math.fround;
const SHAPE = [1, 4, 3, 3];
const ALPHAS = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
const EMBEDS = new Tensor(new Float32Array([-0.4, 0.9]), [2, 1, 1]); // e00: -0.4 / 0.9

/** The guided stand-in UNet as a denoiser, written out here. */
const handModel: Denoiser = (x, t) => {
  const u = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(-0.4), k)), x.shape);
  const c = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(0.9), k)), x.shape);
  return Promise.resolve(classifierFreeGuidance(u, c, 6));
};

/** The sampler stepped by hand from x_T: every step's output and every model call. */
async function handRun(sampler: CompVisPLMSSampler | LabmlDDIMSampler, model = handModel) {
  const steps: StepOutput[] = [];
  const calls: { x: Tensor; t: number; eps: Tensor }[] = [];
  const recorded: Denoiser = async (x, t) => {
    const eps = await model(x, t);
    calls.push({ x, t, eps });
    return eps;
  };
  let x = new TorchGenerator(2).randn(SHAPE);
  for (let i = 0; i < sampler.timesteps.length; i++) {
    const step = await sampler.step(recorded, x, i);
    steps.push(step);
    x = step.prevSample;
  }
  return { out: x, steps, calls };
}

function loop(
  sampler: CompVisPLMSSampler | LabmlDDIMSampler,
  unet: StandInUNet,
  hooks: Parameters<typeof denoiseLoop>[0]["hooks"] = {},
) {
  return denoiseLoop({
    stepper: sampler,
    denoiser: guidedDenoiser(unet, EMBEDS, 6),
    sample: new TorchGenerator(2).randn(SHAPE),
    hooks,
  });
}

Deno.test("CompVis PLMS in the one loop: one record per model call, call 0's prevSample is the Euler estimate", async () => {
  const unet = new StandInUNet();
  const records: StepRecord[] = [];
  const result = await loop(new CompVisPLMSSampler(ALPHAS, 5), unet, {
    onStep: (r) => void records.push(r),
  });
  const hand = await handRun(new CompVisPLMSSampler(ALPHAS, 5));
  assertBitEqual(result.sample, hand.out, "final latents");
  assert.equal(unet.calls.length, 6);
  assert.deepEqual(records.map((r) => r.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(result.timesteps, [801, 601, 601, 401, 201, 1]);
  assert.deepEqual(records.map((r) => r.t), result.timesteps);
  const euler = hand.calls[1].x; // PLMS's second call on its first step runs at the estimate
  assertBitEqual(records[0].prevSample, euler, "call 0 -> Euler estimate");
  assertBitEqual(records[1].sample, euler, "call 1 runs at the estimate");
  assertBitEqual(records[1].modelOutput, hand.calls[1].eps, "call 1 eps");
  assertBitEqual(records[1].prevSample, hand.steps[0].prevSample, "call 1 -> x_prev of step 0");
  assert.equal(records[0].predOriginalSample, undefined);
  assertBitEqual(records[1].predOriginalSample!, hand.steps[0].predOriginalSample!, "pred x0");
  hand.steps.slice(1).forEach((s, j) => {
    assertBitEqual(records[j + 2].modelOutput, hand.calls[j + 2].eps, `eps of step ${j + 1}`);
    assertBitEqual(records[j + 2].prevSample, s.prevSample, `x_prev of step ${j + 1}`);
  });
  // the UNet got cat([x, x]) unscaled, and the embeddings as given
  assert.deepEqual([...unet.calls[2].sample.data.subarray(0, 36)], [...records[2].sample.data]);
  assert.deepEqual([...unet.calls[2].sample.data.subarray(36)], [...records[2].sample.data]);
  assert.equal(unet.calls[2].embeds, EMBEDS);
});

Deno.test("labml DDIM (quad) in the one loop: one call per step, the same result as by hand", async () => {
  const records: StepRecord[] = [];
  const result = await loop(
    new LabmlDDIMSampler(ALPHAS, 6, { discretize: "quad" }),
    new StandInUNet(),
    {
      onStep: (r) => void records.push(r),
    },
  );
  const hand = await handRun(new LabmlDDIMSampler(ALPHAS, 6, { discretize: "quad" }));
  assertBitEqual(result.sample, hand.out, "final latents");
  assert.deepEqual(result.timesteps, hand.calls.map((c) => c.t));
  records.forEach((r, i) => assertBitEqual(r.prevSample, hand.steps[i].prevSample, `step ${i}`));
});

Deno.test("loop overrides on PLMS: the extra call's model output, and the sample entering a step", async () => {
  const injected = new TorchGenerator(9).randn(SHAPE);
  const unet = new StandInUNet();
  const records: StepRecord[] = [];
  const result = await loop(new CompVisPLMSSampler(ALPHAS, 4), unet, {
    overrideModelOutput: (i) => (i === 1 ? injected : undefined),
    onStep: (r) => void records.push(r),
  });
  assert.equal(unet.calls.length, 4);
  assert.equal(records[1].modelOutputOverridden, true);
  let call = 0;
  const expected = await handRun(
    new CompVisPLMSSampler(ALPHAS, 4),
    (x, t) => call++ === 1 ? Promise.resolve(injected) : handModel(x, t),
  );
  assertBitEqual(result.sample, expected.out, "final latents with call 1 replaced");

  // replacing the sample entering step 2 (model call 3)
  const replacement = new TorchGenerator(5).randn(SHAPE);
  const recs: StepRecord[] = [];
  await loop(new CompVisPLMSSampler(ALPHAS, 4), new StandInUNet(), {
    overrideSample: (i) => (i === 3 ? replacement : undefined),
    onStep: (r) => void recs.push(r),
  });
  assert.equal(recs[3].sample, replacement);
  assert.deepEqual(recs.map((r) => r.sampleOverridden), [false, false, false, true, false]);
  const ref = new CompVisPLMSSampler(ALPHAS, 4);
  let x = new TorchGenerator(2).randn(SHAPE);
  for (let s = 0; s < 4; s++) {
    if (s === 2) x = replacement;
    x = (await ref.step(handModel, x, s)).prevSample;
  }
  assertBitEqual(recs[4].prevSample, x, "final latents from the replaced sample");
});

Deno.test("loop on the LDM samplers: a NaN names the model call; wrong override shapes are refused", async () => {
  const unet = new StandInUNet();
  unet.nanAtCall = 1;
  await assert.rejects(
    () => loop(new CompVisPLMSSampler(ALPHAS, 4), unet),
    (e: unknown) =>
      e instanceof NonFiniteError && e.stepIndex === 1 && e.timestep === 501 &&
      e.tensor === "modelOutput",
  );
  await assert.rejects(
    () =>
      loop(new LabmlDDIMSampler(ALPHAS, 4), new StandInUNet(), {
        overrideModelOutput: () => Tensor.zeros([1, 4]),
      }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "overrideModelOutput",
  );
});

Deno.test("text2img drives a CompVis sampler from x_T = randn (initNoiseSigma 1)", async () => {
  const result = await text2img({
    unet: new StandInUNet(),
    sampler: new CompVisPLMSSampler(ALPHAS, 5),
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
});
