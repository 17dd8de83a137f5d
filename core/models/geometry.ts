/**
 * The numbers a pipeline needs from a model folder's component configs (diffusers'
 * `unet/config.json` and `vae_decoder/config.json`, which optimum copies beside each ONNX file):
 * latent channels, the VAE scale factor, the default sample size and the VAE scaling factor. A
 * pixel-space folder (no VAE) has the UNet's channels, factor 1 and scaling 1.
 *
 * @module
 */
import { FileError } from "../tensor/errors.ts";
import type { ModelFolder } from "./model_folder.ts";

/**
 * Geometry and scaling of a model folder (for a pixel-space model without a VAE: the UNet's
 * channels, `vaeScaleFactor` 1, `scalingFactor` 1).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ModelGeometry, readModelGeometry } from "./geometry.ts";
 * import { readModelFolder } from "./model_folder.ts";
 * const g: ModelGeometry = await readModelGeometry(await readModelFolder("fixtures/models/tiny-sd"));
 * assert.equal(g.latentChannels, 4);
 * assert.ok(Number.isInteger(g.vaeScaleFactor) && g.sampleSize > 0 && g.scalingFactor > 0);
 * ```
 */
export interface ModelGeometry {
  /** UNet `in_channels` (= VAE `latent_channels`; image channels without a VAE). */
  latentChannels: number;
  /**
   * `2 ** (len(vae.config.block_out_channels) - 1)`, as diffusers' pipelines compute it; 1
   * without a VAE.
   */
  vaeScaleFactor: number;
  /** UNet `sample_size`: the default latent height/width. */
  sampleSize: number;
  /** VAE `scaling_factor` (0.18215 for SD 1.x); 1 without a VAE. */
  scalingFactor: number;
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new FileError(
      path,
      "(file)",
      "missing; optimum writes a config.json beside each component's model.onnx",
    );
  }
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch { /* reported below */ }
  throw new FileError(path, "(file)", "expected a JSON object");
}

function positiveInt(json: Record<string, unknown>, key: string, file: string): number {
  const v = json[key];
  if (!Number.isInteger(v) || (v as number) < 1) {
    throw new FileError(file, key, `expected a positive integer, got ${JSON.stringify(v)}`);
  }
  return v as number;
}

function sampleSizeOf(json: Record<string, unknown>, file: string): number {
  const v = json["sample_size"];
  if (Array.isArray(v) && v.length === 2 && v[0] === v[1] && Number.isInteger(v[0])) return v[0];
  return positiveInt(json, "sample_size", file);
}

/**
 * Reads the geometry from `unet/config.json` and `vae_decoder/config.json` of a folder; a
 * folder without a VAE decoder (a pixel-space model) reads `unet/config.json` only.
 *
 * @throws {FileError} naming the config file and key that is missing or wrong.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readModelFolder } from "./model_folder.ts";
 * import { readModelGeometry } from "./geometry.ts";
 * const g = await readModelGeometry(await readModelFolder("fixtures/models/tiny-sd"));
 * assert.equal(g.sampleSize * g.vaeScaleFactor, 128); // pixels
 * // A pixel-space folder: no vae_decoder, so only unet/config.json is read.
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/unet`);
 * await Deno.writeTextFile(`${root}/unet/config.json`, '{"in_channels": 3, "sample_size": 32}');
 * const pixels = await readModelGeometry({
 *   root,
 *   modelIndex: {},
 *   className: "DDPMPipeline",
 *   components: { unet: `${root}/unet/model.onnx` },
 *   schedulerConfigPath: `${root}/scheduler/scheduler_config.json`,
 *   schedulerConfig: {},
 * });
 * assert.deepEqual(pixels, { latentChannels: 3, vaeScaleFactor: 1, sampleSize: 32, scalingFactor: 1 });
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readModelGeometry(folder: ModelFolder): Promise<ModelGeometry> {
  const unetFile = `${folder.root}/unet/config.json`;
  const vaeFile = `${folder.root}/vae_decoder/config.json`;
  const unet = await readJson(unetFile);
  if (folder.components.vae_decoder === undefined) {
    // A pixel-space model has no VAE (as diffusers' DDPMPipeline): the UNet denoises the image
    // itself, so its channels are the image's and nothing is scaled.
    return {
      latentChannels: positiveInt(unet, "in_channels", unetFile),
      vaeScaleFactor: 1,
      sampleSize: sampleSizeOf(unet, unetFile),
      scalingFactor: 1,
    };
  }
  const vae = await readJson(vaeFile);
  const blocks = vae["block_out_channels"];
  if (!Array.isArray(blocks) || blocks.length < 1) {
    throw new FileError(vaeFile, "block_out_channels", "expected a non-empty array");
  }
  const scaling = vae["scaling_factor"];
  if (typeof scaling !== "number" || !(scaling > 0)) {
    throw new FileError(
      vaeFile,
      "scaling_factor",
      `expected a positive number, got ${JSON.stringify(scaling)}`,
    );
  }
  const latentChannels = positiveInt(unet, "in_channels", unetFile);
  const vaeLatent = positiveInt(vae, "latent_channels", vaeFile);
  if (vaeLatent !== latentChannels) {
    throw new FileError(
      vaeFile,
      "latent_channels",
      `${vaeLatent} differs from ${unetFile} in_channels ${latentChannels}`,
    );
  }
  return {
    latentChannels,
    vaeScaleFactor: 2 ** (blocks.length - 1),
    sampleSize: sampleSizeOf(unet, unetFile),
    scalingFactor: scaling,
  };
}
