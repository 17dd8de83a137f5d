import assert from "node:assert/strict";
import type { UNetModel } from "../../core/models/types.ts";
import { mathTableFromTensors } from "../../core/numerics/f32_math.ts";
import { f32 } from "../../core/numerics/f32.ts";
import { PipelineInputError } from "../../core/pipelines/errors.ts";
import { tensorToImage } from "../../core/pipelines/image.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { unconditional } from "../../core/pipelines/unconditional.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { makeSampler } from "../../core/schedulers/samplers.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import type { Sampler } from "../../core/schedulers/types.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/tensor/safetensors.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { assertBitEqual, ulpReport } from "./_refs.ts";
import { StandInUNet } from "./_standins.ts";

/**
 * fixtures/refs/unconditional/: diffusers' own DDPMPipeline / DDIMPipeline calls under the
 * stand-in UNet (fixtures/gen/dump_unconditional_standin.py).
 */
const REFS = new URL("../../fixtures/refs/unconditional/", import.meta.url);
const RUNS = ["ddim_grey_eta0", "ddim_rgb_clipped", "ddpm_grey"];

/** StandInUNet's formula with e00 = 1 (no embeddings, the timestep term kept), as the dumper's. */
const standIn = (): UNetModel & { calls: number } => {
  const unet = {
    calls: 0,
    predict(x: Tensor, t: number, embeds?: Tensor): Promise<Tensor> {
      assert.equal(embeds, undefined, "an unconditional UNet gets no embeddings");
      unet.calls++;
      return Promise.resolve(
        new Tensor(x.data.map((v, i) => StandInUNet.eps(v, t, 1, i)), x.shape),
      );
    },
  };
  return unet;
};

/** Row `i` of a tensor stacked over steps, `[steps, ...shape]`. */
function row(stacked: Tensor, i: number): Tensor {
  const [, ...shape] = stacked.shape;
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(stacked.data.slice(i * n, (i + 1) * n), shape);
}

/** One reference run, and what the case fields of it would be. */
async function readRun(name: string) {
  const ref: SafetensorsFile = await readSafetensors(new URL(`${name}.safetensors`, REFS).pathname);
  const meta = ref.metadata;
  assert.equal(meta.format, "diffparity-unconditional-standin/1", name);
  const channels: number = JSON.parse(meta.in_channels);
  const size: number = JSON.parse(meta.sample_size);
  return {
    ref,
    pipeline: meta.pipeline as "DDPMPipeline" | "DDIMPipeline",
    config: JSON.parse(meta.config) as Record<string, unknown>,
    steps: JSON.parse(meta.steps) as number,
    eta: JSON.parse(meta.eta) as number | null,
    clipped: JSON.parse(meta.use_clipped_model_output) as boolean | null,
    seed: JSON.parse(meta.seed) as number,
    imageShape: [1, channels, size, size],
    math: mathTableFromTensors((n) => ref.has(n) ? ref.tensor(n).data : undefined, name),
  };
}

/**
 * Our run of a reference's settings, as the runner makes it: the sampler from the case's
 * sampler type over the scheduler config the pipeline was given (DDIMPipeline's
 * `DDIMScheduler.from_config` is `makeSampler`'s `DDIMScheduler.fromConfig` of that config),
 * one generator for the initial image and the step noise.
 */
async function ours(run: Awaited<ReturnType<typeof readRun>>, clipped = run.clipped) {
  const generator = new TorchGenerator(run.seed);
  const type = run.pipeline === "DDPMPipeline" ? "DDPMScheduler" : "DDIMScheduler";
  const sampler = makeSampler({ type }, run.config, {
    steps: run.steps,
    eta: run.eta ?? undefined,
    generator,
    math: run.math ?? undefined,
    useClippedModelOutput: clipped ?? undefined,
  });
  const unet = standIn();
  const records: StepRecord[] = [];
  const result = await unconditional({
    unet,
    sampler,
    generator,
    steps: run.steps,
    imageShape: run.imageShape,
    hooks: { onStep: (r) => void records.push(r) },
  });
  return { result, records, unet };
}

