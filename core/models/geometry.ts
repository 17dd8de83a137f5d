/**
 * The numbers a pipeline needs from a model folder's component configs (diffusers'
 * `unet/config.json` and `vae_decoder/config.json`, which optimum copies beside each ONNX file):
 * latent channels, the VAE scale factor, the default sample size and the VAE scaling factor. A
 * pixel-space folder (no VAE) has the UNet's channels, factor 1 and scaling 1.
 *
 * A folder written by diffusers' own `scripts/convert_stable_diffusion_checkpoint_to_onnx.py`
 * (`OnnxStableDiffusionPipeline`) has no config.json beside its ONNX files: what a missing config
 * would give is then derived from the ONNX graphs where their shapes are fixed (channels and
 * size from the UNet's `sample`, the scale factor from the decoder's `latent_sample` -> `sample`
 * ratio), else taken from what diffusers' `OnnxStableDiffusionPipeline` hard-codes (4 latent
 * channels, `height // 8`, 0.18215, 512 px by default: SD 1.x/2.x), each named in a warning.
 *
 * @module
 */
import { join } from "node:path";
import { FileError } from "../tensor/errors.ts";
import type { ModelFolder } from "./model_folder.ts";
import type { ValueInfo } from "./onnx_session.ts";

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
  /**
   * What was derived or assumed because a component config is missing, each naming the value,
   * where it came from and why (present only when something was; absent when the configs gave
   * everything).
   */
  warnings?: string[];
}

/**
 * The declared inputs and outputs of the components {@link readModelGeometry} derives from when
 * a config is missing (an `OnnxSession` or `OnnxComponent.session` fits).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GeometryGraphs } from "./geometry.ts";
 * const g: GeometryGraphs = {
 *   unet: { inputs: [{ name: "sample", type: "float32", shape: [2, 4, 64, 64] }], outputs: [] },
 * };
 * assert.equal(g.unet?.inputs[0].shape[2], 64);
 * ```
 */
export interface GeometryGraphs {
  /** The UNet's graph (its `sample` input, `out_sample` output). */
  readonly unet?: { readonly inputs: readonly ValueInfo[]; readonly outputs: readonly ValueInfo[] };
  /** The VAE decoder's graph (its `latent_sample` input, `sample` output). */
  readonly vae_decoder?: {
    readonly inputs: readonly ValueInfo[];
    readonly outputs: readonly ValueInfo[];
  };
}

/**
 * What diffusers' `OnnxStableDiffusionPipeline` hard-codes (pipeline_onnx_stable_diffusion.py:
 * `latents_shape = (..., 4, height // 8, width // 8)`, `1 / 0.18215 * latents`, `height=512`),
 * which is SD 1.x/2.x's VAE and UNet: the values assumed when neither a config nor a fixed graph
 * shape gives them.
 */
const ONNX_PIPELINE = { latentChannels: 4, vaeScaleFactor: 8, pixels: 512, scalingFactor: 0.18215 };

const MISSING = "missing; optimum writes a config.json beside each component's model.onnx";

/** The config, or undefined when the file does not exist. */
async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new FileError(path, "(file)", `cannot read it (${(err as Error).message})`);
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

/** A fixed extent of the value `name` at `axis`, or undefined (absent, symbolic, unknown). */
function fixedAxis(values: readonly ValueInfo[] | undefined, name: string, axis: number) {
  const d = values?.find((v) => v.name === name)?.shape[axis];
  return typeof d === "number" && d > 0 ? d : undefined;
}

