/**
 * What a case runs on, read once per case: the fixture hashes checked, the model folder read
 * and loaded (or taken from the pool), its geometry, and the case's image and mask.
 *
 * @module
 */
import type { ExecutionProviderName } from "../models/execution_provider.ts";
import { readModelGeometry } from "../models/geometry.ts";
import { type LoadedModel, loadModelFolder } from "../models/load_model_folder.ts";
import { readModelFolder } from "../models/model_folder.ts";
import type { VaeEncoderModel } from "../models/types.ts";
import { imageToTensor } from "../pipelines/image.ts";
import { latentShape } from "../pipelines/latents.ts";
import { keepMaskFromImage } from "../pipelines/mask.ts";
import { readPngGray, readPngRgb } from "../pipelines/png.ts";
import { FileError } from "../tensor/errors.ts";
import type { Tensor } from "../tensor/tensor.ts";
import type { Case } from "./case.ts";
import {
  checkFixtureHashes,
  FixtureHashError,
  type FixtureManifest,
  readFixtureManifest,
  userManifestPath,
} from "./fixture_hashes.ts";
import { relative, resolve, sep } from "node:path";
import { referenceKindOf } from "./goldens.ts";
import { PIPELINE_KINDS, type PipelineFile } from "./pipeline_kinds.ts";
import { loadSchedulerImplementation } from "./scheduler_implementation.ts";
import type { SchedulerImplementation } from "../schedulers/samplers.ts";
import type { ModelPool } from "./model_pool.ts";

/**
 * How a case's model is loaded and checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseInputOptions } from "./case_inputs.ts";
 * const o: CaseInputOptions = { executionProvider: "cpu", manifest: null };
 * assert.deepEqual(o.manifest, null);
 * ```
 */
export interface CaseInputOptions {
  /** Execution provider for every ONNX session (default "cpu"). */
  executionProvider?: ExecutionProviderName;
  /** Fall back to CPU when the provider cannot run. */
  fallback?: boolean;
  /** WebGPU only: onnxruntime's preferred tensor layout. */
  webgpuLayout?: "default" | "NCHW" | "NHWC";
  /** Loaded models shared across cases; without it the case loads and frees its own. */
  models?: ModelPool;
  /** Intra-op threads (default 1, as the references were made). */
  intraOpNumThreads?: number;
  /** The fixture manifest to check hashes against (default fixtures/manifest.json); null skips. */
  manifest?: string | null;
}

/**
 * A case's loaded inputs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CaseInputs, loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const { inputs }: { inputs: CaseInputs } = await loadCaseInputs(c, { manifest: null });
 * assert.deepEqual([inputs.latentShape, inputs.scalingFactor], [[1, 4, 16, 16], 0.18215]);
 * assert.equal(inputs.image, undefined); // text2img has no image
 * assert.equal(inputs.geometryWarnings, undefined); // tiny-sd has its component configs
 * await inputs.release();
 * ```
 */
export interface CaseInputs {
  /** The case. */
  c: Case;
  /** The loaded model folder. */
  model: LoadedModel;
  /** The VAE encoder, its output kept per image (the replays encode the same image). */
  vaeEncoder?: VaeEncoderModel;
  /** The case's image [1, 3, H, W] in [-1, 1]. */
  image?: Tensor;
  /** The case's latent-size keep mask. */
  keepMask?: Tensor;
  /** `[1, C, H / f, W / f]`. */
  latentShape: number[];
  /** The VAE's `scaling_factor`. */
  scalingFactor: number;
  /**
   * What the geometry derived or assumed for a missing component config (`ModelGeometry.warnings`,
   * e.g. a folder from diffusers' own ONNX convert script); absent when the configs gave all.
   */
  geometryWarnings?: string[];
  /** The scheduler config's file, for messages. */
  schedulerSource: string;
  /** Time to load the model (0 when the pool had it), milliseconds. */
  loadMs: number;
  /** The class of the case's `sampler.implementation` (a user's own port), when it names one. */
  implementation?: SchedulerImplementation;
  /** Frees the model when it was loaded for this case alone. */
  release(): Promise<void>;
}

