/**
 * The results schema: plain data, no tensors. A verify run is a `VerifyResult`; results.json is
 * one serialised, with each image's PNG bytes written to its own file (`CaseImage.file`).
 *
 * @module
 */
import type { ComparisonKind } from "./kinds.ts";

/**
 * The format string of results.json written by this version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESULTS_FORMAT } from "./schema.ts";
 * assert.deepEqual(RESULTS_FORMAT, "diffparity-results/2");
 * ```
 */
export const RESULTS_FORMAT = "diffparity-results/2" as const;

/**
 * Bounds on one comparison. Every bound given must hold; omitted ones are not checked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Tolerance } from "./schema.ts";
 * const exact: Tolerance = { maxUlp: 0 };
 * const loose: Tolerance = { maxAbs: 1e-3, cosineMin: 0.9999 };
 * assert.deepEqual(Object.keys({ ...exact, ...loose }), ["maxUlp", "maxAbs", "cosineMin"]);
 * ```
 */
export interface Tolerance {
  /** Largest allowed max |actual - reference|. */
  maxAbs?: number;
  /** Largest allowed float32 ulp distance on any element. */
  maxUlp?: number;
  /** Largest allowed root-mean-square error. */
  rmse?: number;
  /** Largest allowed ||a - r|| / ||r||. */
  relL2?: number;
  /** Smallest allowed cosine similarity. */
  cosineMin?: number;
  /** Smallest allowed PSNR in dB (images). */
  psnrMin?: number;
  /** Smallest allowed SSIM (images). */
  ssimMin?: number;
}

/**
 * Error figures of one tensor against its reference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ErrorFigures } from "./schema.ts";
 * const exact: ErrorFigures = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
 * assert.deepEqual(exact.psnr, undefined);
 * ```
 */
export interface ErrorFigures {
  /** max |actual - reference|. */
  maxAbs: number;
  /** Root-mean-square error. */
  rmse: number;
  /** ||actual - reference|| / ||reference||. */
  relL2: number;
  /** Cosine similarity. */
  cosine: number;
  /** Largest float32 ulp distance over the elements. */
  maxUlp: number;
  /** PSNR in dB (images only). */
  psnr?: number;
  /** SSIM (images only). */
  ssim?: number;
}

/**
 * One step's figures in a comparison.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { StepFigures } from "./schema.ts";
 * const s: StepFigures = { step: 0, t: 951, maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
 * assert.deepEqual([s.step, s.t], [0, 951]);
 * ```
 */
export interface StepFigures extends ErrorFigures {
  /** Model-call index. */
  step: number;
  /** The timestep. */
  t: number;
}

/**
 * The outcome of one comparison of a case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ComparisonResult } from "./schema.ts";
 * const line = (c: ComparisonResult) => `${c.kind}: ${c.pass ? "ok" : c.failures.join("; ")}`;
 * const figures = { maxAbs: 3e-4, rmse: 1e-5, relL2: 1e-4, cosine: 1, maxUlp: 900 };
 * assert.deepEqual(
 *   line({
 *     kind: "freeRunOnnx", reference: "r.safetensors", subject: "final latents",
 *     tolerance: { maxAbs: 1e-5 }, pass: false, worst: { ...figures, step: 7 }, perStep: [],
 *     failures: ["maxAbs 3e-4 > 1e-5 (30x) at step 7 (t=641)"],
 *   }),
 *   "freeRunOnnx: maxAbs 3e-4 > 1e-5 (30x) at step 7 (t=641)",
 * );
 * ```
 */
