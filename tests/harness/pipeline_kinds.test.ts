import assert from "node:assert/strict";
import { PIPELINE_KINDS } from "../../core/harness/pipeline_kinds.ts";
import { schedulerSampler } from "../../core/schedulers/scheduler_sampler.ts";
import { DDIMScheduler } from "../../core/schedulers/ddim.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";
import { StandInUNet } from "../pipelines/_standins.ts";

Deno.test("PIPELINE_KINDS: each kind's input files, and its own checks of the other fields", () => {
  assert.deepEqual(
    Object.entries(PIPELINE_KINDS).map(([k, d]) => [k, d.files]),
    [["text2img", []], ["img2img", ["image"]], ["inpaint", ["image", "mask"]]],
  );
  assert.equal(PIPELINE_KINDS.text2img.check({ pipeline: "text2img" }), null);
  assert.deepEqual(
    PIPELINE_KINDS.img2img.check({ pipeline: "img2img", image: "a.png", strength: 0 }),
    ["strength", "expected a number in (0, 1]"],
  );
  assert.equal(
    PIPELINE_KINDS.img2img.check({ pipeline: "img2img", image: "a.png", strength: 1 }),
    null,
  );
});

Deno.test("PIPELINE_KINDS runs text2img, and refuses img2img without a VAE encoder, naming it", async () => {
  const generator = new TorchGenerator(0);
  const common = {
    unet: new StandInUNet(),
    sampler: schedulerSampler(new DDIMScheduler()),
    generator,
    prompt: { embeds: new Tensor(new Float32Array([1]), [1, 1, 1]) },
    steps: 3,
    guidanceScale: 1,
    latentShape: [1, 4, 2, 2],
    scalingFactor: 0.18215,
  };
  const r = await PIPELINE_KINDS.text2img.run(common);
  assert.equal(r.timesteps.length, 3);
  await assert.rejects(
    () => PIPELINE_KINDS.img2img.run({ ...common, image: Tensor.zeros([1, 3, 4, 4]) }),
    /pipeline 'img2img' needs vae_encoder\/model.onnx/,
  );
});