/** The case's input files its pipeline kind reads, by field. */
function pipelineFiles(c: Case): [PipelineFile, string][] {
  return PIPELINE_KINDS[c.pipeline].files.flatMap((f) => c[f] ? [[f, c[f]!] as const] : []);
}

/**
 * The files whose hashes guard the references of a case. A reference file that does not exist
 * is left out: a case without references runs without them (status noref), and a golden has no
 * torch file.
 */
async function guardedFiles(c: Case, folderFiles: string[]): Promise<string[]> {
  const files = [...folderFiles];
  for (const ref of [c.references.onnx, c.references.torch]) {
    if (await Deno.stat(ref).then(() => true, (e) => !(e instanceof Deno.errors.NotFound))) {
      files.push(ref);
    }
  }
  for (const [, path] of pipelineFiles(c)) files.push(path);
  return [...new Set(files)];
}

/**
 * Checks the case's files against the project manifest, and its references outside the project
 * folder (a user's) against the manifest beside them, which also lists the model files they were
 * made from. A golden (our own earlier run) is in neither: it is let through.
 */
async function checkHashes(c: Case, files: string[], projectManifest: string): Promise<void> {
  const refs: string[] = [c.references.onnx, c.references.torch];
  const golden = async (f: string) => refs.includes(f) && await referenceKindOf(f) === "golden";
  // a reference the manifest lists must be there: a missing torch side is skipped only when
  // no manifest promised it
  const listed = (m: FixtureManifest) =>
    refs.filter((r) => m.sha256.has(relative(m.root, resolve(r)).split(sep).join("/")));
  const project = await readFixtureManifest(projectManifest);
  await checkFixtureHashes(project, [...new Set([...files, ...listed(project)])], {
    unlistedOk: golden,
  });
  const userRefs = refs.filter((r) => relative(project.root, resolve(r)).startsWith(".."));
  for (const dir of new Set(userRefs.map(userManifestPath))) {
    const here = userRefs.filter((r) => userManifestPath(r) === dir);
    if (!await Deno.stat(dir).then(() => true, () => false)) {
      const unguarded = [];
      for (const r of here.filter((r) => files.includes(r))) {
        if (!await golden(r)) unguarded.push(r);
      }
      if (unguarded.length === 0) continue;
      throw new FixtureHashError(
        unguarded[0],
        `no ${dir} records its sha256: references made by \`deno task refs --cases <your cases folder>\` or by the capture helper (fixtures/gen/diffparity_capture.py) are recorded there; record ones made otherwise with \`deno task refs --cases <your cases folder> --manifest-only\`, or run with --no-hash-check`,
      );
    }
    const manifest = await readFixtureManifest(dir, "deno task refs --cases <your cases folder>");
    const present = here.filter((r) => files.includes(r));
    // the diffusers folder the torch reference was made from (`torchModel`), where listed
    const torchFiles = c.torchModel && await Deno.stat(c.torchModel).then(() => true, () => false)
      ? await folderFiles(c.torchModel)
      : [];
    await checkFixtureHashes(
      manifest,
      [
        ...new Set([...present, ...listed(manifest)]),
        ...files.filter((f) => !refs.includes(f)),
        ...torchFiles,
      ],
      { unlistedOk: golden },
    );
  }
}

