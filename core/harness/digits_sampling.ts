/**
 * Sampling for the digits study, as diffusers' own pipelines sample: the text-conditioned
 * model through `text2img` (StableDiffusionPipeline, one image per prompt and seed), and an
 * unconditional pixel-space model through `unconditional` (DDPMPipeline / DDIMPipeline, as verify
 * runs them, with a batch: one `randn` batch from one seed, the scheduler's steps drawing their noise
 * from the same generator, `(x / 2 + 0.5).clamp(0, 1)` left to the classifier's `"[-1,1]"`).
 *
 * @module
 */
import type { LoadedModel } from "../models/load_model_folder.ts";
import { readModelGeometry } from "../models/geometry.ts";
import { latentShape } from "../pipelines/latents.ts";
import { text2img } from "../pipelines/text2img.ts";
import { unconditional } from "../pipelines/unconditional.ts";
import { makeSampler } from "../schedulers/samplers.ts";
import { FileError } from "../tensor/errors.ts";
import { concat } from "../tensor/ops.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { TorchGenerator } from "../tensor/torch_generator.ts";

/**
 * Options of {@link samplePromptedDigits}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { PromptedSampling } from "./digits_sampling.ts";
 * const o: PromptedSampling = {
 *   prompts: ["a handwritten digit 0"], seeds: [0, 1], guidanceScale: 5, steps: 50,
 * };
 * assert.equal(o.prompts.length * o.seeds.length, 2);
 * ```
 */
export interface PromptedSampling {
  /** One row of images per prompt. */
  prompts: readonly string[];
  /** One image per seed (`TorchGenerator(seed)`, as `torch.Generator().manual_seed(seed)`). */
  seeds: readonly number[];
  /** Classifier-free guidance scale (<= 1: one batch, no negative prompt). */
  guidanceScale: number;
  /** DDIM steps (eta 0, the model's scheduler config). */
  steps: number;
  /** Called after each image with how many are done. */
  onImage?: (done: number, total: number) => void;
}

/**
 * The images a Stable Diffusion folder makes for each prompt and seed with DDIMScheduler
 * (from the model's `scheduler_config.json`, eta 0): `text2img` at the model's default size
 * (UNet `sample_size` x VAE factor), decoded. Returns them as [prompts x seeds, 3, H, W] in
 * [-1, 1] (the decoder's output), row-major by prompt, and the config warnings.
 *
 * @throws {FileError} naming the folder when it is not a Stable Diffusion folder.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModelFolder } from "../models/load_model_folder.ts";
 * import { samplePromptedDigits } from "./digits_sampling.ts";
 * const model = await loadModelFolder("fixtures/models/tiny-sd");
 * const { images } = await samplePromptedDigits(model, {
 *   prompts: ["a handwritten digit 3"], seeds: [0], guidanceScale: 5, steps: 2,
 * });
 * assert.deepEqual(images.shape, [1, 3, 128, 128]);
 * await model.release();
 * ```
 */
export async function samplePromptedDigits(
  model: LoadedModel,
  options: PromptedSampling,
): Promise<{ images: Tensor; warnings: string[] }> {
  const { tokenizer, textEncoder, vaeDecoder } = model;
  if (!tokenizer || !textEncoder || !vaeDecoder) {
    throw new FileError(
      model.folder.root,
      undefined,
      "expected a Stable Diffusion folder (tokenizer, text_encoder and vae_decoder) for the " +
        "prompted digits",
    );
  }
  const g = await readModelGeometry(model.folder);
  const pixels = g.sampleSize * g.vaeScaleFactor;
  const shape = latentShape(pixels, pixels, g.vaeScaleFactor, g.latentChannels);
  const source = model.folder.schedulerConfigPath;
  const images: Tensor[] = [];
  const warnings = new Set<string>(g.warnings ?? []);
  const total = options.prompts.length * options.seeds.length;
  for (const prompt of options.prompts) {
    for (const seed of options.seeds) {
      const generator = new TorchGenerator(seed);
      const sampler = makeSampler({ type: "DDIMScheduler" }, model.schedulerConfig, {
        steps: options.steps,
        eta: 0,
        generator,
        source,
      });
      for (const w of sampler.configWarnings) warnings.add(w);
      const result = await text2img({
        unet: model.unet,
        sampler,
        generator,
        prompt: { tokenizer, textEncoder, prompt },
        steps: options.steps,
        guidanceScale: options.guidanceScale,
        latentShape: shape,
        vaeDecoder,
        scalingFactor: g.scalingFactor,
      });
      images.push(result.image!);
      options.onImage?.(images.length, total);
    }
  }
  return { images: concat(images), warnings: [...warnings] };
}