export interface ComparisonResult {
  /** Which comparison. */
  kind: ComparisonKind;
  /** The reference file compared against. */
  reference: string;
  /** What is compared, in words (e.g. "final latents", "prevSample per step"). */
  subject: string;
  /** The tolerance applied. */
  tolerance: Tolerance;
  /** True when every bound holds. */
  pass: boolean;
  /** The worst figures over the compared tensors, and the step where max |d| peaked. */
  worst: ErrorFigures & { step: number | null };
  /** Per-step figures (free run and replays). */
  perStep: StepFigures[];
  /** Human-readable bound violations: which bound, at which step, by how much. */
  failures: string[];
  /**
   * The same comparison with correctly rounded (IEEE) math, when the reference machine's math
   * differs from it: what a port computing IEEE math gets. Informational; `pass` is decided
   * with the reference's math.
   */
  ieee?: { worst: ErrorFigures & { step: number | null }; pass: boolean };
}

/**
 * The float32 sqrt/exp/log a case compared with: recorded in the reference, inferred from it,
 * or IEEE; and what the reference machine's math explains.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ReferenceMathSummary } from "./schema.ts";
 * const ieee: ReferenceMathSummary = {
 *   source: "ieee", pairs: 0, nonIeee: 0, misses: 0, missedInputs: 0, unexplainedSteps: [], lines: [],
 * };
 * assert.deepEqual(ieee.nonIeee > 0, false);
 * ```
 */
export interface ReferenceMathSummary {
  /** "recorded", "inferred" or "ieee". */
  source: "recorded" | "inferred" | "ieee";
  /** Entries of the table (recorded pairs, or inferred results). */
  pairs: number;
  /** Entries that differ from the correctly rounded result. */
  nonIeee: number;
  /** Recorded tables: calls of the runs whose input the table lacks (answered IEEE). */
  misses: number;
  /** Recorded tables: distinct missed inputs. */
  missedInputs: number;
  /** Inferred tables: steps (-1: initial latents) no combination within the bounds explained. */
  unexplainedSteps: number[];
  /** Inferred tables: entries dropped because they made the unexplained steps worse than IEEE. */
  discarded?: number;
  /** Inferred tables: elements of the VAE sample explained / left unexplained. */
  elementwise?: { changed: number; unexplained: number; elements: number };
  /** Per op, how the reference's results differ from IEEE and at how many steps they matter. */
  lines: string[];
  /** The reference's own description of its math (torch version, CPU capability), if any. */
  machine?: string;
}

/**
 * Timing of one case's free run.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseTiming } from "./schema.ts";
 * const t: CaseTiming = {
 *   totalMs: 10, loadMs: 1, modelCalls: 2, unetMsTotal: 6, unetMsMean: 3, schedulerMsTotal: 1, decodeMs: 1,
 * };
 * assert.deepEqual(t.unetMsTotal / t.modelCalls, t.unetMsMean);
 * ```
 */
export interface CaseTiming {
  /** Wall time of the whole case (load, three loops, comparisons). */
  totalMs: number;
  /** Model-folder load and session creation. */
  loadMs: number;
  /** UNet calls in the free run. */
  modelCalls: number;
  /** Sum of UNet call times in the free run. */
  unetMsTotal: number;
  /** Mean UNet call time. */
  unetMsMean: number;
  /** Sum of scheduler step times in the free run. */
  schedulerMsTotal: number;
  /** VAE decode time. */
  decodeMs: number;
}

/**
 * The figures of an inversion round trip (docs/inversion.md), for a case of an inversion kind
 * and for every image of an inversion study.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RoundTripFigures } from "./schema.ts";
 * const f: RoundTripFigures = {
 *   latentMse: 1e-4, latentMaxAbs: 0.05, pixelMse: 0.002, psnr: 33, ssim: 0.98,
 *   ceilingPsnr: 40, psnrVsCeiling: 34, nfe: 100, ms: 120,
 * };
 * assert.ok(f.psnr < f.ceilingPsnr);
 * ```
 */
