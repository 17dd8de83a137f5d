import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { classifierFreeGuidance } from "../../core/pipelines/guidance.ts";
import { text2img } from "../../core/pipelines/text2img.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { unscaleLatents } from "../../core/pipelines/vae.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import type { Scheduler } from "../../core/schedulers/types.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import { toHalf } from "../../core/tensor/half_ops.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import {
  samplerRun,
  StandInTextEncoder,
  StandInTokenizer,
  StandInUNet,
  StandInVaeDecoder,
} from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const SHAPE = [1, 4, 4, 4];
const SD = { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 } as const;

/** Guided eps of the stand-in UNet for given embeddings (batch 2: uncond row first). */
function guided(x: Tensor, t: number, embeds: Tensor, scale: number): Tensor {
  const row = embeds.size / embeds.shape[0];
  const u = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, embeds.data[0], k)), x.shape);
  if (scale <= 1) return u;
  const c = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, embeds.data[row], k)), x.shape);
  return classifierFreeGuidance(u, c, scale);
}

/** text2img written out: one generator, initial latents first, then the step noise. */
function handText2Img(
  scheduler: Scheduler,
  seed: number,
  embeds: Tensor,
  scale: number,
  steps: number,
  eta?: number,
): Tensor {
  const g = new TorchGenerator(seed);
  scheduler.setTimesteps(steps);
  let x = g.randn(SHAPE); // init_noise_sigma = 1
  for (const t of scheduler.timesteps) {
    x = scheduler.step(guided(x, t, embeds, scale), t, x, { generator: g, eta }).prevSample;
  }
  return x;
}

Deno.test("text2img with DDPM: initial latents, then every step's noise, from the one generator", async () => {
  const embeds = new Tensor(new Float32Array([0.3, 0, -0.6, 0]), [2, 2, 1]);
  const result = await text2img({
    unet: new StandInUNet(),
    ...samplerRun(new DDPMScheduler(SD), 21),
    prompt: { embeds },
    steps: 8,
    guidanceScale: 7.5,
    latentShape: SHAPE,
  });
  assertBitEqual(result.initLatents, new TorchGenerator(21).randn(SHAPE), "initial latents");
  const expected = handText2Img(new DDPMScheduler(SD), 21, embeds, 7.5, 8);
  assertBitEqual(result.latents, expected, "final latents");
  assert.equal(result.timesteps.length, 8);
  assert.equal(result.image, undefined);
});

Deno.test("text2img with DDIM eta > 0 passes eta and the generator to step", async () => {
  const embeds = new Tensor(new Float32Array([0.3, -0.6]), [2, 1, 1]);
  const result = await text2img({
    unet: new StandInUNet(),
    ...samplerRun(new DDIMScheduler(SD), 5, 0.7),
    prompt: { embeds },
    steps: 6,
    guidanceScale: 3,
    latentShape: SHAPE,
  });
  const expected = handText2Img(new DDIMScheduler(SD), 5, embeds, 3, 6, 0.7);
  assertBitEqual(result.latents, expected, "final latents");
  const deterministic = handText2Img(new DDIMScheduler(SD), 5, embeds, 3, 6, 0);
  assert.notDeepEqual([...result.latents.data], [...deterministic.data]);
});

Deno.test("text2img from a prompt: encodes negative + positive, runs batch 2, decodes latents / scaling_factor", async () => {
  const tokenizer = new StandInTokenizer(5);
  const textEncoder = new StandInTextEncoder(2);
  const unet = new StandInUNet();
  const decoder = new StandInVaeDecoder(2);
  const records: StepRecord[] = [];
  const result = await text2img({
    unet,
    ...samplerRun(new DDIMScheduler(SD), 0),
    prompt: { tokenizer, textEncoder, prompt: "owl", negativePrompt: "fog" },
    steps: 4,
    guidanceScale: 6,
    latentShape: SHAPE,
    vaeDecoder: decoder,
    scalingFactor: 0.18215,
    hooks: { onStep: (r) => void records.push(r) },
  });
  assert.deepEqual(result.inputIds, [tokenizer.encode("fog"), tokenizer.encode("owl")]);
  assert.deepEqual(result.promptEmbeds.shape, [2, 5, 2]);
  assert.ok(unet.calls.every((c) => c.embeds === result.promptEmbeds && c.sample.shape[0] === 2));
  assert.equal(records.length, 4);
  assertBitEqual(
    result.latents,
    handText2Img(new DDIMScheduler(SD), 0, result.promptEmbeds, 6, 4),
    "final latents",
  );
  assertBitEqual(decoder.inputs[0], unscaleLatents(result.latents, 0.18215), "decoder input");
  assert.deepEqual(result.image?.shape, [1, 3, 8, 8]);
  assert.ok(result.timing.decodeMs >= 0 && result.timing.loopMs >= 0);
});

