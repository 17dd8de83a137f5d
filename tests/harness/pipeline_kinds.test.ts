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
    [
      ["text2img", []],
      ["img2img", ["image"]],
      ["inpaint", ["image", "mask"]],
      ["unconditional", []],
      ["inversion", ["image"]],
      ["pixel-inversion", ["image"]],
    ],
  );
  assert.deepEqual(
    Object.entries(PIPELINE_KINDS).map(([k, d]) => [k, d.prompt]),
    [
      ["text2img", true],
      ["img2img", true],
      ["inpaint", true],
      ["unconditional", false],
      ["inversion", true],
      ["pixel-inversion", false],
    ],
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

Deno.test("PIPELINE_KINDS.unconditional: DDPMPipeline / DDIMPipeline fields only, each refusal named", () => {
  const ok = { pipeline: "unconditional", sampler: { type: "DDPMScheduler" } };
  assert.equal(PIPELINE_KINDS.unconditional.check(ok), null);
  const ddim = { ...ok, sampler: { type: "DDIMScheduler" } };
  assert.equal(PIPELINE_KINDS.unconditional.check({ ...ddim, useClippedModelOutput: true }), null);
  const refused: [Record<string, unknown>, string, RegExp][] = [
    [{ prompt: "a cat" }, "prompt", /takes no prompt/],
    [{ negativePrompt: "" }, "negativePrompt", /takes no prompt/],
    [{ guidanceScale: 1 }, "guidanceScale", /takes no prompt/],
    [{ height: 16 }, "height", /unet\/config\.json sample_size/],
    [{ width: 16 }, "width", /unet\/config\.json sample_size/],
    [{ image: "a.png" }, "image", /starts from noise only/],
    [{ strength: 0.5 }, "strength", /starts from noise only/],
    [
      { sampler: { type: "PNDMScheduler" } },
      "sampler.type",
      /DDPMPipeline \(DDPMScheduler\) or DDIMPipeline/,
    ],
    [{ sampler: { type: "CompVisPLMS" } }, "sampler.type", /got "CompVisPLMS"/],
    [{ useClippedModelOutput: true }, "useClippedModelOutput", /DDPMScheduler runs DDPMPipeline/],
    [{ ...ddim, useClippedModelOutput: 1 }, "useClippedModelOutput", /expected a boolean/],
  ];
  for (const [patch, field, why] of refused) {
    const problem = PIPELINE_KINDS.unconditional.check({ ...ok, ...patch });
    assert.equal(problem?.[0], field, JSON.stringify(patch));
    assert.match(problem![1], why);
  }
  // and a prompt kind refuses DDIMPipeline's option
  assert.deepEqual(
    PIPELINE_KINDS.text2img.check({ pipeline: "text2img", useClippedModelOutput: true })?.[0],
    "useClippedModelOutput",
  );
});

Deno.test("PIPELINE_KINDS runs unconditional from the generator's draw, without a prompt", async () => {
  const generator = new TorchGenerator(4);
  const unet = new StandInUNet();
  const r = await PIPELINE_KINDS.unconditional.run({
    unet,
    sampler: schedulerSampler(new DDIMScheduler()),
    generator,
    steps: 3,
    latentShape: [1, 1, 2, 2],
  });
  assert.deepEqual([r.timesteps.length, r.promptEmbeds, r.image], [3, undefined, r.latents]);
  assert.deepEqual(r.initLatents.data, new TorchGenerator(4).randn([1, 1, 2, 2]).data);
  assert.ok(unet.calls.every((c) => c.embeds === undefined && c.sample.shape[0] === 1));
  // text2img without its prompt says what it needs
  await assert.rejects(
    PIPELINE_KINDS.text2img.run({
      unet,
      sampler: schedulerSampler(new DDIMScheduler()),
      generator,
      steps: 1,
      latentShape: [1, 4, 2, 2],
    }),
    /pipeline 'text2img' needs a prompt/,
  );
});