/**
 * Reads the geometry from `unet/config.json` and `vae_decoder/config.json` of a folder; a
 * folder without a VAE decoder (a pixel-space model) reads `unet/config.json` only.
 *
 * A missing config (diffusers' own ONNX convert script writes none) is made up for, value by
 * value, with a warning in `warnings` for each: latent channels from the UNet's `sample` (or
 * `out_sample`, or the decoder's `latent_sample`) axis 1 when fixed; the sample size from the
 * UNet's `sample` (or the decoder's `latent_sample`) height when fixed; the VAE scale factor
 * from the decoder's `sample` / `latent_sample` height ratio when both are fixed. What the
 * graphs leave open is, in a Stable Diffusion folder (`_class_name` containing
 * `StableDiffusion` in model_index.json), what diffusers' `OnnxStableDiffusionPipeline`
 * hard-codes: 4 channels, factor 8, scaling 0.18215 and 512 px (a 64 latent with factor 8, used
 * only when the case sets no `height`/`width`). Other folders need the config or fixed shapes.
 *
 * @param folder the folder's layout
 * @param graphs the declared IO of its UNet and VAE decoder, to derive from when a config is
 * missing (`{ unet: model.unet.session, vae_decoder: model.vaeDecoder?.session }`)
 * @throws {FileError} naming the config file and key that is missing or wrong.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readModelFolder } from "./model_folder.ts";
 * import { readModelGeometry } from "./geometry.ts";
 * const g = await readModelGeometry(await readModelFolder("fixtures/models/tiny-sd"));
 * assert.equal(g.sampleSize * g.vaeScaleFactor, 128); // pixels
 * assert.equal(g.warnings, undefined); // the configs gave everything
 * // A pixel-space folder: no vae_decoder, so only unet/config.json is read.
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/unet`);
 * await Deno.writeTextFile(`${root}/unet/config.json`, '{"in_channels": 3, "sample_size": 32}');
 * const folder = {
 *   root,
 *   modelIndex: {},
 *   className: "DDPMPipeline",
 *   components: { unet: `${root}/unet/model.onnx` },
 *   schedulerConfigPath: `${root}/scheduler/scheduler_config.json`,
 *   schedulerConfig: {},
 * };
 * const pixels = await readModelGeometry(folder);
 * assert.deepEqual(pixels, { latentChannels: 3, vaeScaleFactor: 1, sampleSize: 32, scalingFactor: 1 });
 * // Without its config, a fixed-shape UNet gives channels and size, with a warning.
 * await Deno.remove(`${root}/unet/config.json`);
 * const sample = { name: "sample", type: "float32", shape: [1, 3, 32, 32] };
 * const derived = await readModelGeometry(folder, { unet: { inputs: [sample], outputs: [] } });
 * assert.deepEqual([derived.latentChannels, derived.sampleSize], [3, 32]);
 * assert.match(derived.warnings![0], /latent channels 3 from .*model\.onnx input 'sample' axis 1/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function readModelGeometry(
  folder: ModelFolder,
  graphs: GeometryGraphs = {},
): Promise<ModelGeometry> {
  const unetFile = join(folder.root, "unet", "config.json");
  const vaeFile = join(folder.root, "vae_decoder", "config.json");
  const unetOnnx = folder.components.unet;
  const decOnnx = folder.components.vae_decoder;
  const unet = await readJson(unetFile);
  const vae = decOnnx === undefined ? undefined : await readJson(vaeFile);
  const warnings: string[] = [];
  const sd = folder.className.includes("StableDiffusion") && decOnnx !== undefined;
  const assumed = `${folder.className} folder: diffusers' OnnxStableDiffusionPipeline ` +
    "hard-codes it, SD 1.x/2.x";
  const unetIn = graphs.unet?.inputs;
  const decIn = graphs.vae_decoder?.inputs;
  const decOut = graphs.vae_decoder?.outputs;

  // 1. Latent channels (the image's, without a VAE).
  let latentChannels: number;
  if (unet !== undefined) {
    latentChannels = positiveInt(unet, "in_channels", unetFile);
  } else {
    const sources: [number | undefined, string][] = [
      [fixedAxis(unetIn, "sample", 1), `${unetOnnx} input 'sample' axis 1`],
      [fixedAxis(graphs.unet?.outputs, "out_sample", 1), `${unetOnnx} output 'out_sample' axis 1`],
      [fixedAxis(decIn, "latent_sample", 1), `${decOnnx} input 'latent_sample' axis 1`],
    ];
    const found = sources.find(([n]) => n !== undefined);
    if (found !== undefined) {
      latentChannels = found[0]!;
      warnings.push(`latent channels ${latentChannels} from ${found[1]} (${unetFile} missing)`);
    } else if (sd) {
      latentChannels = ONNX_PIPELINE.latentChannels;
      warnings.push(
        `latent channels ${latentChannels} assumed (${unetFile} missing and no fixed channel ` +
          `axis in ${unetOnnx} or ${decOnnx}; ${assumed})`,
      );
    } else {
      throw new FileError(unetFile, "(file)", `${MISSING} (no fixed channel axis to derive from)`);
    }
  }

  // 2. VAE scale factor and scaling factor (1 and 1 without a VAE).
  let vaeScaleFactor = 1;
  let scalingFactor = 1;
  if (decOnnx !== undefined && vae !== undefined) {
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
    const vaeLatent = positiveInt(vae, "latent_channels", vaeFile);
    if (vaeLatent !== latentChannels) {
      throw new FileError(
        vaeFile,
        "latent_channels",
        `${vaeLatent} differs from ${
          unet === undefined ? "the UNet's latent channels" : `${unetFile} in_channels`
        } ${latentChannels}`,
      );
    }
    vaeScaleFactor = 2 ** (blocks.length - 1);
    scalingFactor = scaling;
  } else if (decOnnx !== undefined) {
    const latentH = fixedAxis(decIn, "latent_sample", 2);
    const imageH = fixedAxis(decOut, "sample", 2);
    if (latentH !== undefined && imageH !== undefined && imageH % latentH === 0) {
      vaeScaleFactor = imageH / latentH;
      warnings.push(
        `VAE scale factor ${vaeScaleFactor} from ${decOnnx} output 'sample' height ${imageH} / ` +
          `input 'latent_sample' height ${latentH} (${vaeFile} missing)`,
      );
    } else if (sd) {
      vaeScaleFactor = ONNX_PIPELINE.vaeScaleFactor;
      warnings.push(
        `VAE scale factor ${vaeScaleFactor} assumed (${vaeFile} missing and ${decOnnx} has no ` +
          `fixed latent_sample -> sample heights; ${assumed})`,
      );
    } else {
      throw new FileError(
        vaeFile,
        "(file)",
        `${MISSING} (no fixed decoder heights to derive from)`,
      );
    }
    if (!sd) throw new FileError(vaeFile, "scaling_factor", `${MISSING} (it holds scaling_factor)`);
    scalingFactor = ONNX_PIPELINE.scalingFactor;
    warnings.push(
      `VAE scaling_factor ${scalingFactor} assumed (${vaeFile} missing; ${assumed}; SDXL's VAE ` +
        "uses 0.13025: add vae_decoder/config.json with its scaling_factor if yours differs)",
    );
  }

  // 3. Default sample size (latent height and width).
  let sampleSize: number;
  if (unet !== undefined) {
    sampleSize = sampleSizeOf(unet, unetFile);
  } else {
    const sources: [number | undefined, number | undefined, string][] = [
      [
        fixedAxis(unetIn, "sample", 2),
        fixedAxis(unetIn, "sample", 3),
        `${unetOnnx} input 'sample'`,
      ],
      [
        fixedAxis(decIn, "latent_sample", 2),
        fixedAxis(decIn, "latent_sample", 3),
        `${decOnnx} input 'latent_sample'`,
      ],
    ];
    const found = sources.find(([h]) => h !== undefined);
    if (found !== undefined) {
      const [h, w, where] = found;
      sampleSize = h!;
      const width = w !== undefined && w !== h ? `; its width is ${w}: set the case's width` : "";
      warnings.push(
        `sample size ${sampleSize} (${sampleSize * vaeScaleFactor} px) from ${where}'s fixed ` +
          `height (${unetFile} missing${width})`,
      );
    } else if (sd) {
      sampleSize = Math.max(1, Math.floor(ONNX_PIPELINE.pixels / vaeScaleFactor));
      warnings.push(
        `sample size ${sampleSize} (${sampleSize * vaeScaleFactor} px) assumed, used only when ` +
          `the case sets no height/width (${unetFile} missing and ${unetOnnx} input 'sample' ` +
          `has a dynamic height; ${assumed}, default height/width ${ONNX_PIPELINE.pixels})`,
      );
    } else {
      throw new FileError(unetFile, "(file)", `${MISSING} (no fixed sample height to derive from)`);
    }
  }
  return {
    latentChannels,
    vaeScaleFactor,
    sampleSize,
    scalingFactor,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
}
