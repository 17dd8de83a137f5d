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
 * assert.deepEqual([ref.calls, ref.steps, ref.recordedSteps], [ref.timesteps.length, ref.calls, undefined]);
 * assert.deepEqual(ref.latents.shape, ref.initLatents.shape);
 * // 1000 DDPM steps: per-step tensors for the first 100 calls only (fixtures/gen/dump_cases.py)
 * const long = await readCaseReference("fixtures/refs/cases/digits-ddpm-ddpm1000.onnx.safetensors", { prompt: false });
 * assert.deepEqual([long.calls, long.steps, long.recordedSteps], [1000, 100, 100]);
 * assert.equal(long.prevSample(100), undefined);
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
  /** One timestep per model call of the whole run. */
  timesteps: number[];
  /** The model calls of the whole run: `timesteps.length`. */
  calls: number;
  /**
   * Model calls with per-step tensors, from call 0: `calls`, or fewer for a prefix reference
   * (see `recordedSteps`), or 0 when the file holds none (a torch reference).
   */
  steps: number;
  /**
   * Set only for a prefix reference, whose per-step tensors cover the first calls of a longer
   * run (metadata `recorded_steps`, written by fixtures/gen/dump_cases.py for runs of more than
   * its `MAX_RECORDED_STEPS` = 100 calls): those calls, equal to `steps` and less than `calls`.
   * The replays and per-step comparisons then cover calls 0 to `recordedSteps - 1`; the final
   * latents and image still come from the whole run.
   */
  recordedSteps?: number;
  /** Guided model output of call i (undefined when not stored). */
  modelOutput(i: number): Tensor | undefined;
  /** Latents after call i's step (undefined when not stored). */
  prevSample(i: number): Tensor | undefined;
  /**
   * The latents entering call i: `model_input.<i>` where the file holds it (a two-latent
   * method such as EDICT, whose calls take either latent), else `initLatents` for 0, else
   * `prevSample(i - 1)` (so also for call `steps` of a prefix reference), except for the first
   * call of an inversion round trip's sampling pass that starts from an earlier inversion
   * latent (metadata `sampling_starts_from`: the tutorial's `start_step`).
   */
  sampleIn(i: number): Tensor | undefined;
  /** An inversion round trip: its inversion pass's model calls (metadata `inversion_calls`). */
  inversionCalls?: number;
  /** Final latents. */
  latents: Tensor;
  /** img2img / inpaint: `scaling_factor * latent_dist.sample` of the input image, when stored. */
  imageLatents?: Tensor;
  /**
   * Postprocessed image [1, 3, H, W] as 0..255 values, when stored: an onnx reference holds it,
   * dump_cases.py's torch references do not (verify compares the picture with the onnx one only).
   */
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
 * The per-step tensors a reference holds (`prev_sample.<i>` from 0 on, counted) against its
 * `calls`: all of them, none, or the `recorded_steps` of its metadata (a prefix); anything
 * else is an error naming the file.
 */
function perStepCount(
  file: SafetensorsFile,
  path: string,
  calls: number,
): { steps: number; recordedSteps?: number } {
  let steps = 0;
  while (file.has(`prev_sample.${steps}`)) steps++;
  const recorded = file.metadata["recorded_steps"];
  if (recorded === undefined) {
    if (steps !== 0 && steps !== calls) {
      throw new CaseReferenceError(
        path,
        `holds ${steps} steps of prev_sample but ${calls} timesteps`,
      );
    }
    return { steps };
  }
  const k = /^[1-9][0-9]*$/.test(recorded) ? Number(recorded) : NaN;
  if (!(k < calls)) {
    throw new CaseReferenceError(
      path,
      `metadata recorded_steps: got ${JSON.stringify(recorded)} (expected a whole number from 1 ` +
        `to ${calls - 1}: the first model calls with per-step tensors, of the ${calls} timesteps)`,
    );
  }
  if (steps !== k) {
    throw new CaseReferenceError(
      path,
      `holds ${steps} steps of prev_sample but metadata recorded_steps says ${k} (of ${calls} ` +
        `timesteps)`,
    );
  }
  return { steps, recordedSteps: k };
}

