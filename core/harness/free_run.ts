/**
 * The free run alone, for a case without references: the pipeline from the seed with its NaN/Inf
 * checks and timings (the `noref` verdict), and the golden references written from it
 * (`verify --update-goldens --yes`). Also the decoded image's postprocessing and the case's
 * warnings, which runner.ts shares.
 *
 * @module
 */
import { ieeeMath } from "../numerics/f32_math.ts";
import { tensorToImage } from "../pipelines/image.ts";
import { encodePng } from "../pipelines/png.ts";
import type { CaseResult, CaseTiming } from "../results/schema.ts";
import { makeSampler, SAMPLERS } from "../schedulers/samplers.ts";
import { writeSafetensors } from "../tensor/safetensors.ts";
import { Tensor } from "../tensor/tensor.ts";
import type { Case } from "./case.ts";
import { type CaseInputs, loadCaseInputs } from "./case_inputs.ts";
import { isShippedModel } from "./cases_loader.ts";
import { mergeWarnings, samplerConfigWarnings } from "./case_warnings.ts";
import { sha256Hex } from "./fixture_hashes.ts";
import { gitCommit, goldenMetadata, goldenTensors, referenceKindOf } from "./goldens.ts";
import { PHASES, type Run, runPipeline } from "./phases.ts";
import { caseRoundTrip } from "./round_trip_metrics.ts";
import { type ProgressSink, silentProgress } from "./progress.ts";
import { CaseReferenceError } from "./references.ts";
import type { RunCaseOptions } from "./runner.ts";

/**
 * The image of a run as [1, C, H, W] 0..255 values (diffusers' postprocess; C is 3, or 1 for a
 * grey pixel-space image) and as a PNG.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { postprocess } from "./free_run.ts";
 * import { Tensor } from "../tensor/tensor.ts";
 * const { chw, png } = postprocess(new Tensor(new Float32Array(12).fill(1), [1, 3, 2, 2]));
 * assert.deepEqual([chw.shape, chw.data[0], png[1]], [[1, 3, 2, 2], 255, 0x50]);
 * const grey = postprocess(new Tensor(new Float32Array([-1, 0, 0, 1]), [1, 1, 2, 2]));
 * assert.deepEqual([grey.chw.shape, [...grey.chw.data]], [[1, 1, 2, 2], [0, 128, 128, 255]]);
 * ```
 */
export function postprocess(image: Tensor): { chw: Tensor; png: Uint8Array } {
  const img = tensorToImage(image);
  const { width: w, height: h, channels: c } = img;
  const chw = new Float32Array(c * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) chw[ch * h * w + y * w + x] = img.data[(y * w + x) * c + ch];
    }
  }
  return { chw: new Tensor(chw, [1, c, h, w]), png: encodePng(img) };
}

/**
 * The case's scheduler config, tokenizer and model-geometry warnings
 * (core/harness/case_warnings.ts).
 */
function caseWarnings(
  { c, model, schedulerSource, geometryWarnings, implementation }: CaseInputs,
): string[] {
  const sampler = makeSampler(c.sampler, model.schedulerConfig, {
    steps: c.steps,
    source: schedulerSource,
    implementation,
  });
  return mergeWarnings(
    samplerConfigWarnings(c, model.schedulerConfig, schedulerSource, sampler.configWarnings),
    model.tokenizer?.warnings ?? [],
    geometryWarnings ?? [],
  );
}

/**
 * `{ warnings }` of a case's inputs when there are any (scheduler config, tokenizer, geometry).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCaseInputs } from "./case_inputs.ts";
 * import { loadCases } from "./cases_loader.ts";
 * import { warningsOf } from "./free_run.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const { inputs } = await loadCaseInputs(c, { manifest: null });
 * assert.deepEqual(warningsOf(inputs), {}); // the shipped model leaves nothing to defaults
 * await inputs.release();
 * ```
 */
