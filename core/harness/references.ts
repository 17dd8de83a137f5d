/**
 * Reads a case's reference file (fixtures/refs/cases/<name>.<backend>.safetensors, written by
 * fixtures/gen/dump_cases.py) into typed fields, with errors that name the file and tensor.
 *
 * @module
 */
import { type Precision, PRECISIONS } from "../numerics/f16.ts";
import { type MathTable, mathTableFromTensors } from "../numerics/f32_math.ts";
import { readSafetensors, type SafetensorsFile } from "../tensor/safetensors.ts";
import { FileError } from "../tensor/errors.ts";
import type { Tensor } from "../tensor/tensor.ts";

/**
 * Thrown when a case's reference file is missing or lacks a tensor; says how to regenerate.
 * (Named so as not to shadow JavaScript's built-in `ReferenceError`.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CaseReferenceError } from "./references.ts";
 * const e = new CaseReferenceError("fixtures/refs/cases/x.onnx.safetensors", "missing");
 * assert.deepEqual(e.message, "fixtures/refs/cases/x.onnx.safetensors: missing");
 * assert.deepEqual([e.name, e.file], ["CaseReferenceError", "fixtures/refs/cases/x.onnx.safetensors"]);
 * ```
 */
export class CaseReferenceError extends Error {
  /** The reference file. */
  readonly file: string;
  /**
   * Makes the `<file>: <problem>` message.
   *
   * @param file the reference file
   * @param problem what is wrong, with how to fix it
   */
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = "CaseReferenceError";
    this.file = file;
  }
}

/**
 * One reference run of a case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCaseReference } from "./references.ts";
 * const ref = await readCaseReference("fixtures/refs/cases/ddim-eta0.onnx.safetensors");
 * assert.deepEqual(ref.backend, "onnx");
 * assert.deepEqual(ref.timesteps.length, ref.steps);
 * assert.deepEqual(ref.latents.shape, ref.initLatents.shape);
 * ```
 */
export interface CaseReference {
  /** The file. */
  path: string;
  /** `onnx` or `torch` (metadata `backend`). */
  backend: string;
  /** String metadata as written. */
  metadata: Record<string, string>;
  /**
   * The dtype the reference's sampler ran in (metadata `sampler_dtype`, written by
   * fixtures/gen/cases_fp16.py and diffparity_capture.py; "float32" when absent). A float16
   * reference stores its latents and model outputs as F16 (read as float32: exact).
   */
  samplerDtype: Precision;
  /** Token ids [B, 77], flat (absent for a pipeline without a prompt). */
  inputIds?: number[];
  /** Text-encoder output given to the UNet (absent for a pipeline without a prompt). */
  promptEmbeds?: Tensor;
  /** Latents entering the first model call. */
  initLatents: Tensor;
  /** One timestep per model call. */
  timesteps: number[];
  /** Number of model calls with per-step tensors (0 when the file holds none). */
  steps: number;
  /** Guided model output of call i (undefined when not stored). */
  modelOutput(i: number): Tensor | undefined;
  /** Latents after call i's step (undefined when not stored). */
  prevSample(i: number): Tensor | undefined;
  /** The latents entering call i: `initLatents` for 0, else `prevSample(i - 1)`. */
  sampleIn(i: number): Tensor | undefined;
  /** Final latents. */
  latents: Tensor;
  /** img2img / inpaint: `scaling_factor * latent_dist.sample` of the input image, when stored. */
  imageLatents?: Tensor;
  /** Postprocessed image [1, 3, H, W] as 0..255 values, when stored. */
  imageU8?: Tensor;
  /** The reference machine's float32 math (`math.*` tensors), when recorded. */
  math: MathTable | null;
}

function need(file: SafetensorsFile, name: string, path: string): Tensor {
  if (!file.has(name)) {
    throw new CaseReferenceError(
      path,
      `tensor '${name}' missing; regenerate with \`deno task refs\``,
    );
  }
  return file.tensor(name);
}

