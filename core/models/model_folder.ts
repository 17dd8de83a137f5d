/**
 * The layout of a diffusers pipeline folder exported by `optimum-cli export onnx`: which
 * components exist, where their ONNX files, the scheduler config and the tokenizer are, with an
 * error naming the path and what it should hold for anything missing or malformed.
 *
 * ```
 * model_index.json                      {"_class_name": "...", "unet": ["diffusers", "OnnxRuntimeModel"], ...}
 * scheduler/scheduler_config.json
 * tokenizer/                            tokenizer.json, or vocab.json + merges.txt; tokenizer_config.json
 * text_encoder/model.onnx
 * unet/model.onnx
 * vae_encoder/model.onnx                (optional: img2img, inpaint and inversion need it)
 * vae_decoder/model.onnx
 * ```
 *
 * A Stable Diffusion folder has all of them but the VAE encoder. Other pipelines need the
 * tokenizer, text encoder and VAE decoder only when model_index.json lists them: an
 * unconditional pixel-space `DDPMPipeline` has only `unet/` and `scheduler/`.
 *
 * @module
 */
import { join } from "node:path";
import { FileError } from "../tensor/errors.ts";
import type { ComponentName } from "./model_io.ts";

/**
 * Where everything of one model folder is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ModelFolder, readModelFolder } from "./model_folder.ts";
 * const f: ModelFolder = await readModelFolder("fixtures/models/tiny-sd");
 * assert.equal(f.components.unet, "fixtures/models/tiny-sd/unet/model.onnx");
 * assert.equal(f.tokenizerDir, "fixtures/models/tiny-sd/tokenizer");
 * assert.equal(f.components.text_encoder, "fixtures/models/tiny-sd/text_encoder/model.onnx");
 * ```
 */
export interface ModelFolder {
  /** The folder. */
  readonly root: string;
  /** `model_index.json`, parsed. */
  readonly modelIndex: Readonly<Record<string, unknown>>;
  /** `model_index.json`'s `_class_name` (e.g. `StableDiffusionPipeline`, `ORTStableDiffusionPipeline`). */
  readonly className: string;
  /**
   * The ONNX file of each component present: `unet` always; `text_encoder` and `vae_decoder`
   * in every Stable Diffusion folder (absent in an unconditional one such as `DDPMPipeline`);
   * `vae_encoder` may be absent.
   */
  readonly components: Readonly<Partial<Record<ComponentName, string>>> & {
    readonly unet: string;
  };
  /** `scheduler/scheduler_config.json`. */
  readonly schedulerConfigPath: string;
  /** The scheduler config, parsed. */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  /** The tokenizer folder (absent in a folder without a text encoder, such as `DDPMPipeline`). */
  readonly tokenizerDir?: string;
}

/** What each component's file holds, for messages. */
const MEANING: Record<ComponentName, string> = {
  text_encoder: "the CLIP text encoder's ONNX graph",
  unet: "the UNet's ONNX graph",
  vae_encoder: "the VAE encoder's ONNX graph",
  vae_decoder: "the VAE decoder's ONNX graph",
};
/** What every Stable Diffusion folder has (other pipelines: the UNet, and what they list). */
const REQUIRED: readonly ComponentName[] = ["text_encoder", "unet", "vae_decoder"];
const LAYOUT = "an `optimum-cli export onnx` Stable Diffusion folder";

/** A Stable Diffusion pipeline class (diffusers', optimum's ORT and diffusers' Onnx ones). */
function isStableDiffusion(className: string): boolean {
  return className.includes("StableDiffusion");
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new FileError(path, undefined, `cannot read it (${(err as Error).message})`, {
      cause: err,
    });
  }
}

