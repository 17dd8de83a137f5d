/**
 * Golden references: our own free run written in the reference layout of
 * core/harness/references.ts (per-step `prev_sample.<i>` and `model_output.<i>`,
 * `init_latents`, `latents`, `prompt_embeds`, `input_ids`, `timesteps`, the decoded image),
 * marked `golden: "true"` in its metadata, for regression gating where diffusers cannot run
 * (as pytest-regressions does). A golden has no torch side.
 *
 * @module
 */
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { StepRecord } from "../pipelines/types.ts";
import type { PipelineResult } from "../pipelines/types.ts";
import { readSafetensors, type SafetensorsInput } from "../tensor/safetensors.ts";
import { FileError } from "../tensor/errors.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { ReferenceKind } from "../results/schema.ts";

/**
 * How verdict lines, results and the report name a golden reference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GOLDEN_LABEL } from "./goldens.ts";
 * assert.equal(GOLDEN_LABEL, "golden (our own earlier run, not diffusers)");
 * ```
 */
export const GOLDEN_LABEL = "golden (our own earlier run, not diffusers)";

/**
 * What a reference file is: `"golden"` when its metadata says `golden: "true"`, else
 * `"diffusers"`; `null` when the file does not exist.
 *
 * @throws {FileError} naming the file when it exists but is not readable safetensors.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { referenceKindOf } from "./goldens.ts";
 * assert.equal(await referenceKindOf("fixtures/refs/cases/ddim-eta0.onnx.safetensors"), "diffusers");
 * assert.equal(await referenceKindOf("/nowhere/x.onnx.safetensors"), null);
 * ```
 */
export async function referenceKindOf(path: string): Promise<ReferenceKind | null> {
  if (!(await referenceExists(path))) return null;
  const file = await readSafetensors(path);
  return file.metadata["golden"] === "true" ? "golden" : "diffusers";
}

/**
 * Whether a reference file exists. Only "not found" is false; any other problem (a folder in
 * its place, no permission) is a {@link FileError} naming the file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { referenceExists } from "./goldens.ts";
 * assert.equal(await referenceExists("fixtures/refs/cases/ddim-eta0.onnx.safetensors"), true);
 * assert.equal(await referenceExists("/nowhere/x.onnx.safetensors"), false);
 * ```
 */
export async function referenceExists(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new FileError(path, undefined, "is not a file (expected a reference)");
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    if (err instanceof FileError) throw err;
    throw new FileError(path, undefined, `cannot read the reference (${(err as Error).message})`, {
      cause: err,
    });
  }
}

/**
 * The tensors of a golden reference, from a free run's result and per-call records, and the
 * postprocessed image ([1, 3, H, W], 0..255) when the run decoded one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goldenTensors } from "./goldens.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const x = Tensor.zeros([1, 4, 2, 2]);
 * const record = {
 *   index: 0, step: 0, call: 0, t: 951, sample: x, modelInput: x, modelOutput: x, prevSample: x,
 *   sampleOverridden: false, modelOutputOverridden: false, modelMs: 1, stepMs: 0,
 * };
 * const tensors = goldenTensors({
 *   latents: x, promptEmbeds: Tensor.zeros([1, 77, 8]), inputIds: [[49406, 49407]], initLatents: x,
 *   timesteps: [951], timing: { encodePromptMs: 0, encodeImageMs: 0, loopMs: 0, modelMs: 0, decodeMs: 0 },
 * }, [record]);
 * assert.deepEqual(Object.keys(tensors).sort(), [
 *   "init_latents", "input_ids", "latents", "model_output.0", "prev_sample.0", "prompt_embeds", "timesteps",
 * ]);
 * ```
 */
export function goldenTensors(
  result: PipelineResult,
  records: readonly StepRecord[],
  imageU8?: Tensor,
): Record<string, SafetensorsInput> {
  const out: Record<string, SafetensorsInput> = {
    timesteps: new Tensor(Float32Array.from(records.map((r) => r.t)), [records.length]),
    init_latents: result.initLatents,
    latents: result.latents,
  };
  if (result.promptEmbeds) out["prompt_embeds"] = result.promptEmbeds;
  if (result.inputIds) {
    const ids = result.inputIds.flat();
    out["input_ids"] = {
      dtype: "I64",
      shape: [result.inputIds.length, result.inputIds[0]?.length ?? 0],
      data: BigInt64Array.from(ids, (v) => BigInt(v)),
    };
  }
  for (const r of records) {
    out[`model_output.${r.index}`] = r.modelOutput;
    out[`prev_sample.${r.index}`] = r.prevSample;
  }
  if (result.imageLatents) out["image_latents"] = result.imageLatents;
  if (imageU8) out["image_u8"] = imageU8;
  return out;
}