/** `prompt_embeds` and `input_ids`: required when `required`, else read when present. */
function promptTensors(
  file: SafetensorsFile,
  path: string,
  required: boolean,
): { promptEmbeds?: Tensor; inputIds?: number[] } {
  const out: { promptEmbeds?: Tensor; inputIds?: number[] } = {};
  if (required || file.has("prompt_embeds")) out.promptEmbeds = need(file, "prompt_embeds", path);
  if (required || file.has("input_ids")) {
    need(file, "input_ids", path);
    out.inputIds = file.ints("input_ids");
  }
  return out;
}

/**
 * Reads and checks a case reference file. With `prompt` true (the default: the case's pipeline
 * encodes a prompt) `prompt_embeds` and `input_ids` must be there; with false (the
 * unconditional kind, or a dump compared on its own) they are read when present.
 *
 * @throws {CaseReferenceError} when the file is missing or lacks a tensor.
 * @throws {FileError} when the file is not valid safetensors.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readCaseReference } from "./references.ts";
 * import { writeSafetensors } from "../tensor/safetensors.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const ref = await readCaseReference("fixtures/refs/cases/ddpm-50.onnx.safetensors");
 * assert.deepEqual(ref.timesteps.length, 50);
 * assert.equal(ref.samplerDtype, "float32"); // no sampler_dtype metadata: a float32 sampler
 * // an unconditional pipeline's reference holds no prompt
 * const path = `${await Deno.makeTempDir()}/u.onnx.safetensors`;
 * const x = Tensor.zeros([1, 1, 2, 2]);
 * await writeSafetensors(path, { timesteps: new Tensor(new Float32Array([999]), [1]), init_latents: x, latents: x });
 * assert.equal((await readCaseReference(path, { prompt: false })).promptEmbeds, undefined);
 * await assert.rejects(readCaseReference(path), /tensor 'prompt_embeds' missing/);
 * await Deno.remove(path);
 * ```
 */
export async function readCaseReference(
  path: string,
  options: { prompt?: boolean } = {},
): Promise<CaseReference> {
  let file: SafetensorsFile;
  try {
    file = await readSafetensors(path);
  } catch (err) {
    if (err instanceof FileError && err.cause instanceof Deno.errors.NotFound) {
      throw new CaseReferenceError(path, "reference file missing; make it with `deno task refs`");
    }
    throw err;
  }
  const timesteps = Array.from(need(file, "timesteps", path).data);
  let steps = 0;
  while (file.has(`prev_sample.${steps}`)) steps++;
  if (steps !== 0 && steps !== timesteps.length) {
    throw new CaseReferenceError(
      path,
      `holds ${steps} steps of prev_sample but ${timesteps.length} timesteps`,
    );
  }
  const get = (name: string) => (file.has(name) ? file.tensor(name) : undefined);
  const initLatents = need(file, "init_latents", path);
  const samplerDtype = (file.metadata["sampler_dtype"] ?? "float32") as Precision;
  if (!PRECISIONS.includes(samplerDtype)) {
    throw new CaseReferenceError(
      path,
      `metadata sampler_dtype: got ${JSON.stringify(samplerDtype)} (expected ${
        PRECISIONS.map((p) => `"${p}"`).join(" or ")
      })`,
    );
  }
  return {
    path,
    backend: file.metadata["backend"] ?? "unknown",
    metadata: file.metadata,
    samplerDtype,
    ...promptTensors(file, path, options.prompt ?? true),
    initLatents,
    timesteps,
    steps,
    modelOutput: (i) => get(`model_output.${i}`),
    prevSample: (i) => get(`prev_sample.${i}`),
    sampleIn: (i) => (i === 0 ? initLatents : get(`prev_sample.${i - 1}`)),
    latents: need(file, "latents", path),
    imageLatents: get("image_latents"),
    imageU8: get("image_u8"),
    math: mathTableFromTensors((name) => {
      if (!file.has(name)) return undefined;
      const { dtype } = file.info(name);
      if (dtype !== "F32") {
        throw new CaseReferenceError(path, `tensor '${name}' is ${dtype} (expected F32)`);
      }
      return file.tensor(name).data;
    }, path),
  };
}