async function readJsonObject(path: string, holds: string): Promise<Record<string, unknown>> {
  const info = await statOrUndefined(path);
  if (info === undefined || !info.isFile) {
    throw new FileError(path, undefined, `missing (expected ${holds})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new FileError(
      path,
      undefined,
      `not valid JSON (${(err as Error).message}); expected ${holds}`,
      {
        cause: err,
      },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FileError(path, undefined, `expected a JSON object (${holds})`);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads and checks a model folder's layout (no ONNX file is opened).
 *
 * `model_index.json` must be an object with a string `_class_name`; each component entry it
 * has must be `[library, class]` (strings) or `[null, null]` (component absent). The UNet file
 * must exist; the text encoder, tokenizer folder and VAE decoder must exist in a Stable
 * Diffusion folder (`_class_name` containing `StableDiffusion`) and in any folder whose
 * model_index.json lists them (`vae` counts for the VAE decoder); the VAE encoder is needed
 * only when listed. So a `DDPMPipeline` folder (`unet` and `scheduler`) is valid without them.
 *
 * @param root the folder
 * @param options `unet`: another UNet file to use instead of `unet/model.onnx` (e.g. an fp16
 * export); it must exist
 * @throws {FileError} naming the missing or malformed path and what it should hold.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readModelFolder } from "./model_folder.ts";
 * const f = await readModelFolder("fixtures/models/tiny-sd", {
 *   unet: "fixtures/models/tiny-sd-unet-fp16/model.onnx",
 * });
 * assert.equal(f.components.unet, "fixtures/models/tiny-sd-unet-fp16/model.onnx");
 * // A DDPMPipeline folder: unet/ and scheduler/ only.
 * const root = await Deno.makeTempDir();
 * const index = { _class_name: "DDPMPipeline", unet: ["diffusers", "UNet2DModel"] };
 * await Deno.writeTextFile(`${root}/model_index.json`, JSON.stringify(index));
 * await Deno.mkdir(`${root}/unet`);
 * await Deno.copyFile("fixtures/models-test/unet_unconditional.onnx", `${root}/unet/model.onnx`);
 * await Deno.mkdir(`${root}/scheduler`);
 * await Deno.writeTextFile(`${root}/scheduler/scheduler_config.json`, "{}");
 * const ddpm = await readModelFolder(root);
 * assert.deepEqual([ddpm.components.text_encoder, ddpm.tokenizerDir], [undefined, undefined]);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readModelFolder(
  root: string,
  options: { unet?: string } = {},
): Promise<ModelFolder> {
  const rootInfo = await statOrUndefined(root);
  if (rootInfo === undefined || !rootInfo.isDirectory) {
    throw new FileError(
      root,
      undefined,
      `${rootInfo === undefined ? "no such folder" : "not a folder"} (expected ${LAYOUT})`,
    );
  }
  const indexPath = join(root, "model_index.json");
  const modelIndex = await readJsonObject(
    indexPath,
    `${LAYOUT}'s pipeline index: {"_class_name": ..., "unet": ["diffusers", "OnnxRuntimeModel"], ...}`,
  );
  const className = modelIndex["_class_name"];
  if (typeof className !== "string" || className === "") {
    throw new FileError(
      indexPath,
      "_class_name",
      `got ${
        JSON.stringify(className)
      } (expected the pipeline class name, e.g. "StableDiffusionPipeline")`,
    );
  }
  const listed = new Set<string>();
  for (const [key, value] of Object.entries(modelIndex)) {
    if (key.startsWith("_") || !Array.isArray(value)) continue;
    const ok = value.length === 2 &&
      ((typeof value[0] === "string" && typeof value[1] === "string") ||
        (value[0] === null && value[1] === null));
    if (!ok) {
      throw new FileError(
        indexPath,
        key,
        `got ${JSON.stringify(value)} (expected [library, class] such as ` +
          `["diffusers", "OnnxRuntimeModel"], or [null, null] when absent)`,
      );
    }
    if (value[0] !== null) listed.add(key);
  }
  const sd = isStableDiffusion(className);
  // The index entry that lists `key` (diffusers' own index names the VAE `vae`).
  const listedAs = (key: string): string | undefined =>
    listed.has(key) ? key : key === "vae_decoder" && listed.has("vae") ? "vae" : undefined;
  const required = (key: ComponentName | "tokenizer"): boolean =>
    key === "unet" || (sd && key !== "vae_encoder") || listedAs(key) !== undefined;
  for (const key of REQUIRED) {
    if (key !== "unet" && !sd) continue; // [null, null]: absent, as in a DDPMPipeline
    const entry = modelIndex[key];
    if (Array.isArray(entry) && entry[0] === null) {
      throw new FileError(
        indexPath,
        key,
        `is [null, null] but the pipelines need ${
          MEANING[key]
        } (expected ["diffusers", "OnnxRuntimeModel"])`,
      );
    }
  }

  const components: Partial<Record<ComponentName, string>> = {};
  for (const key of ["text_encoder", "unet", "vae_encoder", "vae_decoder"] as const) {
    const path = key === "unet" && options.unet !== undefined
      ? options.unet
      : join(root, key, "model.onnx");
    const info = await statOrUndefined(path);
    if (info?.isFile) {
      components[key] = path;
      continue;
    }
    if (!required(key)) continue;
    const why = key === "unet" && options.unet !== undefined
      ? "the UNet file given instead of unet/model.onnx"
      : listed.has(key)
      ? `model_index.json lists ${key}`
      : sd
      ? "every Stable Diffusion folder has it"
      : key === "unet"
      ? "every pipeline folder has it"
      : `model_index.json lists ${listedAs(key)}`;
    throw new FileError(path, undefined, `missing (${why}; expected ${MEANING[key]})`);
  }

  const schedulerConfigPath = join(root, "scheduler", "scheduler_config.json");
  const schedulerConfig = await readJsonObject(
    schedulerConfigPath,
    "the diffusers scheduler config (a JSON object with _class_name, beta_schedule, ...)",
  );
  const tokenizerDir = join(root, "tokenizer");
  const hasTokenizer = (await statOrUndefined(tokenizerDir))?.isDirectory === true;
  if (!hasTokenizer && required("tokenizer")) {
    throw new FileError(
      tokenizerDir,
      undefined,
      "missing (expected the CLIP tokenizer folder: tokenizer.json, or vocab.json + merges.txt, " +
        "and tokenizer_config.json)",
    );
  }
  return {
    root,
    modelIndex,
    className,
    components: components as ModelFolder["components"],
    schedulerConfigPath,
    schedulerConfig,
    ...(hasTokenizer ? { tokenizerDir } : {}),
  };
}
