/**
 * `diffparity compare`: per-step tensors dumped by another implementation of a sampler (a C++ or
 * Swift port, a browser app) compared with a case reference, with the metrics, default
 * tolerances, per-step verdicts and report of `verify`.
 *
 * The dump ("ours") is one `.safetensors` file, or a folder of `.npy` files named `<tensor>.npy`,
 * holding any of the reference layout's tensors (`DUMP_LAYOUT`, dump_files.ts); any float dtype is
 * read as float32. Only the tensors present are compared; at least one `prev_sample.<i>`,
 * `model_output.<i>` or `latents` must be.
 *
 * @module
 */
import { FileError } from "../tensor/errors.ts";
import type { Tensor } from "../tensor/tensor.ts";
import { COMPARISON_KINDS } from "../results/kinds.ts";
import type { CaseResult, ComparisonResult, StepFigures, Tolerance } from "../results/schema.ts";
import { comparison, figures } from "./compare.ts";
import { fitDumpTensor, readDump, stepIndices } from "./dump_files.ts";
import { sha256Hex } from "./fixture_hashes.ts";
import {
  type CaseReference,
  CaseReferenceError,
  readCaseReference,
  recordedStepsNote,
} from "./references.ts";
import { violations } from "./tolerance.ts";

/**
 * Options of {@link compareDump}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CompareDumpOptions } from "./compare_dump.ts";
 * const strict: CompareDumpOptions = { tolerance: { maxAbs: 0, maxUlp: 0 } };
 * assert.equal(strict.tolerance?.maxUlp, 0);
 * ```
 */
export interface CompareDumpOptions {
  /**
   * Bounds merged over the defaults of the latents (`freeRunOnnx`: maxAbs 1e-5) and of the model
   * outputs (`replayModel`: maxAbs 1e-5), bound by bound. The image keeps its own (PSNR >= 60).
   */
  tolerance?: Tolerance;
  /** The case name in the result (default: the dump's file or folder name). */
  name?: string;
}

/** The first step (or -1 for init_latents, Infinity for final-only) whose figures break `tol`. */
function firstFailing(c: ComparisonResult | undefined): number | undefined {
  if (!c || c.pass) return undefined;
  const step = c.perStep.find((s) => violations(s, c.tolerance).length > 0);
  return step?.step ?? (c.failures.some((f) => f.includes("in init_latents")) ? -1 : Infinity);
}

/**
 * What a failing dump's first divergence points at: the sampler step (a step's latents differ
 * while its model output matches), the model (the model output differs first), the initial
 * noise, or only the final latents; or that everything matches.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { comparison } from "./compare.ts";
 * import { dumpAttribution } from "./compare_dump.ts";
 * const ok = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
 * const bad = { ...ok, maxAbs: 1e-4 };
 * const latents = comparison("freeRunOnnx", "r", { maxAbs: 1e-5 }, [
 *   { step: 0, t: 951, ...ok }, { step: 1, t: 901, ...bad },
 * ]);
 * const model = comparison("replayModel", "r", { maxAbs: 1e-5 }, [
 *   { step: 0, t: 951, ...ok }, { step: 1, t: 901, ...ok },
 * ]);
 * assert.match(dumpAttribution([latents, model]), /^first divergence at step 1 \(t=901\): prev_sample\.1 differs while model_output\.1 matches: the sampler step/);
 * assert.equal(dumpAttribution([model]), "every compared tensor within tolerance");
 * ```
 */
export function dumpAttribution(comparisons: readonly ComparisonResult[]): string {
  const lat = comparisons.find((c) => c.kind === "freeRunOnnx");
  const mod = comparisons.find((c) => c.kind === "replayModel");
  const img = comparisons.find((c) => c.kind === "image");
  const [l, m] = [firstFailing(lat), firstFailing(mod)];
  const tOf = (c: ComparisonResult | undefined, i: number) =>
    c?.perStep.find((s) => s.step === i)?.t;
  if (l === -1) {
    return "init_latents differ before any step: the initial noise (generator, seed) or the image encoding";
  }
  if (m !== undefined && Number.isFinite(m) && (l === undefined || m <= l)) {
    const before = m > 0 && lat?.perStep.some((s) => s.step === m - 1);
    const input = m === 0 ? "init_latents" : `prev_sample.${m - 1}`;
    return `first divergence at step ${m} (t=${tOf(mod, m)}): model_output.${m} differs` +
      (before
        ? ` given matching latents: the model, its runtime or the guidance`
        : `: the model, its runtime or the guidance (or its input latents, ${input})`);
  }
  if (l !== undefined && Number.isFinite(l)) {
    const t = tOf(lat, l);
    if (mod?.perStep.some((s) => s.step === l)) {
      return `first divergence at step ${l} (t=${t}): prev_sample.${l} differs while model_output.${l} matches: the sampler step (its arithmetic or coefficients)`;
    }
    return `first divergence at step ${l} (t=${t}): prev_sample.${l} differs; dump model_output.<i> too to tell the model from the sampler`;
  }
  if (l !== undefined) return "only the final latents differ";
  if (m !== undefined) return "only prompt_embeds differ: the tokenizer or the text encoder";
  if (img && !img.pass) return "only the decoded image differs: the VAE decoder or postprocessing";
  return "every compared tensor within tolerance";
}

