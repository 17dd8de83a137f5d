import assert from "node:assert/strict";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { guidedDenoiser } from "../../core/pipelines/denoiser.ts";
import { encodePrompt } from "../../core/pipelines/prompt.ts";
import { subjectOf } from "../../core/harness/sampler_study_subjects.ts";
import { maxAbsDiff } from "../../core/harness/metrics.ts";
import { concat, sliceBatch } from "../../core/tensor/ops.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { FileError } from "../../core/tensor/errors.ts";

Deno.test("subjectOf, a text model: image i of the batch is guided by the prompt of digit i mod 10", async () => {
  const model = await loadModelFolder("fixtures/models/digits-sd", { vaeEncoder: false });
  try {
    const spec = {
      model: "fixtures/models/digits-sd",
      prompt: "a handwritten digit {k}",
      guidance: 5,
    };
    const s = await subjectOf(model, spec, 2, {});
    assert.deepEqual([s.shape, s.labels], [[4, 8, 8], [0, 1]]);
    const x = new TorchGenerator(0).randn([2, 4, 8, 8]);
    const batch = await s.denoiser(x, 500);
    // each image alone, as StableDiffusionPipeline with its own prompt guides it
    const alone = [];
    for (const k of [0, 1]) {
      const p = await encodePrompt(
        model.tokenizer!,
        model.textEncoder!,
        `a handwritten digit ${k}`,
        "",
        true,
      );
      alone.push(await guidedDenoiser(model.unet, p.embeds, 5)(sliceBatch(x, k, k + 1), 500));
    }
    assert.ok(maxAbsDiff(batch, concat(alone)) < 1e-5);
    // the other order of prompts gives other outputs: the rows are not interchangeable
    const swapped = await guidedDenoiser(
      model.unet,
      (await encodePrompt(model.tokenizer!, model.textEncoder!, "a handwritten digit 1", "", true))
        .embeds,
      5,
    )(sliceBatch(x, 0, 1), 500);
    assert.ok(maxAbsDiff(sliceBatch(batch, 0, 1), swapped) > 1e-3);
  } finally {
    await model.release();
  }
});

Deno.test("subjectOf refuses a text folder without a VAE decoder, naming the folder", async () => {
  const model = await loadModelFolder("fixtures/models/digits-sd", { vaeEncoder: false });
  try {
    const partial = { ...model, vaeDecoder: undefined, folder: model.folder, unet: model.unet };
    await assert.rejects(
      subjectOf(partial as typeof model, { model: "x" }, 1, {}),
      (e) =>
        e instanceof FileError && /digits-sd/.test(e.message) &&
        /Stable Diffusion folder/.test(e.message),
    );
  } finally {
    await model.release();
  }
});
