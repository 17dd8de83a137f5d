/**
 * The result records of a verify run: per case, per comparison, per step. results.json is
 * exactly a `VerifyResult` serialised.
 *
 * @module
 */
import type { Tolerance } from "./case.ts";

/** The comparison kinds a case makes (keys of `CaseTolerances`). */
export type ComparisonKind =
  | "freeRunOnnx"
  | "freeRunTorch"
  | "replayScheduler"
  | "replayModel"
  | "image";

/**
 * Error figures of one tensor against its reference.
 *
 * @example
 * ```ts
 * import type { ErrorFigures } from "./results.ts";
 * const exact: ErrorFigures = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
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
 * import type { StepFigures } from "./results.ts";
 * const s: StepFigures = { step: 0, t: 951, maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
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
 * import type { ComparisonResult } from "./results.ts";
 * function line(c: ComparisonResult) { return `${c.kind}: ${c.pass ? "ok" : c.failures.join("; ")}`; }
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
 * import type { ReferenceMathSummary } from "./results.ts";
 * const noted = (m: ReferenceMathSummary) => m.nonIeee > 0;
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
 * import type { CaseTiming } from "./results.ts";
 * const t: CaseTiming = { totalMs: 10, loadMs: 1, modelCalls: 2, unetMsTotal: 6, unetMsMean: 3, schedulerMsTotal: 1, decodeMs: 1 };
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
 * Everything verify learned about one case.
 *
 * @example
 * ```ts
 * import type { CaseResult } from "./results.ts";
 * function failed(r: CaseResult) { return r.status !== "pass"; }
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
  /** Model folder. */
  model: string;
  /** The execution provider that really ran. */
  provider: string;
  /** pass: every comparison within tolerance; fail: some is not; error: the case could not run. */
  status: "pass" | "fail" | "error";
  /** For status error: what went wrong, naming the file and field. */
  error?: string;
  /** The comparisons. */
  comparisons: ComparisonResult[];
  /** Timing. */
  timing: CaseTiming | null;
  /** The float32 math the comparisons used (absent for a case that errored early). */
  math?: ReferenceMathSummary;
  /** sha256 of the free run's final latents (float32 little-endian bytes). */
  latentsSha256: string | null;
  /** The decoded image as a PNG data URL, for the HTML report. */
  imagePng?: string;
}

/**
 * A whole verify run; results.json holds one.
 *
 * @example
 * ```ts
 * import type { VerifyResult } from "./results.ts";
 * function summary(v: VerifyResult) { return `${v.passed} passed, ${v.failed} failed`; }
 * ```
 */
export interface VerifyResult {
  /** Tool name and format version. */
  format: "diffparity-results/1";
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
}
