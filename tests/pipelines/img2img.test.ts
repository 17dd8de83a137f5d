import assert from "node:assert/strict";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { img2img } from "../../core/pipelines/img2img.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { CompVisPLMSSampler } from "../../core/schedulers/compvis_plms.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { ldmAlphasCumprod } from "../../core/schedulers/ldm_schedule.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { EulerDiscreteScheduler } from "../../core/schedulers/euler_discrete.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { samplerRun, StandInUNet, StandInVaeEncoder } from "./_standins.ts";
import { assertBitEqual } from "./_refs.ts";

const f32 = Math.fround;
const SD = { betaSchedule: "scaled_linear", betaStart: 0.00085, betaEnd: 0.012 } as const;
const SF = 0.18215;
const EMBEDS = new Tensor(new Float32Array([0.5]), [1, 1, 1]);

/** A deterministic [1, 3, 8, 8] image in [-1, 1]. */
function image(): Tensor {
  return new Tensor(Float32Array.from({ length: 192 }, (_, i) => f32(Math.sin(i * 0.37))), [
    1,
    3,
    8,
    8,
  ]);
}

/** scaling_factor * (mean + std * eps) for the stand-in encoder (factor 2, 4 channels). */
function handImageLatents(eps: Tensor): Tensor {
  const img = image();
  const out = new Float32Array(64);
  for (let c = 0; c < 4; c++) {
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const i = (c * 4 + y) * 4 + x;
        const mean = f32(f32(0.5 * img.data[((c % 3) * 8 + 2 * y) * 8 + 2 * x]) + f32(0.01 * c));
        const std = f32(Math.exp(f32(0.5 * f32(-2 - 0.5 * c))));
        out[i] = f32(f32(SF) * f32(mean + f32(std * eps.data[i])));
      }
    }
  }
  return new Tensor(out, [1, 4, 4, 4]);
}

Deno.test("img2img draws the VAE sample, then the noise; add_noise at the first kept timestep", async () => {
  const scheduler = new DDIMScheduler(SD);
  const result = await img2img({
    unet: new StandInUNet(),
    vaeEncoder: new StandInVaeEncoder(4, 2),
    ...samplerRun(scheduler, 8),
    prompt: { embeds: EMBEDS },
    steps: 10,
    guidanceScale: 1,
    image: image(),
    scalingFactor: SF,
    strength: 0.6,
  });
  const g = new TorchGenerator(8);
  const imageLatents = handImageLatents(g.randn([1, 4, 4, 4]));
  const noise = g.randn([1, 4, 4, 4]);
  assertBitEqual(result.imageLatents!, imageLatents, "imageLatents");
  assertBitEqual(result.noise!, noise, "noise");
  const ref = new DDIMScheduler(SD);
  ref.setTimesteps(10);
  assert.deepEqual(result.timesteps, ref.timesteps.slice(4));
  assertBitEqual(result.initLatents, ref.addNoise(imageLatents, noise, ref.timesteps[4]), "init");
  let x = result.initLatents;
  for (const t of result.timesteps) {
    const eps = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(0.5), k)), x.shape);
    x = ref.step(eps, t, x).prevSample;
  }
  assertBitEqual(result.latents, x, "final latents");
});

Deno.test("img2img startStep k gives the same run as the strength that starts at k", async () => {
  const run = (opts: { strength?: number; startStep?: number }) =>
    img2img({
      unet: new StandInUNet(),
      vaeEncoder: new StandInVaeEncoder(4, 2),
      ...samplerRun(new DDPMScheduler(SD), 4),
      prompt: { embeds: EMBEDS },
      steps: 10,
      guidanceScale: 1,
      image: image(),
      scalingFactor: SF,
      ...opts,
    });
  const a = await run({ strength: 0.7 });
  const b = await run({ startStep: 3 });
  assert.deepEqual(a.timesteps, b.timesteps);
  assertBitEqual(a.latents, b.latents, "strength 0.7 vs startStep 3");
  const c = await run({}); // diffusers' default strength 0.8: 8 of 10 steps
  assert.equal(c.timesteps.length, 8);
  await assert.rejects(
    () => run({ strength: 0.5, startStep: 3 }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "startStep",
  );
});

Deno.test("img2img with DDPM: the step noise comes after the VAE sample and the add_noise noise", async () => {
  const result = await img2img({
    unet: new StandInUNet(),
    vaeEncoder: new StandInVaeEncoder(4, 2),
    ...samplerRun(new DDPMScheduler(SD), 12),
    prompt: { embeds: EMBEDS },
    steps: 5,
    guidanceScale: 1,
    image: image(),
    scalingFactor: SF,
    strength: 1,
  });
  const g = new TorchGenerator(12);
  g.randn([1, 4, 4, 4]);
  g.randn([1, 4, 4, 4]);
  const ref = new DDPMScheduler(SD);
  ref.setTimesteps(5);
  let x = result.initLatents;
  for (const t of ref.timesteps) {
    const eps = new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(0.5), k)), x.shape);
    x = ref.step(eps, t, x, { generator: g }).prevSample;
  }
  assertBitEqual(result.latents, x, "final latents");
});