Deno.test("unconditional reproduces diffusers' DDPMPipeline and DDIMPipeline step for step, 0 ulp", async () => {
  const found: string[] = [];
  for await (const e of Deno.readDir(REFS)) found.push(e.name.replace(/\.safetensors$/, ""));
  assert.deepEqual(found.sort(), RUNS, "the runs of dump_unconditional_standin.py");
  for (const name of RUNS) {
    const run = await readRun(name);
    assert.ok(run.math, `${name}: no recorded math`);
    const { result, records, unet } = await ours(run);
    // the initial image: randn_tensor(image_shape, generator), no init_noise_sigma
    assertBitEqual(result.initLatents, run.ref.tensor("init_image"), `${name}: initial image`);
    assert.deepEqual(result.timesteps, run.ref.ints("timesteps"), `${name}: timesteps`);
    assert.equal(unet.calls, run.steps, `${name}: one UNet call per step`);
    const outputs = run.ref.tensor("model_output");
    const prevs = run.ref.tensor("prev_sample");
    const off: string[] = [];
    records.forEach((r, i) => {
      // no scale_model_input: the UNet sees the step's sample
      assert.equal(r.modelInput, r.sample, `${name}: step ${i} model input`);
      const m = ulpReport(r.modelOutput, row(outputs, i));
      const p = ulpReport(r.prevSample, row(prevs, i));
      if (m.maxUlp > 0 || p.maxUlp > 0) {
        off.push(`step ${i} (t=${r.t}): modelOutput ${m.maxUlp} ulp, prevSample ${p.maxUlp} ulp`);
      }
    });
    assert.deepEqual(off, [], `${name}: steps that differ from diffusers`);
    assert.equal(run.math.misses, 0, `${name}: sqrt inputs diffusers never had`);
    // the image is the final sample; (image / 2 + 0.5).clamp(0, 1) of it is the pipeline's output
    assert.equal(result.image, result.latents);
    const [, c, h, w] = run.imageShape;
    const denorm = run.ref.tensor("image"); // NHWC
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        const x = result.latents.data[ch * h * w + p];
        const y = Math.min(Math.max(f32(f32(x / 2) + 0.5), 0), 1);
        assert.equal(y, denorm.data[p * c + ch], `${name}: image element ${p} channel ${ch}`);
      }
    }
    // and the picture, numpy_to_pil's bytes (mode "L" for one channel)
    const picture = tensorToImage(result.image!);
    assert.equal(picture.channels, c, name);
    const u8 = run.ref.tensor("image_u8"); // NCHW
    const chw = Array.from(
      { length: c * h * w },
      (_, k) => picture.data[(k % (h * w)) * c + Math.floor(k / (h * w))],
    );
    assert.deepEqual(chw, [...u8.data], `${name}: image_u8`);
  }
});

Deno.test("the references tell the unconditional semantics apart: clipped model output, step noise, sigma", async () => {
  // DDIMPipeline's use_clipped_model_output changes the run: without it we would not match
  const clipped = await readRun("ddim_rgb_clipped");
  const plain = await ours(clipped, false);
  assert.ok(
    ulpReport(plain.result.latents, row(clipped.ref.tensor("prev_sample"), clipped.steps - 1))
      .maxUlp > 0,
  );
  // DDPMPipeline passes the generator to step: another generator for the steps ends elsewhere
  const ddpm = await readRun("ddpm_grey");
  const generator = new TorchGenerator(ddpm.seed);
  const other = DDPMScheduler.fromConfig(ddpm.config, "ddpm_grey", ddpm.math ?? undefined);
  await assert.rejects(
    unconditional({
      unet: standIn(),
      sampler: schedulerSampler(other, { generator: new TorchGenerator(ddpm.seed) }),
      generator,
      steps: ddpm.steps,
      imageShape: ddpm.imageShape,
    }),
    /generator/,
  );
  // the initial image is the draw itself (DDPMPipeline multiplies by no init_noise_sigma): a
  // sampler whose sigma is not 1 still starts from the unscaled draw
  const base = schedulerSampler(other, { generator });
  const sigma2: Sampler = {
    get timesteps() {
      return base.timesteps;
    },
    initNoiseSigma: 2,
    generator,
    setTimesteps: (n) => base.setTimesteps(n),
    addNoise: (x, noise, t) => base.addNoise(x, noise, t),
    step: (denoise, x, i) => base.step(denoise, x, i),
  };
  const start = await unconditional({
    unet: standIn(),
    sampler: sigma2,
    generator,
    steps: 1,
    imageShape: ddpm.imageShape,
  });
  assertBitEqual(start.initLatents, ddpm.ref.tensor("init_image"), "unscaled initial image");
});

Deno.test("unconditional refuses a bad image shape and step count, naming the field", async () => {
  const generator = new TorchGenerator(0);
  const base = {
    unet: standIn(),
    sampler: schedulerSampler(new DDPMScheduler(), { generator }),
    generator,
    steps: 2,
  };
  await assert.rejects(
    unconditional({ ...base, imageShape: [1, 16, 16] }),
    (e: unknown) =>
      e instanceof PipelineInputError &&
      /imageShape: expected \[batch, channels, height, width\]/.test(e.message),
  );
  await assert.rejects(
    unconditional({ ...base, imageShape: [1, 1, 4, 4], steps: 0 }),
    (e: unknown) =>
      e instanceof PipelineInputError && /steps: expected a positive integer/.test(e.message),
  );
});
