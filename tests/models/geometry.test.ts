import assert from "node:assert/strict";
import { FileError } from "../../core/tensor/errors.ts";
import { readModelGeometry } from "../../core/models/geometry.ts";
import { readModelFolder } from "../../core/models/model_folder.ts";
import { makeUnconditionalFolder } from "./testing_folders.ts";

Deno.test("geometry of the shipped models follows their component configs", async () => {
  // tiny-sd: vae block_out_channels of 4 levels -> factor 8; tiny-sd-v: 3 levels -> factor 4.
  assert.deepEqual(await readModelGeometry(await readModelFolder("fixtures/models/tiny-sd")), {
    latentChannels: 4,
    vaeScaleFactor: 8,
    sampleSize: 16,
    scalingFactor: 0.18215,
  });
  const v = await readModelGeometry(await readModelFolder("fixtures/models/tiny-sd-v"));
  assert.deepEqual(v, {
    latentChannels: 6,
    vaeScaleFactor: 4,
    sampleSize: 12,
    scalingFactor: 0.13025,
  });
});

Deno.test("a missing or wrong vae config names the file and key", async () => {
  const dir = await Deno.makeTempDir();
  for (const d of ["text_encoder", "unet", "vae_decoder", "scheduler", "tokenizer"]) {
    await Deno.mkdir(`${dir}/${d}`, { recursive: true });
  }
  const src = "fixtures/models/tiny-sd";
  for (
    const f of [
      "model_index.json",
      "scheduler/scheduler_config.json",
      "unet/config.json",
      "tokenizer/vocab.json",
      "tokenizer/merges.txt",
      "tokenizer/tokenizer_config.json",
      "tokenizer/special_tokens_map.json",
    ]
  ) {
    await Deno.copyFile(`${src}/${f}`, `${dir}/${f}`).catch(() => {});
  }
  for (const d of ["text_encoder", "unet", "vae_decoder"]) {
    await Deno.writeFile(`${dir}/${d}/model.onnx`, new Uint8Array(1));
  }
  const folder = await readModelFolder(dir);
  // Missing in a Stable Diffusion folder: diffusers' ONNX pipeline defaults, each a warning.
  const assumed = await readModelGeometry(folder);
  assert.deepEqual([assumed.vaeScaleFactor, assumed.scalingFactor], [8, 0.18215]);
  assert.deepEqual(assumed.warnings?.length, 2);
  assert.match(
    assumed.warnings![0],
    /^VAE scale factor 8 assumed \(.*vae_decoder\/config\.json missing/,
  );
  // Missing in another pipeline's folder: an error naming the file.
  await assert.rejects(
    readModelGeometry({ ...folder, className: "LDMPipeline" }),
    (err: unknown) => {
      assert.ok(err instanceof FileError);
      assert.match(err.message, /vae_decoder\/config\.json/);
      return true;
    },
  );
  const vae = JSON.parse(await Deno.readTextFile(`${src}/vae_decoder/config.json`));
  vae.scaling_factor = "big";
  await Deno.writeTextFile(`${dir}/vae_decoder/config.json`, JSON.stringify(vae));
  await assert.rejects(
    readModelGeometry(folder),
    /vae_decoder\/config\.json: scaling_factor: expected a positive number, got "big"/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a pixel-space folder (no VAE): the UNet's channels, factor 1, scaling 1", async () => {
  const root = await makeUnconditionalFolder();
  try {
    const folder = await readModelFolder(root);
    assert.deepEqual(await readModelGeometry(folder), {
      latentChannels: 3,
      vaeScaleFactor: 1,
      sampleSize: 2,
      scalingFactor: 1,
    });
    // only unet/config.json is read, and it is still checked
    await Deno.writeTextFile(`${root}/unet/config.json`, JSON.stringify({ sample_size: 2 }));
    await assert.rejects(
      readModelGeometry(folder),
      /unet\/config\.json: in_channels: expected a positive integer, got undefined/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