/**
 * The metadata of a golden: `golden: "true"`, `backend: "onnx"`, what was run and where, the
 * diffparity commit when known, and the date.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goldenMetadata } from "./goldens.ts";
 * const m = goldenMetadata(
 *   { case: "my-case", provider: "cpu", commit: "abc123", date: "2026-01-02T03:04:05.000Z" },
 * );
 * assert.deepEqual([m.golden, m.backend, m.diffparity_commit, m.provider], ["true", "onnx", "abc123", "cpu"]);
 * ```
 */
export function goldenMetadata(
  info:
    & { case: string; provider: string; commit: string | null; date: string }
    & Record<
      string,
      string | null
    >,
): Record<string, string> {
  const out: Record<string, string> = {
    golden: "true",
    backend: "onnx",
    made_by: "diffparity verify --update-goldens",
    reference_math: "ieee",
  };
  for (const [k, v] of Object.entries(info)) {
    if (v === null) continue;
    out[k === "commit" ? "diffparity_commit" : k] = v;
  }
  return out;
}

/**
 * The verdict-line note of a golden reference, from its metadata: what it is, when, at which
 * commit and on which provider it was written, and that the torch comparison is skipped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { goldenNote } from "./goldens.ts";
 * assert.equal(
 *   goldenNote({ golden: "true", date: "2026-12-03T14:00:00.000Z", diffparity_commit: "e70187e1234567", provider: "cpu" }),
 *   "golden (our own earlier run, not diffusers), written 2026-12-03T14:00:00.000Z at e70187e123 on cpu; vs torch skipped (a golden has no torch side)",
 * );
 * ```
 */
export function goldenNote(metadata: Record<string, string>): string {
  const parts = [
    metadata["date"] ? `written ${metadata["date"]}` : "",
    metadata["diffparity_commit"] ? `at ${metadata["diffparity_commit"].slice(0, 10)}` : "",
    metadata["provider"] ? `on ${metadata["provider"]}` : "",
  ].filter((s) => s);
  return `${GOLDEN_LABEL}${parts.length ? `, ${parts.join(" ")}` : ""}; ` +
    "vs torch skipped (a golden has no torch side)";
}

async function readText(path: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    return null;
  }
}

/**
 * The git commit checked out in `dir` (a repository or a worktree), read from `.git` without
 * running git; `null` when there is none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { gitCommit } from "./goldens.ts";
 * const commit = await gitCommit(".");
 * assert.ok(commit === null || /^[0-9a-f]{40}$/.test(commit));
 * assert.equal(await gitCommit("/nowhere"), null);
 * ```
 */
export async function gitCommit(dir: string): Promise<string | null> {
  let root = resolve(dir);
  let gitDir: string | null = null;
  for (;;) {
    const dotGit = join(root, ".git");
    const info = await Deno.stat(dotGit).catch(() => null);
    if (info?.isDirectory) gitDir = dotGit;
    else if (info?.isFile) {
      const m = /^gitdir:\s*(.+)$/m.exec(await readText(dotGit) ?? "");
      if (m) gitDir = isAbsolute(m[1]) ? m[1] : resolve(root, m[1]);
    }
    if (gitDir || dirname(root) === root) break;
    root = dirname(root);
  }
  if (!gitDir) return null;
  const head = await readText(join(gitDir, "HEAD"));
  if (!head) return null;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
  if (!ref) return null;
  const common = await readText(join(gitDir, "commondir"));
  const dirs = [gitDir, ...(common ? [resolve(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = await readText(join(d, ref));
    if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  }
  for (const d of dirs) {
    const packed = await readText(join(d, "packed-refs"));
    const line = packed?.split("\n").find((l) => l.endsWith(` ${ref}`));
    if (line) return line.split(" ")[0];
  }
  return null;
}
