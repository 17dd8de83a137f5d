import assert from "node:assert/strict";
import { runInversion } from "../../core/harness/inversion_kinds.ts";
import { PIPELINE_KINDS } from "../../core/harness/pipeline_kinds.ts";
import { Tensor } from "../../core/tensor/tensor.ts";
import { TorchGenerator } from "../../core/tensor/torch_generator.ts";

Deno.test("PIPELINE_KINDS: the inversion kinds' checks name the field", () => {
  const ok = {
    pipeline: "inversion",
    sampler: { type: "DDIMScheduler" },
    inversion: { method: "tutorial" },
    image: "a.png",
    startStep: 2,
    steps: 10,
  };
  assert.equal(PIPELINE_KINDS.inversion.check(ok), null);
  const refused: [Record<string, unknown>, string, RegExp][] = [
    [{ sampler: { type: "PNDMScheduler" } }, "sampler.type", /samples back with DDIMScheduler/],
    [{ eta: 0.5 }, "eta", /DDIM with eta 0 only/],
    [
      { inversion: { method: "renoise" } },
      "inversion.method",
      /expected one of ddim.*got "renoise"/,
    ],
    [{ inversion: { method: "edict", mixing: 1.5 } }, "inversion.mixing", /\(0, 1\)/],
    [{ inversion: { method: "ddim" } }, "startStep", /only the tutorial's loop/],
    [{ startStep: -1 }, "startStep", /expected a whole number in 0\.\.7 \(the tutorial keeps 8/],
    [{ startStep: 8 }, "startStep", /expected a whole number in 0\.\.7/],
    [{ steps: 2, startStep: undefined }, "steps", /needs at least 3, got 2/],
    [
      { inversion: { method: "ddim" }, startStep: undefined, negativePrompt: "blurry" },
      "negativePrompt",
      /Pix2PixZero's invert\) take no negative prompt/,
    ],
    [
      { inversion: { method: "negative-prompt" }, startStep: undefined, negativePrompt: "x" },
      "negativePrompt",
      /samples with the prompt as the negative prompt/,
    ],
    [{ strength: 0.5 }, "strength", /takes no strength/],
    [{ useClippedModelOutput: true }, "useClippedModelOutput", /DDIMPipeline's option/],
  ];
  for (const [patch, field, problem] of refused) {
    const got = PIPELINE_KINDS.inversion.check({ ...ok, ...patch });
    assert.equal(got?.[0], field, JSON.stringify(patch));
    assert.match(got![1], problem);
  }
  const pixel = {
    ...ok,
    pipeline: "pixel-inversion",
    inversion: { method: "ddim" },
    startStep: undefined,
  };
  assert.equal(PIPELINE_KINDS["pixel-inversion"].check(pixel), null);
  assert.equal(PIPELINE_KINDS["pixel-inversion"].pixelImage, true);
  assert.deepEqual(
    PIPELINE_KINDS["pixel-inversion"].check({ ...pixel, inversion: { method: "negative-prompt" } }),
    ["inversion.method", "'negative-prompt' needs a prompt; pipeline 'pixel-inversion' has none"],
  );
  assert.equal(PIPELINE_KINDS["pixel-inversion"].check({ ...pixel, prompt: "a 3" })?.[0], "prompt");
  assert.equal(
    PIPELINE_KINDS["pixel-inversion"].check({
      ...pixel,
      inversion: { method: "ddim", latent: "sample" },
    })?.[0],
    "inversion.latent",
  );
});

Deno.test("runInversion: pixel-inversion refuses a latent model; a missing method is named", async () => {
  const unet = { predict: (x: Tensor) => Promise.resolve(x.clone()) };
  const base = {
    unet,
    sampler: undefined as never,
    generator: new TorchGenerator(0),
    steps: 4,
    latentShape: [1, 1, 2, 2],
    image: Tensor.zeros([1, 1, 2, 2]),
    schedulerConfig: { json: { clip_sample: false } },
  };
  const vaeEncoder = { encode: () => Promise.resolve(Tensor.zeros([1, 8, 1, 1])) };
  await assert.rejects(
    runInversion({ ...base, inversion: { method: "ddim" }, vaeEncoder }, true),
    /pixel-inversion: model: the model folder has a VAE \(a latent model\): use pipeline 'inversion'/,
  );
  await assert.rejects(
    runInversion(base, true),
    /pipeline 'pixel-inversion' needs an inversion method/,
  );
});