export function warningsOf(inputs: CaseInputs): { warnings?: string[] } {
  const warnings = caseWarnings(inputs);
  return warnings.length ? { warnings } : {};
}

/** The noref verdict's advice: how to make references for a case (shipped model or a user's). */
function makeReferencesAdvice(c: Case): string {
  const golden = `\`deno task verify --filter ${c.name} --update-goldens --yes\` ` +
    "(a golden: our own run, not diffusers)";
  return isShippedModel(c.model)
    ? `make references with \`deno task refs\` (shipped models) or ${golden}`
    : "make references with `deno task refs --cases <your cases folder>` (the case names its " +
      "torchModel), the capture helper around your own pipeline (fixtures/gen/diffparity_capture.py), " +
      `or ${golden}`;
}

/** An inversion case's round-trip figures (they need no reference), as a result field. */
async function roundTripOf(inputs: CaseInputs, result: Run["result"]) {
  const roundTrip = await caseRoundTrip(inputs, result);
  return roundTrip ? { roundTrip } : {};
}

/**
 * The free run alone (a case without reference): the pipeline from the seed with IEEE math,
 * its NaN/Inf checks and timings, the decoded image; `result` is the case result's `noref`
 * part.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadCases } from "./cases_loader.ts";
 * import { freeRunAlone } from "./free_run.ts";
 * import { silentProgress } from "./progress.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const alone = await freeRunAlone({ ...c, steps: 2 }, { manifest: null }, silentProgress);
 * assert.deepEqual([alone.result.status, alone.run.records.length], ["noref", 2]);
 * ```
 */
export async function freeRunAlone(
  c: Case,
  options: RunCaseOptions,
  progress: ProgressSink,
): Promise<{ result: Partial<CaseResult>; run: Run; png?: Uint8Array; imageU8?: Tensor }> {
  const { inputs } = await loadCaseInputs(c, options);
  try {
    progress.phase(PHASES.freeRun.name, 0, c.steps);
    const run = await runPipeline(
      inputs,
      { onStep: (r) => progress.phase(PHASES.freeRun.name, r.index + 1, c.steps) },
      null,
      true,
      ieeeMath, // no reference, so no reference machine's math
    );
    const post = run.result.image ? postprocess(run.result.image) : undefined;
    const latents = run.result.latents.data;
    const sha = await sha256Hex(
      new Uint8Array(latents.buffer, latents.byteOffset, latents.byteLength),
    );
    return {
      run,
      png: post?.png,
      imageU8: post?.chw,
      result: {
        provider: inputs.model.records().unet.provider,
        ...warningsOf(inputs),
        status: "noref",
        noReference: `${c.references.onnx} does not exist; ${makeReferencesAdvice(c)}`,
        comparisons: [],
        timing: runTiming(run, inputs.loadMs, 0),
        latentsSha256: sha,
        ...await roundTripOf(inputs, run.result),
        freeRunSteps: run.records.map((r) => ({
          step: r.index,
          t: r.t,
          modelMs: r.modelMs,
          stepMs: r.stepMs,
          absMax: r.prevSample.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0),
        })),
      },
    };
  } finally {
    await inputs.release();
  }
}

/**
 * What {@link writeGolden} wrote (or, with `dryRun`, would write).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GoldenWrite } from "./free_run.ts";
 * const w: GoldenWrite = { case: "my-case", path: "refs/my-case.onnx.safetensors", steps: 20, tensors: 46, written: true };
 * assert.equal(w.tensors, 2 * w.steps + 6);
 * ```
 */
export interface GoldenWrite {
  /** The case. */
  case: string;
  /** The reference file (the case's `references.onnx`). */
  path: string;
  /** Model calls stored (per-step `prev_sample.<i>` and `model_output.<i>`); 0 for a dry run. */
  steps: number;
  /** Tensors in the file; 0 for a dry run. */
  tensors: number;
  /** False for a dry run. */
  written: boolean;
}