/**
 * Options of {@link sampleUnconditional}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { UnconditionalSampling } from "./digits_sampling.ts";
 * const o: UnconditionalSampling = { sampler: "DDPMScheduler", steps: 1000, samples: 200, seed: 0 };
 * assert.equal(o.samples, 200);
 * ```
 */
export interface UnconditionalSampling {
  /** The scheduler class, configured from the model's `scheduler_config.json` (DDIM: eta 0). */
  sampler: "DDPMScheduler" | "DDIMScheduler";
  /** Inference steps. */
  steps: number;
  /** The batch: one `randn([samples, C, S, S])` draw. */
  samples: number;
  /** The generator's seed. */
  seed: number;
  /** Called after each step with how many are done. */
  onStep?: (done: number, total: number) => void;
}

/**
 * What diffusers' DDPMPipeline(batch_size=samples, generator=manual_seed(seed),
 * num_inference_steps=steps) computes before its postprocessing, with the folder's UNet and
 * the given scheduler class: x = randn([samples, C, S, S]) (C and S from the UNet config), then
 * per timestep `step(unet(x, t), t, x, generator)`. Returns x in [-1, 1] ([samples, C, S, S]) and
 * the config warnings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadModelFolder } from "../models/load_model_folder.ts";
 * import { sampleUnconditional } from "./digits_sampling.ts";
 * const root = await Deno.makeTempDir();
 * const index = { _class_name: "DDPMPipeline", unet: ["diffusers", "UNet2DModel"] };
 * await Deno.writeTextFile(`${root}/model_index.json`, JSON.stringify(index));
 * await Deno.mkdir(`${root}/unet`);
 * await Deno.copyFile("fixtures/models-test/unet_unconditional.onnx", `${root}/unet/model.onnx`);
 * await Deno.writeTextFile(`${root}/unet/config.json`, JSON.stringify({ in_channels: 3, sample_size: 8 }));
 * await Deno.mkdir(`${root}/scheduler`);
 * await Deno.writeTextFile(`${root}/scheduler/scheduler_config.json`, "{}");
 * const model = await loadModelFolder(root);
 * const { images } = await sampleUnconditional(model, { sampler: "DDIMScheduler", steps: 2, samples: 4, seed: 0 });
 * assert.deepEqual(images.shape, [4, 3, 8, 8]);
 * await model.release();
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function sampleUnconditional(
  model: LoadedModel,
  options: UnconditionalSampling,
): Promise<{ images: Tensor; warnings: string[] }> {
  const g = await readModelGeometry(model.folder);
  const generator = new TorchGenerator(options.seed);
  const sampler = makeSampler({ type: options.sampler }, model.schedulerConfig, {
    steps: options.steps,
    eta: 0,
    generator,
    source: model.folder.schedulerConfigPath,
  });
  const total = sampler.timesteps.length;
  // the pipeline verify runs (DDPMPipeline / DDIMPipeline), with a batch of `samples`
  const result = await unconditional({
    unet: model.unet,
    sampler,
    generator,
    steps: options.steps,
    imageShape: [options.samples, g.latentChannels, g.sampleSize, g.sampleSize],
    hooks: { onStep: (r) => options.onStep?.(r.index + 1, total) },
  });
  return { images: result.image!, warnings: [...(g.warnings ?? []), ...sampler.configWarnings] };
}