Deno.test("img2img sets the begin index of Euler before add_noise (StableDiffusionImg2ImgPipeline)", async () => {
  const scheduler = new EulerDiscreteScheduler(SD);
  const calls: string[] = [];
  const spy = new Proxy(scheduler, {
    get(target, key) {
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return v.apply(target, args);
      };
    },
  });
  const result = await img2img({
    unet: new StandInUNet(),
    vaeEncoder: new StandInVaeEncoder(4, 2),
    ...samplerRun(spy, 3),
    prompt: { embeds: EMBEDS },
    steps: 10,
    guidanceScale: 1,
    image: image(),
    scalingFactor: SF,
    strength: 0.5,
  });
  assert.deepEqual(calls.slice(0, 5), [
    "setTimesteps",
    "setBeginIndex",
    "addNoise",
    "scaleModelInput",
    "step",
  ]);
  assert.equal(calls.length, 3 + 2 * 5);
  const ref = new EulerDiscreteScheduler(SD);
  ref.setTimesteps(10);
  ref.setBeginIndex(5);
  assertBitEqual(
    result.initLatents,
    ref.addNoise(result.imageLatents!, result.noise!, result.timesteps[0]),
    "add_noise at the begin index",
  );
});

Deno.test("overrideImageLatents replaces the image latents after the VAE draw; the noise stays the same", async () => {
  const given = new TorchGenerator(77).randn([1, 4, 4, 4]);
  const run = (hooks = {}) =>
    img2img({
      unet: new StandInUNet(),
      vaeEncoder: new StandInVaeEncoder(4, 2),
      ...samplerRun(new DDIMScheduler(SD), 8),
      prompt: { embeds: EMBEDS },
      steps: 10,
      guidanceScale: 1,
      image: image(),
      scalingFactor: SF,
      strength: 0.6,
      hooks,
    });
  const plain = await run();
  const replaced = await run({ overrideImageLatents: () => given });
  assert.equal(replaced.imageLatents, given);
  assertBitEqual(replaced.noise!, plain.noise!, "noise unchanged");
  const ref = new DDIMScheduler(SD);
  ref.setTimesteps(10);
  assertBitEqual(replaced.initLatents, ref.addNoise(given, plain.noise!, ref.timesteps[4]), "init");
  await assert.rejects(
    () => run({ overrideImageLatents: () => Tensor.zeros([1, 4, 2, 2]) }),
    (e: unknown) => e instanceof PipelineInputError && e.field === "overrideImageLatents",
  );
});

Deno.test("img2img runs the CompVis PLMS sampler: the partial schedule starts with PLMS's two-call step", async () => {
  // CompVis' own img2img script (scripts/img2img.py) drives only its DDIM sampler: PLMSSampler
  // has no stochastic_encode or start step, so no CompVis reference of PLMS img2img can exist.
  // Ours is diffusers' img2img procedure with the PLMS stepper, checked here by hand.
  const alphas = ldmAlphasCumprod("linear", 0.00085, 0.012, 1000);
  const generator = new TorchGenerator(8);
  const records: StepRecord[] = [];
  const result = await img2img({
    unet: new StandInUNet(),
    vaeEncoder: new StandInVaeEncoder(4, 2),
    sampler: new CompVisPLMSSampler(alphas, 10),
    generator,
    prompt: { embeds: EMBEDS },
    steps: 10,
    guidanceScale: 1,
    image: image(),
    scalingFactor: SF,
    strength: 0.5,
    hooks: { onStep: (r) => void records.push(r) },
  });
  // int(10 * 0.5) = 5 steps kept: 401 ... 1; the restarted PLMS calls the model twice at first
  assert.deepEqual(result.timesteps, [401, 301, 301, 201, 101, 1]);
  const g = new TorchGenerator(8);
  const imageLatents = handImageLatents(g.randn([1, 4, 4, 4]));
  const noise = g.randn([1, 4, 4, 4]);
  assertBitEqual(result.imageLatents!, imageLatents, "imageLatents");
  // q_sample at t = 401, sqrt(a) * x0 + sqrt(1 - a) * noise in float32
  const a = alphas[401];
  const [sa, sb] = [f32(Math.sqrt(a)), f32(Math.sqrt(f32(1 - a)))];
  const init = new Tensor(
    imageLatents.data.map((v, i) => f32(f32(sa * v) + f32(sb * noise.data[i]))),
    [1, 4, 4, 4],
  );
  assertBitEqual(result.initLatents, init, "init latents");
  assertBitEqual(records[0].sample, init, "the first call runs on the noised image latents");
  // the same steps driven by hand from the init latents
  const ref = new CompVisPLMSSampler(alphas, 10);
  const eps = (x: Tensor, t: number) =>
    Promise.resolve(new Tensor(x.data.map((v, k) => StandInUNet.eps(v, t, f32(0.5), k)), x.shape));
  let x = init;
  for (let i = 5; i < 10; i++) x = (await ref.step(eps, x, i)).prevSample;
  assertBitEqual(result.latents, x, "final latents");
});

Deno.test("img2img refuses the float16 sampler mode (text2img only), naming the field", async () => {
  const { img2img } = await import("../../core/pipelines/img2img.ts");
  const { PipelineInputError } = await import("../../core/pipelines/errors.ts");
  await assert.rejects(
    img2img({ precision: "float16", steps: 2 } as Parameters<typeof img2img>[0]),
    (e) =>
      e instanceof PipelineInputError &&
      /img2img: precision: the float16 sampler mode runs text2img only; got float16/.test(
        e.message,
      ),
  );
});