/**
 * Writes the case's free run as a golden reference at `references.onnx` (atomically;
 * metadata `golden: "true"`, the diffparity commit when known, the date and the provider).
 * A reference made by diffusers is never replaced: that is a {@link CaseReferenceError}.
 * With `dryRun` it runs nothing and writes nothing, and says what it would write.
 *
 * @throws {CaseReferenceError} when `references.onnx` holds a diffusers reference.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCase } from "./runner.ts";
 * import { writeGolden } from "./free_run.ts";
 * import { loadCases } from "./cases_loader.ts";
 * const [c] = await loadCases("cases", "guidance-1");
 * const dir = await Deno.makeTempDir();
 * const mine = { ...c, steps: 4, references: { onnx: `${dir}/g.onnx.safetensors`, torch: `${dir}/g.torch.safetensors` } };
 * assert.equal((await runCase(mine)).status, "noref");
 * assert.equal((await writeGolden(mine, { dryRun: true })).written, false);
 * const w = await writeGolden(mine);
 * assert.deepEqual([w.steps, w.written], [4, true]);
 * const again = await runCase(mine);
 * assert.deepEqual([again.status, again.reference], ["pass", "golden"]);
 * await assert.rejects(writeGolden(c), /diffusers reference/); // a diffusers reference stays
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeGolden(
  c: Case,
  options: RunCaseOptions & { dryRun?: boolean } = {},
): Promise<GoldenWrite> {
  const path = c.references.onnx;
  if (await referenceKindOf(path) === "diffusers") {
    throw new CaseReferenceError(
      path,
      "is a diffusers reference; a golden never replaces one (delete it first to make a golden)",
    );
  }
  if (options.dryRun) return { case: c.name, path, steps: 0, tensors: 0, written: false };
  const alone = await freeRunAlone(c, options, options.progress ?? silentProgress);
  const tensors = goldenTensors(alone.run.result, alone.run.records, alone.imageU8);
  const metadata = goldenMetadata({
    case: c.name,
    provider: alone.result.provider ?? "cpu",
    commit: await gitCommit("."),
    date: new Date().toISOString(),
    model: c.model,
    pipeline: c.pipeline,
    sampler: SAMPLERS[c.sampler.type].label(c.sampler),
    seed: String(c.seed),
    steps: String(c.steps),
    deno: Deno.version.deno,
    sampler_dtype: c.precision === "float16" ? "float16" : null, // as fixtures/gen/cases_fp16.py
  });
  await writeSafetensors(path, tensors, metadata);
  return {
    case: c.name,
    path,
    steps: alone.run.records.length,
    tensors: Object.keys(tensors).length,
    written: true,
  };
}

/**
 * The timing figures of a run: model calls, UNet and scheduler time, decode, with the case's
 * load and total time.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runTiming } from "./free_run.ts";
 * import type { Run } from "./phases.ts";
 * const run = {
 *   records: [{ modelMs: 2, stepMs: 1 }, { modelMs: 4, stepMs: 1 }],
 *   result: { timing: { decodeMs: 5 } },
 * } as unknown as Run;
 * assert.deepEqual(runTiming(run, 10, 30), {
 *   totalMs: 30, loadMs: 10, modelCalls: 2, unetMsTotal: 6, unetMsMean: 3,
 *   schedulerMsTotal: 2, decodeMs: 5,
 * });
 * ```
 */
export function runTiming(run: Run, loadMs: number, totalMs: number): CaseTiming {
  const unetMsTotal = run.records.reduce((s, r) => s + r.modelMs, 0);
  return {
    totalMs,
    loadMs,
    modelCalls: run.records.length,
    unetMsTotal,
    unetMsMean: run.records.length ? unetMsTotal / run.records.length : 0,
    schedulerMsTotal: run.records.reduce((s, r) => s + r.stepMs, 0),
    decodeMs: run.result.timing.decodeMs,
  };
}
