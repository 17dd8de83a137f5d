import assert from "node:assert/strict";
import { defineCase } from "../../core/harness/case.ts";
import { loadCaseInputs } from "../../core/harness/case_inputs.ts";
import { runPipeline } from "../../core/harness/phases.ts";
import { ieeeMath } from "../../core/numerics/f32_math.ts";
import { readModelGeometry } from "../../core/models/geometry.ts";
import { loadModelFolder } from "../../core/models/load_model_folder.ts";
import { unconditionalDenoiser } from "../../core/pipelines/denoiser.ts";
import { denoiseLoop } from "../../core/pipelines/loop.ts";
import type { StepRecord } from "../../core/pipelines/types.ts";
import { DDPMScheduler } from "../../core/schedulers/ddpm.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { makeUnconditionalFolder } from "./testing_folders.ts";

/** What fixtures/models-test/unet_unconditional.onnx computes: sample + t in float32. */
function formula(x: Tensor, t: number): Tensor {
  return new Tensor(x.data.map((v) => Math.fround(v + t)), x.shape);
}

Deno.test("a DDPMPipeline folder runs through denoiseLoop with DDPM and the unconditional denoiser", async () => {
  const root = await makeUnconditionalFolder();
  const m = await loadModelFolder(root);
  try {
    const g = await readModelGeometry(m.folder);
    const shape = [1, g.latentChannels, g.sampleSize, g.sampleSize];
    assert.deepEqual(shape, [1, 3, 2, 2]);
    const steps = 4;
    const scheduler = DDPMScheduler.fromConfig(m.schedulerConfig);
    const stepper = schedulerSampler(scheduler, { generator: new TorchGenerator(0) });
    stepper.setTimesteps(steps);
    const init = new TorchGenerator(1).randn(shape);
    const records: StepRecord[] = [];
    const out = await denoiseLoop({
      stepper,
      denoiser: unconditionalDenoiser(m.unet),
      sample: init,
      hooks: { onStep: (r) => void records.push(r) },
    });
    assert.deepEqual(out.timesteps, [...scheduler.timesteps]);
    assert.equal(records.length, steps);
    assert.equal(m.records().unet.runs, steps);
    // The first model call: the initial pixels (DDPM does not scale the model input) + t.
    const first = records[0];
    assert.deepEqual([...first.modelInput.data], [...init.data]);
    assert.deepEqual([...first.modelOutput.data], [...formula(init, first.t).data]);
    // The whole run equals the formula stepped by a fresh DDPM with the same generator.
    const ref = DDPMScheduler.fromConfig(m.schedulerConfig);
    ref.setTimesteps(steps);
    const generator = new TorchGenerator(0);
    let x = init;
    for (const t of ref.timesteps) x = ref.step(formula(x, t), t, x, { generator }).prevSample;
    assert.deepEqual([...out.sample.data], [...x.data]);
    assert.ok(out.sample.data.every(Number.isFinite));
  } finally {
    await m.release();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a case that encodes a prompt on a folder without a text encoder names the folder", async () => {
  const root = await makeUnconditionalFolder();
  try {
    const c = defineCase({
      name: "ddpm-prompt",
      model: root,
      pipeline: "text2img",
      sampler: { type: "DDPMScheduler" },
      steps: 2,
      prompt: "a cat",
      guidanceScale: 1,
      seed: 0,
    });
    const { inputs } = await loadCaseInputs(c, { manifest: null });
    try {
      // the pixel-space geometry: [1, unet in_channels, sample_size, sample_size]
      assert.deepEqual([inputs.latentShape, inputs.scalingFactor], [[1, 3, 2, 2], 1]);
      await assert.rejects(
        runPipeline(inputs, {}, null, true, ieeeMath),
        (e: unknown) =>
          e instanceof Error &&
          e.message ===
            `${root}: the model folder has no text encoder (and tokenizer) to encode the prompt ` +
              "of case 'ddpm-prompt' (model_index.json _class_name DDPMPipeline)",
      );
    } finally {
      await inputs.release();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