export interface RoundTripFigures {
  /** Mean squared difference between z0 and the reconstructed latents. */
  latentMse: number;
  /** Largest |difference| between them. */
  latentMaxAbs: number;
  /** Mean squared difference between the decoded reconstruction and the original, on [-1, 1]. */
  pixelMse: number;
  /** PSNR of the reconstruction against the original, data range 2, dB. */
  psnr: number;
  /** SSIM of the reconstruction against the original (data range 2). */
  ssim: number;
  /** PSNR of D(E(x)) against the original: the ceiling (Infinity for a pixel-space model). */
  ceilingPsnr: number;
  /** PSNR of the reconstruction against D(E(x)), dB. */
  psnrVsCeiling: number;
  /** Model evaluations of both passes, the guidance batch counted as one. */
  nfe: number;
  /** Wall time of both passes, milliseconds. */
  ms: number;
}

/**
 * What the digit classifier makes of a case's decoded image (a case's `digit` field): a figure
 * beside the verdict, not part of it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseDigit } from "./schema.ts";
 * const d: CaseDigit = {
 *   classifier: "fixtures/models/digit-classifier.json", label: 7, predicted: 7,
 *   probability: 0.98, labelProbability: 0.98,
 * };
 * assert.equal(d.predicted === d.label, true);
 * ```
 */
export interface CaseDigit {
  /** The classifier JSON that scored the image. */
  classifier: string;
  /** The digit the case asked for, when it says. */
  label?: number;
  /** The most probable digit. */
  predicted: number;
  /** Its probability. */
  probability: number;
  /** The probability of `label`, when given. */
  labelProbability?: number;
}

/**
 * An image a case produced. In memory (from the runner) it carries the PNG bytes in `png`;
 * the report writer writes them to a file and results.json keeps only `{ label, file }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseImage } from "./schema.ts";
 * const fromRunner: CaseImage = { label: "ours", png: new Uint8Array([137, 80, 78, 71]) };
 * const inResultsJson: CaseImage = { label: "ours", file: "images/ddim-eta0.png" };
 * assert.deepEqual([fromRunner.file, inResultsJson.png], [undefined, undefined]);
 * ```
 */
export interface CaseImage {
  /** What the image is: "ours" is the free run's decoded image. */
  label: string;
  /** The PNG file, relative to the folder of results.json (set by the report writer). */
  file?: string;
  /** The PNG bytes (in memory only; never serialised). */
  png?: Uint8Array;
}

/**
 * The verdict of one case: `noref` means the case has no reference file, so only the free run
 * ran; it is neither a pass nor a failure.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseStatus } from "./schema.ts";
 * const gates = (s: CaseStatus) => s === "fail" || s === "error";
 * assert.deepEqual((["pass", "fail", "error", "noref"] as CaseStatus[]).map(gates), [false, true, true, false]);
 * ```
 */
export type CaseStatus = "pass" | "fail" | "error" | "noref";

/**
 * Where a case's reference comes from: `diffusers` (made by fixtures/gen or another diffusers
 * run) or `golden` (our own earlier free run, written by `verify --update-goldens --yes`; its
 * metadata has `golden: "true"`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ReferenceKind } from "./schema.ts";
 * const kind = (metadata: Record<string, string>): ReferenceKind =>
 *   metadata["golden"] === "true" ? "golden" : "diffusers";
 * assert.deepEqual(kind({ golden: "true" }), "golden");
 * ```
 */
export type ReferenceKind = "diffusers" | "golden";

/**
 * One model call of a free run without reference: what can be said without one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { FreeRunStep } from "./schema.ts";
 * const s: FreeRunStep = { step: 0, t: 951, modelMs: 3.5, stepMs: 0.1, absMax: 2.7 };
 * assert.deepEqual(Number.isFinite(s.absMax), true); // a NaN/Inf stops the run with an error
 * ```
 */
export interface FreeRunStep {
  /** Model-call index. */
  step: number;
  /** The timestep. */
  t: number;
  /** UNet call time, milliseconds. */
  modelMs: number;
  /** Sampler step time, milliseconds. */
  stepMs: number;
  /** Largest |value| of the latents after the step. */
  absMax: number;
}

