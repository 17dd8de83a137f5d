import assert from "node:assert/strict";
import { join } from "node:path";
import { FileError } from "../../core/tensor/errors.ts";
import { readModelFolder } from "../../core/models/model_folder.ts";
import {
  DDPM_MODEL_INDEX,
  makeTestFolder,
  makeUnconditionalFolder,
  MODEL_INDEX,
} from "./testing_folders.ts";

async function withFolder(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await makeTestFolder();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function withUnconditional(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await makeUnconditionalFolder();
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function rejectsWith(p: Promise<unknown>, file: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof FileError, String(e));
    assert.equal(e.file, file);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("an optimum folder: components, scheduler config and tokenizer are found", async () => {
  await withFolder(async (root) => {
    const f = await readModelFolder(root);
    assert.equal(f.className, "ORTStableDiffusionPipeline");
    assert.deepEqual(f.components, {
      text_encoder: join(root, "text_encoder", "model.onnx"),
      unet: join(root, "unet", "model.onnx"),
      vae_encoder: join(root, "vae_encoder", "model.onnx"),
      vae_decoder: join(root, "vae_decoder", "model.onnx"),
    });
    assert.equal(f.schedulerConfigPath, join(root, "scheduler", "scheduler_config.json"));
    assert.equal(f.schedulerConfig["_class_name"], "DDIMScheduler");
    assert.equal(f.tokenizerDir, join(root, "tokenizer"));
  });
});

Deno.test("the real tiny-sd folder reads (diffusers-style model_index.json)", async () => {
  const f = await readModelFolder("fixtures/models/tiny-sd");
  assert.equal(f.className, "StableDiffusionPipeline");
  assert.equal(f.components.vae_encoder, "fixtures/models/tiny-sd/vae_encoder/model.onnx");
  const fp16 = await readModelFolder("fixtures/models/tiny-sd", {
    unet: "fixtures/models/tiny-sd-unet-fp16/model.onnx",
  });
  assert.equal(fp16.components.unet, "fixtures/models/tiny-sd-unet-fp16/model.onnx");
});

Deno.test("a missing or non-folder root says what a model folder holds", async () => {
  await rejectsWith(
    readModelFolder("fixtures/models/no-such-model"),
    "fixtures/models/no-such-model",
    /no such folder \(expected an `optimum-cli export onnx` Stable Diffusion folder\)/,
  );
  await rejectsWith(
    readModelFolder("deno.json"),
    "deno.json",
    /not a folder/,
  );
});

Deno.test("model_index.json: missing, not JSON, not an object, no _class_name", async () => {
  await withFolder(async (root) => {
    const index = join(root, "model_index.json");
    await Deno.remove(index);
    await rejectsWith(readModelFolder(root), index, /missing \(expected .*pipeline index/);
    await Deno.writeTextFile(index, "{ not json");
    await rejectsWith(readModelFolder(root), index, /not valid JSON \(.*\); expected/);
    await Deno.writeTextFile(index, "[1, 2]");
    await rejectsWith(readModelFolder(root), index, /expected a JSON object/);
    await Deno.writeTextFile(index, JSON.stringify({ ...MODEL_INDEX, _class_name: 3 }));
    await rejectsWith(
      readModelFolder(root),
      index,
      /model_index\.json: _class_name: got 3 \(expected the pipeline class name/,
    );
  });
});

Deno.test("model_index.json: a malformed or null component entry names the key", async () => {
  await withFolder(async (root) => {
    const index = join(root, "model_index.json");
    await Deno.writeTextFile(index, JSON.stringify({ ...MODEL_INDEX, unet: ["diffusers"] }));
    await rejectsWith(
      readModelFolder(root),
      index,
      /: unet: got \["diffusers"\] \(expected \[library, class\] such as \["diffusers", "OnnxRuntimeModel"\], or \[null, null\] when absent\)/,
    );
    await Deno.writeTextFile(index, JSON.stringify({ ...MODEL_INDEX, text_encoder: [null, null] }));
    await rejectsWith(
      readModelFolder(root),
      index,
      /: text_encoder: is \[null, null\] but the pipelines need the CLIP text encoder's ONNX graph/,
    );
  });
});

Deno.test("a missing component file names the path and what it should hold", async () => {
  await withFolder(async (root) => {
    const unet = join(root, "unet", "model.onnx");
    await Deno.remove(unet);
    await rejectsWith(
      readModelFolder(root),
      unet,
      /: missing \(model_index\.json lists unet; expected the UNet's ONNX graph\)/,
    );
  });
  await withFolder(async (root) => {
    // Not listed in model_index.json and absent: the VAE encoder is optional.
    await Deno.remove(join(root, "vae_encoder"), { recursive: true });
    const { vae_encoder: _, ...rest } = MODEL_INDEX;
    await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(rest));
    const f = await readModelFolder(root);
    assert.equal(f.components.vae_encoder, undefined);
    // Listed but absent: an error.
    await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(MODEL_INDEX));
    await rejectsWith(
      readModelFolder(root),
      join(root, "vae_encoder", "model.onnx"),
      /missing \(model_index\.json lists vae_encoder; expected the VAE encoder's ONNX graph\)/,
    );
  });
  await withFolder(async (root) => {
    const other = join(root, "elsewhere.onnx");
    await rejectsWith(
      readModelFolder(root, { unet: other }),
      other,
      /missing \(the UNet file given instead of unet\/model\.onnx; expected the UNet's ONNX graph\)/,
    );
  });
});

Deno.test("a missing scheduler config or tokenizer folder is named", async () => {
  await withFolder(async (root) => {
    const config = join(root, "scheduler", "scheduler_config.json");
    await Deno.writeTextFile(config, "nope");
    await rejectsWith(readModelFolder(root), config, /not valid JSON/);
    await Deno.remove(config);
    await rejectsWith(
      readModelFolder(root),
      config,
      /missing \(expected the diffusers scheduler config/,
    );
  });
  await withFolder(async (root) => {
    const tok = join(root, "tokenizer");
    await Deno.remove(tok, { recursive: true });
    await rejectsWith(
      readModelFolder(root),
      tok,
      /missing \(expected the CLIP tokenizer folder: tokenizer\.json, or vocab\.json \+ merges\.txt/,
    );
  });
});

Deno.test("a Stable Diffusion folder still needs its text encoder and VAE decoder unlisted", async () => {
  for (const key of ["text_encoder", "vae_decoder"] as const) {
    await withFolder(async (root) => {
      await Deno.remove(join(root, key), { recursive: true });
      const { [key]: _, ...rest } = MODEL_INDEX;
      await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(rest));
      await rejectsWith(
        readModelFolder(root),
        join(root, key, "model.onnx"),
        /: missing \(every Stable Diffusion folder has it; expected the (CLIP text encoder|VAE decoder)'s ONNX graph\)$/,
      );
    });
  }
});

Deno.test("a DDPMPipeline folder (unet and scheduler only) reads without text encoder, tokenizer or VAE", async () => {
  await withUnconditional(async (root) => {
    const f = await readModelFolder(root);
    assert.equal(f.className, "DDPMPipeline");
    assert.deepEqual(f.components, { unet: join(root, "unet", "model.onnx") });
    assert.equal(f.tokenizerDir, undefined);
    assert.equal("tokenizerDir" in f, false);
    assert.equal(f.schedulerConfig["_class_name"], "DDPMScheduler");
    // [null, null] entries are absent components, not errors, outside Stable Diffusion.
    const index = join(root, "model_index.json");
    await Deno.writeTextFile(
      index,
      JSON.stringify({ ...DDPM_MODEL_INDEX, text_encoder: [null, null], vae: [null, null] }),
    );
    assert.deepEqual((await readModelFolder(root)).components, {
      unet: join(root, "unet", "model.onnx"),
    });
    // the UNet is needed whatever the class
    await Deno.writeTextFile(index, JSON.stringify({ ...DDPM_MODEL_INDEX, unet: [null, null] }));
    await rejectsWith(
      readModelFolder(root),
      index,
      /: unet: is \[null, null\] but the pipelines need the UNet's ONNX graph/,
    );
    await Deno.writeTextFile(index, JSON.stringify(DDPM_MODEL_INDEX));
    await Deno.remove(join(root, "unet", "model.onnx"));
    await rejectsWith(
      readModelFolder(root),
      join(root, "unet", "model.onnx"),
      /: missing \(model_index\.json lists unet; expected the UNet's ONNX graph\)$/,
    );
  });
});

Deno.test("a non-Stable-Diffusion folder needs what its model_index.json lists", async () => {
  await withUnconditional(async (root) => {
    const index = join(root, "model_index.json");
    const listing = (extra: Record<string, unknown>) =>
      Deno.writeTextFile(index, JSON.stringify({ ...DDPM_MODEL_INDEX, ...extra }));
    await listing({ text_encoder: ["transformers", "CLIPTextModel"] });
    await rejectsWith(
      readModelFolder(root),
      join(root, "text_encoder", "model.onnx"),
      /: missing \(model_index\.json lists text_encoder; expected the CLIP text encoder's ONNX graph\)$/,
    );
    await listing({ vae: ["diffusers", "AutoencoderKL"] });
    await rejectsWith(
      readModelFolder(root),
      join(root, "vae_decoder", "model.onnx"),
      /: missing \(model_index\.json lists vae; expected the VAE decoder's ONNX graph\)$/,
    );
    await listing({ tokenizer: ["transformers", "CLIPTokenizer"] });
    await rejectsWith(
      readModelFolder(root),
      join(root, "tokenizer"),
      /missing \(expected the CLIP tokenizer folder/,
    );
    // A component present on disk is found even when the index does not list it.
    await listing({});
    await Deno.mkdir(join(root, "vae_decoder"));
    await Deno.copyFile(
      "fixtures/models-test/vae_decoder.onnx",
      join(root, "vae_decoder", "model.onnx"),
    );
    assert.equal(
      (await readModelFolder(root)).components.vae_decoder,
      join(root, "vae_decoder", "model.onnx"),
    );
  });
});
