/**
 * Test helpers: a temporary optimum-layout model folder assembled from the tiny graphs of
 * fixtures/models-test, with a hand-made 10-token CLIP tokenizer. Its ids come from transformers'
 * CLIPTokenizer on the same folder: fixtures/refs/tokenizer/tiny_vocab.json, written by
 * fixtures/gen/dump_tokenizer_tiny.py ({@link readTinyVocabReference}; the tests check that the
 * vocabulary and merges recorded there are {@link TINY_VOCAB} and {@link TINY_MERGES}).
 *
 * @module
 */
import { join } from "node:path";

/** A 10-token CLIP vocabulary: bytes a, c, t; end-of-word forms; two merges; specials 8 and 9. */
export const TINY_VOCAB: Readonly<Record<string, number>> = Object.freeze({
  "a": 0,
  "c": 1,
  "t": 2,
  "a</w>": 3,
  "t</w>": 4,
  "ca": 5,
  "cat</w>": 6,
  "!</w>": 7,
  "<|startoftext|>": 8,
  "<|endoftext|>": 9,
});

/** merges.txt of the tiny tokenizer. */
export const TINY_MERGES = "#version: 0.2\nc a\nca t</w>\n";

/**
 * Writes the tiny tokenizer (vocab.json, merges.txt, tokenizer_config.json with
 * model_max_length 8) into `dir`.
 */
export async function writeTinyTokenizer(
  dir: string,
  config: Record<string, unknown> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "vocab.json"), JSON.stringify(TINY_VOCAB));
  await Deno.writeTextFile(join(dir, "merges.txt"), TINY_MERGES);
  await Deno.writeTextFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ model_max_length: 8, ...config }),
  );
}

/** One prompt of fixtures/refs/tokenizer/tiny_vocab.json. */
export interface TinyVocabPrompt {
  prompt: string;
  /** `tokenizer(prompt, padding="max_length", max_length=8, truncation=True).input_ids` */
  input_ids: number[];
  /** `tokenizer(prompt, add_special_tokens=False).input_ids` */
  text_ids: number[];
}

/** One folder variant of fixtures/refs/tokenizer/tiny_vocab.json. */
export interface TinyVocabConfig {
  /** The files of the folder transformers loaded, name -> text. */
  files: Record<string, string>;
  pad_token: string;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  prompts: TinyVocabPrompt[];
}

/** fixtures/refs/tokenizer/tiny_vocab.json (fixtures/gen/dump_tokenizer_tiny.py). */
export interface TinyVocabReference {
  model_max_length: number;
  vocab: Record<string, number>;
  merges: string;
  /** `default`, `config_pad` and `map_pad` (see the dumper's docstring). */
  configs: Record<string, TinyVocabConfig>;
}

/**
 * Reads the transformers ids of the tiny tokenizer, fixtures/refs/tokenizer/tiny_vocab.json.
 *
 * @example
 * ```ts
 * import { readTinyVocabReference } from "./testing_folders.ts";
 * const ref = await readTinyVocabReference();
 * ref.configs.default.prompts[0].input_ids; // [8, 3, 6, 7, 9, 9, 9, 9] ("a cat!")
 * ```
 */
export async function readTinyVocabReference(): Promise<TinyVocabReference> {
  const url = new URL("../../fixtures/refs/tokenizer/tiny_vocab.json", import.meta.url);
  return JSON.parse(await Deno.readTextFile(url)) as TinyVocabReference;
}

/** An optimum model_index.json of a Stable Diffusion ONNX export. */
export const MODEL_INDEX = {
  _class_name: "ORTStableDiffusionPipeline",
  _diffusers_version: "0.42.1",
  feature_extractor: [null, null],
  safety_checker: [null, null],
  scheduler: ["diffusers", "DDIMScheduler"],
  text_encoder: ["diffusers", "OnnxRuntimeModel"],
  tokenizer: ["transformers", "CLIPTokenizer"],
  unet: ["diffusers", "OnnxRuntimeModel"],
  vae_decoder: ["diffusers", "OnnxRuntimeModel"],
  vae_encoder: ["diffusers", "OnnxRuntimeModel"],
};

/**
 * A temporary model folder in optimum's layout built from fixtures/models-test graphs
 * (text_encoder_int64, unet_int64, vae_encoder, vae_decoder) and the tiny tokenizer. Remove it
 * with `Deno.remove(dir, { recursive: true })`.
 */
export async function makeTestFolder(): Promise<string> {
  return await sdFolder("diffparity-model-", MODEL_INDEX, [
    ["text_encoder", "text_encoder_int64.onnx"],
    ["unet", "unet_int64.onnx"],
    ["vae_encoder", "vae_encoder.onnx"],
    ["vae_decoder", "vae_decoder.onnx"],
  ]);
}

