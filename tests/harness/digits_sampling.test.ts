import assert from "node:assert/strict";
import { samplePromptedDigits, sampleUnconditional } from "../../core/harness/digits_sampling.ts";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { text2img } from "../../core/pipelines/text2img.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import { sliceBatch } from "../../core/tensor/ops.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { unconditionalFolder } from "./_digits_folders.ts";

Deno.test("sampleUnconditional wires the unconditional pipeline to a batch: one randn draw, then every step's noise from the same generator", async () => {
  const root = await unconditionalFolder(8);
  const model = await loadModelFolder(root);
  try {
    const config = JSON.parse(await Deno.readTextFile(`${root}/scheduler/scheduler_config.json`));
    for (
      const [name, make] of [["DDPMScheduler", DDPMScheduler], [
        "DDIMScheduler",
        DDIMScheduler,
      ]] as const
    ) {
      const seen: number[] = [];
      const { images } = await sampleUnconditional(model, {
        sampler: name,
        steps: 7,
        samples: 3,
        seed: 5,
        onStep: (done) => void seen.push(done),
      });
      // DDPMPipeline written out, with the UNet's formula out_sample = sample + t
      const scheduler = make.fromConfig(config);
      scheduler.setTimesteps(7);
      const generator = new TorchGenerator(5);
      let x = generator.randn([3, 3, 8, 8]);
      for (const t of scheduler.timesteps) {
        const eps = new Tensor(x.data.map((v) => Math.fround(v + t)), x.shape);
        x = scheduler.step(eps, t, x, { generator, eta: 0 }).prevSample;
      }
      assert.deepEqual(images.shape, [3, 3, 8, 8]);
      assert.deepEqual(images.data, x.data, name);
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7]);
    }
  } finally {
    await model.release();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("samplePromptedDigits: one text2img image per prompt and seed, row-major by prompt", async () => {
  const model = await loadModelFolder("fixtures/models/tiny-sd");
  try {
    const prompts = ["a handwritten digit 1", "a handwritten digit 7"];
    const { images } = await samplePromptedDigits(model, {
      prompts,
      seeds: [0, 3],
      guidanceScale: 5,
      steps: 2,
    });
    assert.deepEqual(images.shape, [4, 3, 128, 128]);
    // image 3 is prompt 1 with seed 3, as a direct text2img call with DDIM eta 0 makes it
    const generator = new TorchGenerator(3);
    const direct = await text2img({
      unet: model.unet,
      sampler: schedulerSampler(DDIMScheduler.fromConfig(model.schedulerConfig), {
        eta: 0,
        generator,
      }),
      generator,
      prompt: { tokenizer: model.tokenizer!, textEncoder: model.textEncoder!, prompt: prompts[1] },
      steps: 2,
      guidanceScale: 5,
      latentShape: [1, 4, 16, 16],
      vaeDecoder: model.vaeDecoder,
      scalingFactor: 0.18215,
    });
    assert.deepEqual(sliceBatch(images, 3, 4).data, direct.image!.data);
    assert.notDeepEqual(sliceBatch(images, 1, 2).data, direct.image!.data); // seed 3, prompt 0
  } finally {
    await model.release();
  }
});

Deno.test("samplePromptedDigits refuses a folder without a text encoder, naming it", async () => {
  const root = await unconditionalFolder();
  const model = await loadModelFolder(root);
  try {
    await assert.rejects(
      samplePromptedDigits(model, { prompts: ["x"], seeds: [0], guidanceScale: 5, steps: 2 }),
      (e) =>
        e instanceof Error && e.message.startsWith(root) &&
        /expected a Stable Diffusion folder/.test(e.message),
    );
  } finally {
    await model.release();
    await Deno.remove(root, { recursive: true });
  }
});