function merged(kind: "freeRunOnnx" | "replayModel", over: Tolerance | undefined): Tolerance {
  return { ...COMPARISON_KINDS[kind].tolerance, ...over };
}

function caseField(ref: CaseReference, key: string): string | undefined {
  try {
    const c = JSON.parse(ref.metadata["case"] ?? "{}");
    const v = key === "sampler" ? c.sampler?.type : c[key];
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compares the tensors another implementation dumped (`oursPath`: a `.safetensors` file or a
 * folder of `.npy` files, in the layout of {@link DUMP_LAYOUT}) with a case reference
 * (`referencePath`, read by `readCaseReference`): per step `prev_sample.<i>` (with `init_latents`
 * and the final `latents`) as the free run's `freeRunOnnx` comparison, `model_output.<i>` (with
 * `prompt_embeds`) as `replayModel`, `image_u8` as `image`, each with its default tolerance
 * (`options.tolerance` merged over the two tensor ones). The result is a case named after the
 * dump, whose `description` says where the first divergence points; tensors of the dump outside
 * the layout, steps it skips, steps past a prefix reference's recorded calls (nothing to
 * compare them with) and an `image_u8` the reference lacks (a torch reference keeps none) are its
 * `warnings`.
 *
 * @throws {FileError} naming the dump when it cannot be read, holds no `prev_sample.<i>`,
 * `model_output.<i>` or `latents` (or only steps past a prefix reference's recorded calls), has
 * a step beyond the reference's calls, a shape or timesteps unlike the reference's.
 * @throws {CaseReferenceError} when the reference is missing or lacks a tensor the dump has.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compareDump } from "./compare_dump.ts";
 * import { readSafetensors } from "../tensor/safetensors.ts";
 * import { writeNpy } from "../tensor/npy.ts";
 * const refPath = "fixtures/refs/cases/ddim-eta0.onnx.safetensors";
 * const ref = await readSafetensors(refPath);
 * const ours = await Deno.makeTempDir(); // what a port writes: <name>.npy per tensor
 * for (const name of ["prev_sample.0", "prev_sample.1", "latents"]) {
 *   await writeNpy(`${ours}/${name}.npy`, ref.tensor(name));
 * }
 * const r = await compareDump(ours, refPath);
 * assert.equal(r.status, "pass");
 * assert.deepEqual(r.comparisons.map((c) => [c.kind, c.perStep.length, c.worst.maxAbs]), [["freeRunOnnx", 2, 0]]);
 * const x = ref.tensor("prev_sample.1");
 * x.data[5] += 1e-4;
 * await writeNpy(`${ours}/prev_sample.1.npy`, x);
 * const bad = await compareDump(ours, refPath);
 * assert.equal(bad.status, "fail");
 * assert.match(bad.comparisons[0].failures[0], /^maxAbs 1e-4 > 1e-5 \(10x\) at step 1 \(t=901\)/);
 * ```
 */
export async function compareDump(
  oursPath: string,
  referencePath: string,
  options: CompareDumpOptions = {},
): Promise<CaseResult> {
  const dump = await readDump(oursPath);
  const ref = await readCaseReference(referencePath, { prompt: false }); // any pipeline kind
  const names = new Set(dump.names);
  const prev = stepIndices(dump.names, "prev_sample");
  const model = stepIndices(dump.names, "model_output");
  if (prev.length === 0 && model.length === 0 && !names.has("latents")) {
    throw new FileError(
      oursPath,
      undefined,
      `holds no prev_sample.<i>, model_output.<i> or latents tensor${
        dump.names.length ? ` (found: ${dump.names.slice(0, 8).join(", ")})` : " (it is empty)"
      }; a dump is a .safetensors file or a folder of <name>.npy files named as the reference's ` +
        `tensors (see DUMP_LAYOUT)`,
    );
  }
  const warnings: string[] = [];
  const known =
    /^(prev_sample|model_output)\.(0|[1-9][0-9]*)$|^(init_latents|latents|prompt_embeds|image_u8|timesteps)$/;
  for (const n of dump.names) {
    if (!known.test(n)) {
      warnings.push(`${oursPath}: ${n}: not a tensor of the dump layout; not compared`);
    }
  }
  const calls = ref.timesteps.length;
  if (names.has("timesteps")) {
    const ts = Array.from((await dump.tensor("timesteps")).data);
    if (ts.length !== calls || ts.some((t, i) => t !== ref.timesteps[i])) {
      throw new FileError(
        oursPath,
        "timesteps",
        `[${ts.join(", ")}] differ from the reference's [${
          ref.timesteps.join(", ")
        }] (${ref.path})`,
      );
    }
  }
  const load = async (name: string, want: Tensor | undefined): Promise<[Tensor, Tensor]> => {
    if (!want) {
      throw new CaseReferenceError(ref.path, `tensor '${name}' missing (${oursPath} has it)`);
    }
    return [fitDumpTensor(await dump.tensor(name), want, oursPath, name, ref.path), want];
  };
  // a prefix reference holds per-step tensors for its first calls only: later steps of the dump
  // have nothing to be compared with (a warning, not an error)
  const recorded = ref.recordedSteps ?? calls;
  const perStep = async (
    family: "prev_sample" | "model_output",
    dumped: number[],
  ): Promise<StepFigures[]> => {
    const out: StepFigures[] = [];
    for (const i of dumped) {
      if (i >= calls) {
        throw new FileError(
          oursPath,
          `${family}.${i}`,
          `step ${i} beyond the reference's ${calls} model calls (${ref.path})`,
        );
      }
    }
    const steps = dumped.filter((i) => i < recorded);
    for (const i of steps) {
      const want = family === "prev_sample" ? ref.prevSample(i) : ref.modelOutput(i);
      const [a, b] = await load(`${family}.${i}`, want);
      out.push({ step: i, t: ref.timesteps[i], ...figures(a, b) });
    }
    if (steps.length < dumped.length) {
      warnings.push(
        `${oursPath}: ${family} at ${dumped.length - steps.length} steps from ${recorded} on not ` +
          `compared: the reference holds ${recordedStepsNote(ref)} (${ref.path})`,
      );
    }
    if (steps.length > 0 && steps.length < recorded) {
      const missing = [...Array(recorded).keys()].filter((i) => !steps.includes(i));
      const of = recorded < calls ? `${recorded} recorded` : `${calls}`;
      warnings.push(
        `${oursPath}: ${family} at ${steps.length} of the reference's ${of} steps (not dumped: ${
          missing.slice(0, 10).join(", ")
        }${missing.length > 10 ? ", …" : ""})`,
      );
    }
    return out;
  };
  const extras = async (list: [string, string, Tensor | undefined][]) => {
    const out: { label: string; figures: ReturnType<typeof figures> }[] = [];
    for (const [name, label, want] of list) {
      if (!names.has(name)) continue;
      const [a, b] = await load(name, want);
      out.push({ label, figures: figures(a, b, name === "image_u8") });
    }
    return out;
  };
  const comparisons: ComparisonResult[] = [];
  const describe = (steps: number[], family: string, extra: { label: string }[]) =>
    [
      ...(steps.length ? [`${family} at ${steps.length} of ${calls} steps`] : []),
      ...extra.map((e) => e.label),
    ].join(", ") + ` (ours: ${oursPath})`;
  // the latents after each step (with the first and last), and the model output of each call
  type Family = [
    kind: "freeRunOnnx" | "replayModel",
    family: "prev_sample" | "model_output",
    steps: number[],
    extras: [string, string, Tensor | undefined][],
  ];
  const families: Family[] = [
    ["freeRunOnnx", "prev_sample", prev, [
      ["init_latents", "init_latents", ref.initLatents],
      ["latents", "final latents", ref.latents],
    ]],
    ["replayModel", "model_output", model, [["prompt_embeds", "prompt_embeds", ref.promptEmbeds]]],
  ];
  for (const [kind, family, steps, list] of families) {
    const stepFigures = await perStep(family, steps);
    const extra = await extras(list);
    if (!stepFigures.length && !extra.length) continue;
    const c = comparison(kind, ref.path, merged(kind, options.tolerance), stepFigures, extra);
    comparisons.push({ ...c, subject: describe(stepFigures.map((f) => f.step), family, extra) });
  }
  // a torch reference keeps no picture (only the onnx one does): nothing to compare it with
  if (names.has("image_u8") && !ref.imageU8) {
    warnings.push(
      `${oursPath}: image_u8: not compared (${ref.path} holds no image_u8: a torch reference keeps ` +
        `none, the onnx reference does)`,
    );
  }
  const imgExtra = ref.imageU8 ? await extras([["image_u8", "image_u8", ref.imageU8]]) : [];
  if (imgExtra.length) {
    const c = comparison("image", ref.path, COMPARISON_KINDS.image.tolerance, [], imgExtra);
    comparisons.push({ ...c, subject: describe([], "", imgExtra) });
  }
  if (comparisons.length === 0) {
    throw new FileError(
      oursPath,
      undefined,
      `holds no tensor the reference has: its steps lie past the reference's ${
        recordedStepsNote(ref)
      }, and it has no latents (${ref.path})`,
    );
  }
  const latents = names.has("latents") ? (await dump.tensor("latents")).data : null;
  const pass = comparisons.every((c) => c.pass);
  return {
    name: options.name ?? (oursPath.replace(/\/+$/, "").split("/").pop() || oursPath),
    description: `${oursPath} vs ${ref.path}: ${dumpAttribution(comparisons)}`,
    pipeline: caseField(ref, "pipeline") ?? "unknown",
    sampler: caseField(ref, "sampler") ?? "unknown",
    model: caseField(ref, "model") ?? "unknown",
    provider: dump.metadata["provider"] ?? "external",
    status: pass ? "pass" : "fail",
    comparisons,
    timing: null,
    latentsSha256: latents
      ? await sha256Hex(new Uint8Array(latents.buffer, latents.byteOffset, latents.byteLength))
      : null,
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * The line under a dump's verdict: the first failing step of each failing comparison (or that
 * none fails) and where the first divergence points (the result's description after `: `).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { firstFailureLine } from "./compare_dump.ts";
 * const ok = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
 * const r = {
 *   name: "ours", description: "ours vs r: every compared tensor within tolerance", pipeline: "text2img",
 *   sampler: "DDIMScheduler", model: "m", provider: "external", status: "pass" as const,
 *   comparisons: [], timing: null, latentsSha256: null,
 * };
 * assert.equal(firstFailureLine(r), "      every compared tensor within tolerance");
 * const bad = {
 *   ...r, status: "fail" as const, description: "ours vs r: first divergence at step 7 (t=601): …",
 *   comparisons: [{
 *     kind: "freeRunOnnx" as const, reference: "r", subject: "", tolerance: { maxAbs: 1e-5 }, pass: false,
 *     worst: { ...ok, maxAbs: 1e-4, step: 7 }, perStep: [{ step: 7, t: 601, ...ok, maxAbs: 1e-4 }],
 *     failures: ["maxAbs 1e-4 > 1e-5 (10x) at step 7 (t=601)"],
 *   }],
 * };
 * assert.equal(
 *   firstFailureLine(bad),
 *   "      first failing step: prev_sample 7 (t=601): maxAbs 1e-4 > 1e-5 (10x)\n" +
 *     "      first divergence at step 7 (t=601): …",
 * );
 * ```
 */
export function firstFailureLine(r: CaseResult): string {
  const lines: string[] = [];
  for (const c of r.comparisons) {
    if (c.pass) continue;
    const s = c.perStep.find((s) => violations(s, c.tolerance).length > 0);
    const family = c.kind === "replayModel" ? "model_output" : "prev_sample";
    if (s) {
      lines.push(
        `first failing step: ${family} ${s.step} (t=${s.t}): ${
          violations(s, c.tolerance).join("; ")
        }`,
      );
    } else lines.push(`${c.kind}: ${c.failures.join("; ")} (no per-step tensor fails)`);
  }
  const cut = r.description.indexOf(": ");
  lines.push(cut >= 0 ? r.description.slice(cut + 2) : r.description);
  return lines.map((l) => `      ${l}`).join("\n");
}