/**
 * Reads and checks a case reference file. With `prompt` true (the default: the case's pipeline
 * encodes a prompt) `prompt_embeds` and `input_ids` must be there; with false (the
 * unconditional kind, or a dump compared on its own) they are read when present.
 *
 * Per-step tensors (`prev_sample.<i>`, `model_output.<i>`) are there for every model call (one
 * per timestep), for none, or, when the metadata says `recorded_steps: "K"` (K less than the
 * number of timesteps), for the first K calls only: a prefix reference, `recordedSteps` K. A
 * count of per-step tensors that is none of these (a truncated file) is an error.
 *
 * @throws {CaseReferenceError} when the file is missing, lacks a tensor, or its per-step
 * tensors do not match its timesteps and `recorded_steps`.
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
 * // per-step tensors for the first 2 of 3 calls: a prefix reference when its metadata says so
 * const ts = new Tensor(new Float32Array([999, 500, 1]), [3]);
 * const prefix = { timesteps: ts, init_latents: x, latents: x, "prev_sample.0": x, "prev_sample.1": x };
 * await writeSafetensors(path, prefix, { recorded_steps: "2" });
 * const p = await readCaseReference(path, { prompt: false });
 * assert.deepEqual([p.steps, p.recordedSteps, p.calls], [2, 2, 3]);
 * await writeSafetensors(path, prefix); // the same tensors without it: a truncated file
 * await assert.rejects(readCaseReference(path, { prompt: false }), /holds 2 steps of prev_sample but 3 timesteps/);
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
  const counted = perStepCount(file, path, timesteps.length);
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
  const handOff = roundTripHandOff(file.metadata, path, timesteps.length);
  return {
    path,
    backend: file.metadata["backend"] ?? "unknown",
    metadata: file.metadata,
    samplerDtype,
    ...promptTensors(file, path, options.prompt ?? true),
    initLatents,
    timesteps,
    calls: timesteps.length,
    ...counted,
    modelOutput: (i) => get(`model_output.${i}`),
    prevSample: (i) => get(`prev_sample.${i}`),
    sampleIn: (i) =>
      get(`model_input.${i}`) ??
        (i === 0 ? initLatents : get(`prev_sample.${i === handOff?.call ? handOff.from : i - 1}`)),
    ...(handOff ? { inversionCalls: handOff.call } : {}),
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

/**
 * An inversion round trip's pass boundary: the first sampling call, and the inversion call whose
 * `prev_sample` it starts from (metadata `inversion_calls`, `sampling_starts_from`).
 */
function roundTripHandOff(
  metadata: Record<string, string>,
  path: string,
  calls: number,
): { call: number; from: number } | undefined {
  const count = (key: string, max: number) => {
    const v = metadata[key];
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n <= max)) {
      throw new CaseReferenceError(
        path,
        `metadata ${key}: expected a whole number 0..${max}, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
  const call = count("inversion_calls", calls);
  if (call === undefined) return undefined;
  return { call, from: count("sampling_starts_from", Math.max(0, call - 1)) ?? call - 1 };
}

/**
 * What a prefix reference holds, in words, for verdicts and reports (undefined for a reference
 * with per-step tensors for every call, or none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordedStepsNote } from "./references.ts";
 * assert.equal(
 *   recordedStepsNote({ recordedSteps: 100, calls: 1000 }),
 *   "per-step tensors for the first 100 of 1000 model calls",
 * );
 * assert.equal(recordedStepsNote({ calls: 50 }), undefined);
 * ```
 */
export function recordedStepsNote(
  ref: Pick<CaseReference, "recordedSteps" | "calls">,
): string | undefined {
  return ref.recordedSteps === undefined
    ? undefined
    : `per-step tensors for the first ${ref.recordedSteps} of ${ref.calls} model calls`;
}
