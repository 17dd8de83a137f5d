/**
 * Test helpers: a temporary optimum-layout model folder assembled from the tiny graphs of
 * fixtures/models-test, with a hand-made CLIP tokenizer whose ids follow from its five-line
 * definition (checked against transformers' CLIPTokenizer when it was written:
 * "a cat!" -> [8, 3, 6, 7, 9, 9, 9, 9], "CAT" -> [8, 6, 9, ...], "dog" -> [8, 9, 9, 9, ...]
 * (three unknown symbols), "ca" -> [8, 1, 3, 9, ...]).
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
  const root = await Deno.makeTempDir({ prefix: "diffparity-model-" });
  const graphs = "fixtures/models-test";
  const parts: [string, string][] = [
    ["text_encoder", "text_encoder_int64.onnx"],
    ["unet", "unet_int64.onnx"],
    ["vae_encoder", "vae_encoder.onnx"],
    ["vae_decoder", "vae_decoder.onnx"],
  ];
  for (const [dir, file] of parts) {
    await Deno.mkdir(join(root, dir));
    await Deno.copyFile(join(graphs, file), join(root, dir, "model.onnx"));
  }
  await Deno.writeTextFile(join(root, "model_index.json"), JSON.stringify(MODEL_INDEX));
  await Deno.mkdir(join(root, "scheduler"));
  await Deno.writeTextFile(
    join(root, "scheduler", "scheduler_config.json"),
    JSON.stringify({ _class_name: "DDIMScheduler", beta_schedule: "scaled_linear" }),
  );
  await writeTinyTokenizer(join(root, "tokenizer"));
  return root;
}