/**
 * model_index.json of a diffusers `DDPMPipeline` (an unconditional pixel-space model).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DDPM_MODEL_INDEX } from "./testing_folders.ts";
 * assert.equal("text_encoder" in DDPM_MODEL_INDEX, false);
 * ```
 */
export const DDPM_MODEL_INDEX = {
  _class_name: "DDPMPipeline",
  _diffusers_version: "0.42.1",
  scheduler: ["diffusers", "DDPMScheduler"],
  unet: ["diffusers", "UNet2DModel"],
};

/**
 * A temporary `DDPMPipeline` folder in optimum's layout: model_index.json listing only `unet` and
 * `scheduler`, `unet/model.onnx` (fixtures/models-test/unet_unconditional.onnx:
 * out_sample = sample + t on [B,3,H,W]) with its `config.json` (3 channels, sample size 2),
 * and `scheduler/scheduler_config.json` (a DDPMScheduler); no text encoder, tokenizer or VAE.
 * Remove it with `Deno.remove(dir, { recursive: true })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeUnconditionalFolder } from "./testing_folders.ts";
 * const root = await makeUnconditionalFolder();
 * assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name).sort(), [
 *   "model_index.json",
 *   "scheduler",
 *   "unet",
 * ]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function makeUnconditionalFolder(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "diffparity-ddpm-" });
  await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(DDPM_MODEL_INDEX));
  await Deno.mkdir(join(root, "unet"));
  await Deno.copyFile(
    "fixtures/models-test/unet_unconditional.onnx",
    join(root, "unet", "model.onnx"),
  );
  await Deno.writeTextFile(
    join(root, "unet", "config.json"),
    JSON.stringify({
      _class_name: "UNet2DModel",
      in_channels: 3,
      out_channels: 3,
      sample_size: 2,
    }),
  );
  await Deno.mkdir(join(root, "scheduler"));
  await Deno.writeTextFile(
    join(root, "scheduler", "scheduler_config.json"),
    JSON.stringify({
      _class_name: "DDPMScheduler",
      beta_schedule: "linear",
      num_train_timesteps: 1000,
    }),
  );
  return root;
}

/**
 * model_index.json as diffusers' own `scripts/convert_stable_diffusion_checkpoint_to_onnx.py`
 * writes it (`OnnxStableDiffusionPipeline.save_pretrained`; here without a safety checker).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LEGACY_MODEL_INDEX } from "./testing_folders.ts";
 * assert.deepEqual(LEGACY_MODEL_INDEX.vae_encoder, ["diffusers", "OnnxRuntimeModel"]);
 * ```
 */
export const LEGACY_MODEL_INDEX = {
  ...MODEL_INDEX,
  _class_name: "OnnxStableDiffusionPipeline",
  requires_safety_checker: false,
};

/**
 * A temporary folder in the layout of diffusers' own ONNX convert script: model.onnx files only
 * (no config.json beside them, as `OnnxRuntimeModel.save_pretrained` writes none), built from
 * text_encoder_int32 (the script feeds int32 ids), unet_legacy (every `sample` axis dynamic,
 * float timestep), vae_encoder_legacy (output `latent_sample`) and vae_decoder, with the tiny
 * tokenizer. Remove it with `Deno.remove(dir, { recursive: true })`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeLegacyFolder } from "./testing_folders.ts";
 * const root = await makeLegacyFolder();
 * assert.deepEqual([...Deno.readDirSync(`${root}/unet`)].map((e) => e.name), ["model.onnx"]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function makeLegacyFolder(): Promise<string> {
  return await sdFolder("diffparity-legacy-", LEGACY_MODEL_INDEX, [
    ["text_encoder", "text_encoder_int32.onnx"],
    ["unet", "unet_legacy.onnx"],
    ["vae_encoder", "vae_encoder_legacy.onnx"],
    ["vae_decoder", "vae_decoder.onnx"],
  ]);
}

/**
 * A temporary Stable Diffusion folder: `parts` as [component folder, fixtures/models-test graph],
 * `modelIndex` as model_index.json, a DDIM scheduler config and the tiny tokenizer.
 */
async function sdFolder(
  prefix: string,
  modelIndex: Record<string, unknown>,
  parts: [string, string][],
): Promise<string> {
  const root = await Deno.makeTempDir({ prefix });
  for (const [dir, file] of parts) {
    await Deno.mkdir(join(root, dir));
    await Deno.copyFile(join("fixtures/models-test", file), join(root, dir, "model.onnx"));
  }
  await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(modelIndex));
  await Deno.mkdir(join(root, "scheduler"));
  await Deno.writeTextFile(
    join(root, "scheduler", "scheduler_config.json"),
    JSON.stringify({ _class_name: "DDIMScheduler", beta_schedule: "scaled_linear" }),
  );
  await writeTinyTokenizer(join(root, "tokenizer"));
  return root;
}