/**
 * Everything verify learned about one case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { CaseResult } from "./schema.ts";
 * const failed = (r: CaseResult) => r.status !== "pass";
 * const broken: CaseResult = {
 *   name: "broken", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *   provider: "cpu", status: "error", error: "m/unet/model.onnx: missing", comparisons: [],
 *   timing: null, latentsSha256: null,
 * };
 * assert.deepEqual(failed(broken), true);
 * const warned: CaseResult = { ...broken, warnings: ['m/scheduler/scheduler_config.json: unknown key "x"; kept in extra, not used'] };
 * assert.equal(warned.warnings?.length, 1);
 * ```
 */
export interface CaseResult {
  /** Case name. */
  name: string;
  /** Case description. */
  description: string;
  /** Pipeline kind. */
  pipeline: string;
  /** Sampler type. */
  sampler: string;
  /**
   * The dtype the sampler ran in (the case's `precision`): "float32", or "float16" (latents,
   * guidance and steps in torch's CPU half arithmetic). Absent in results written before it
   * existed (read as "float32").
   */
  precision?: "float32" | "float16";
  /** Model folder. */
  model: string;
  /** The execution provider that really ran. */
  provider: string;
  /**
   * pass: every comparison within tolerance; fail: some is not; error: the case could not run;
   * noref: the case has no reference file, so only the free run ran (not a pass).
   */
  status: CaseStatus;
  /** For status error: what went wrong, naming the file and field. */
  error?: string;
  /** For status noref: which reference is missing and how to make one. */
  noReference?: string;
  /** What the comparisons compared against: diffusers' run, or a golden (our own earlier run). */
  reference?: ReferenceKind;
  /**
   * For a golden reference: what it is, when and where it was written, what was skipped; for a
   * diffusers reference without its torch side: that the torch comparison was skipped; for a
   * prefix reference (per-step tensors for its first calls only): which calls those are.
   */
  referenceNote?: string;
  /** The digit classifier's view of the decoded image, for a case with a `digit` field. */
  digit?: CaseDigit;
  /** An inversion case: the round trip's figures in the free run. */
  roundTrip?: RoundTripFigures;
  /** For status noref: per-step figures that need no reference (timings, largest |latent|). */
  freeRunSteps?: FreeRunStep[];
  /** The comparisons. */
  comparisons: ComparisonResult[];
  /** Timing. */
  timing: CaseTiming | null;
  /** The float32 math the comparisons used (absent for a case that errored early). */
  math?: ReferenceMathSummary;
  /** sha256 of the free run's final latents (float32 little-endian bytes). */
  latentsSha256: string | null;
  /** Decoded images (PNG bytes in memory, files in results.json); see {@link CaseImage}. */
  images?: CaseImage[];
  /**
   * What the case's inputs leave to defaults or do not use, each naming its file: scheduler
   * config keys kept but not used, tokenizer settings assumed (absent when there are none).
   */
  warnings?: string[];
}

/**
 * A whole verify run; results.json holds one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RESULTS_FORMAT, type VerifyResult } from "./schema.ts";
 * const summary = (v: VerifyResult) => `${v.passed} passed, ${v.failed} failed`;
 * const empty: VerifyResult = {
 *   format: RESULTS_FORMAT, versions: {}, requestedProvider: "cpu", cases: [], passed: 0, failed: 0,
 * };
 * assert.deepEqual(summary(empty), "0 passed, 0 failed");
 * ```
 */
export interface VerifyResult {
  /** Tool name and format version ({@link RESULTS_FORMAT}). */
  format: typeof RESULTS_FORMAT;
  /** Versions of the runtime pieces. */
  versions: Record<string, string>;
  /** The execution provider asked for. */
  requestedProvider: string;
  /** Per case. */
  cases: CaseResult[];
  /** Cases that passed. */
  passed: number;
  /** Cases that failed or errored. */
  failed: number;
  /** Cases without reference (status noref): neither passed nor failed. */
  noReference?: number;
}