Deno.test("text2img with guidance 1: batch 1, no negative prompt encoded", async () => {
  const textEncoder = new StandInTextEncoder(2);
  const unet = new StandInUNet();
  await text2img({
    unet,
    ...samplerRun(new DDIMScheduler(SD), 0),
    prompt: { tokenizer: new StandInTokenizer(5), textEncoder, prompt: "owl" },
    steps: 2,
    guidanceScale: 1,
    latentShape: SHAPE,
  });
  assert.equal(textEncoder.calls.length, 1);
  assert.ok(unet.calls.every((c) => c.sample.shape[0] === 1 && c.embeds?.shape[0] === 1));
});

Deno.test("text2img refuses bad steps and a decoder without scaling factor", async () => {
  const base = {
    unet: new StandInUNet(),
    ...samplerRun(new DDIMScheduler(SD), 0),
    prompt: { embeds: Tensor.zeros([1, 1, 1]) },
    guidanceScale: 1,
    latentShape: SHAPE,
  };
  await assert.rejects(
    () => text2img({ ...base, steps: 0 }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "steps",
  );
  await assert.rejects(
    () => text2img({ ...base, steps: 2, vaeDecoder: new StandInVaeDecoder(2) }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "scalingFactor",
  );
});

Deno.test("text2img refuses a sampler drawing its step noise from another generator", async () => {
  const { sampler } = samplerRun(new DDPMScheduler(SD), 21);
  await assert.rejects(
    () =>
      text2img({
        unet: new StandInUNet(),
        sampler,
        generator: new TorchGenerator(21), // equal seed, but not the sampler's generator
        prompt: { embeds: new Tensor(new Float32Array([0.3]), [1, 1, 1]) },
        steps: 2,
        guidanceScale: 1,
        latentShape: SHAPE,
      }),
    /text2img: sampler: draws its step noise from another generator than the pipeline's/,
  );
});

Deno.test("text2img float16: half embeddings, half initial latents, half guidance and steps, half decode input", async () => {
  const tokenizer = new StandInTokenizer(5);
  const textEncoder = new StandInTextEncoder(2);
  const unet = new StandInUNet();
  const decoder = new StandInVaeDecoder(2);
  const generator = new TorchGenerator(3);
  const sampler = schedulerSampler(new DDIMScheduler(SD), { generator, precision: "float16" });
  const records: StepRecord[] = [];
  const result = await text2img({
    unet,
    sampler,
    generator,
    prompt: { tokenizer, textEncoder, prompt: "owl", negativePrompt: "fog" },
    steps: 4,
    guidanceScale: 6,
    latentShape: [1, 4, 8, 8],
    vaeDecoder: decoder,
    scalingFactor: 0.18215,
    precision: "float16",
    hooks: { onStep: (r) => void records.push(r) },
  });
  const half = (t: Tensor) => t.data.every((v) => Math.f16round(v) === v);
  assert.ok(half(result.promptEmbeds) && unet.calls.every((c) => c.embeds === result.promptEmbeds));
  assertBitEqual(result.initLatents, new TorchGenerator(3).randn([1, 4, 8, 8], "float16"), "init");
  assert.ok(records.every((r) => half(r.modelOutput) && half(r.prevSample)));
  // the loop by hand: the guided half output, the half DDIM step
  const ddim = new DDIMScheduler(SD);
  ddim.setTimesteps(4);
  let x = result.initLatents;
  for (const t of ddim.timesteps) {
    const u = toHalf(
      new Tensor(
        x.data.map((v, k) => StandInUNet.eps(v, t, result.promptEmbeds.data[0], k)),
        x.shape,
      ),
    );
    const row = result.promptEmbeds.size / 2;
    const c = toHalf(
      new Tensor(
        x.data.map((v, k) => StandInUNet.eps(v, t, result.promptEmbeds.data[row], k)),
        x.shape,
      ),
    );
    const eps = classifierFreeGuidance(u, c, 6, "float16");
    x = ddim.step(eps, t, x, { precision: "float16" }).prevSample;
  }
  assertBitEqual(result.latents, x, "final latents");
  assertBitEqual(
    decoder.inputs[0],
    unscaleLatents(result.latents, 0.18215, "float16"),
    "decoder input",
  );
  assert.ok(half(decoder.inputs[0]));
});