async function folderFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Reads the case's model folder once, checks the fixture hashes, reads the references
 * (`readReferences`, once the hashes hold), loads the model and reads the geometry, image and
 * mask.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "img2img-ddim");
 * const { inputs, references } = await loadCaseInputs(c, {}, () => Promise.resolve("refs read"));
 * assert.equal(references, "refs read"); // read once the fixture hashes held
 * assert.deepEqual(inputs.image?.shape, [1, 3, 128, 128]);
 * assert.ok(inputs.vaeEncoder);
 * await inputs.release();
 * await assert.rejects(loadCaseInputs({ ...c, model: "fixtures/models/missing" }, { manifest: null }), /missing/);
 * ```
 */
export async function loadCaseInputs<R = undefined>(
  c: Case,
  options: CaseInputOptions = {},
  readReferences?: () => Promise<R>,
): Promise<{ inputs: CaseInputs; references: R }> {
  const folder = await readModelFolder(c.model, { unet: c.unet });
  if (options.manifest !== null) {
    const files = await guardedFiles(c, [
      ...await folderFiles(folder.root),
      folder.components.unet,
    ]);
    await checkHashes(c, files, options.manifest ?? "fixtures/manifest.json");
  }
  const references = await readReferences?.() as R;
  const tLoad = performance.now();
  const loadOptions = {
    unet: c.unet,
    session: {
      executionProvider: options.executionProvider ?? "cpu",
      fallback: options.fallback ?? false,
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      webgpuLayout: options.webgpuLayout ?? "default",
    },
  };
  const owned = !options.models;
  const model = options.models
    ? await options.models.get(folder, loadOptions)
    : await loadModelFolder(folder, loadOptions);
  const release = () => owned ? model.release().catch(() => {}) : Promise.resolve();
  try {
    const loadMs = performance.now() - tLoad;
    const geometry = await readModelGeometry(model.folder, {
      unet: model.unet.session,
      vae_decoder: model.vaeDecoder?.session,
    });
    const height = c.height ?? geometry.sampleSize * geometry.vaeScaleFactor;
    const width = c.width ?? height;
    const inputs: CaseInputs = {
      c,
      model,
      latentShape: latentShape(height, width, geometry.vaeScaleFactor, geometry.latentChannels),
      scalingFactor: geometry.scalingFactor,
      ...(geometry.warnings ? { geometryWarnings: geometry.warnings } : {}),
      schedulerSource: model.folder.schedulerConfigPath,
      loadMs,
      release,
    };
    const implementation = await loadSchedulerImplementation(c.sampler);
    if (implementation) inputs.implementation = implementation;
    const unusable = model.unusable?.vae_encoder;
    if (unusable !== undefined && PIPELINE_KINDS[c.pipeline].files.includes("image")) {
      // Refused before anything reads or encodes the image (e.g. a legacy `latent_sample` export).
      throw new Error(`pipeline '${c.pipeline}' needs a usable VAE encoder; ${unusable}`);
    }
    for (const [field, path] of pipelineFiles(c)) {
      if (field === "image") {
        // a one-channel pixel-space model reads its image grey, every other kind RGB
        const grey = PIPELINE_KINDS[c.pipeline].pixelImage && geometry.latentChannels === 1;
        const png = grey ? await readPngGray(path) : await readPngRgb(path);
        if (png.width !== width || png.height !== height) {
          throw new FileError(
            path,
            field,
            `expected ${width}x${height} pixels (the model's size; no resizing is done), got ` +
              `${png.width}x${png.height}`,
          );
        }
        inputs.image = imageToTensor(png);
      } else {
        inputs.keepMask = keepMaskFromImage(
          await readPngGray(path),
          geometry.vaeScaleFactor,
          geometry.latentChannels,
        );
      }
    }
    if (model.vaeEncoder) inputs.vaeEncoder = memoEncoder(model.vaeEncoder);
    return { inputs, references };
  } catch (err) {
    await release();
    throw err;
  }
}

/** A VAE encoder that encodes each image once (the replays encode the same image). */
function memoEncoder(encoder: VaeEncoderModel): VaeEncoderModel {
  const seen = new Map<Tensor, Promise<Tensor>>();
  return {
    ...encoder,
    encode: (image: Tensor) => {
      let out = seen.get(image);
      if (!out) seen.set(image, out = encoder.encode(image));
      return out;
    },
  };
}
