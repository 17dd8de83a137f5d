/**
 * The verdict lines verify prints: one line per case with each comparison's worst figure
 * against its bound, the reference machine's math when it matters, and the violated bounds.
 *
 * @module
 */
import { fmt } from "../results/format.ts";
import { COMPARISON_KINDS } from "../results/kinds.ts";
import type {
  CaseDigit,
  CaseResult,
  ComparisonResult,
  RoundTripFigures,
} from "../results/schema.ts";

/** One comparison's part of the verdict line, e.g. `vs onnx 0 (<= 1e-5)`. */
function headline(c: ComparisonResult): string {
  const w = c.worst;
  const [bound, value] = c.tolerance.maxUlp !== undefined
    ? [`<= ${fmt(c.tolerance.maxUlp)} ulp`, `${fmt(w.maxUlp)} ulp`]
    : c.tolerance.psnrMin !== undefined
    ? [`>= ${fmt(c.tolerance.psnrMin)} dB`, `${w.psnr === undefined ? "-" : fmt(w.psnr)} dB`]
    : c.tolerance.maxAbs !== undefined
    ? [`<= ${fmt(c.tolerance.maxAbs)}`, fmt(w.maxAbs)]
    : c.tolerance.relL2 !== undefined
    ? [`relL2 <= ${fmt(c.tolerance.relL2)}`, `relL2 ${fmt(w.relL2)}`]
    : ["", fmt(w.maxAbs)];
  const ieee = c.ieee
    ? ` [IEEE math ${
      c.tolerance.maxUlp !== undefined
        ? `${fmt(c.ieee.worst.maxUlp)} ulp`
        : fmt(c.ieee.worst.maxAbs)
    }]`
    : "";
  return `${COMPARISON_KINDS[c.kind]?.short ?? c.kind} ${value}${
    bound ? ` (${bound})` : ""
  }${ieee}${c.pass ? "" : " FAIL"}`;
}

/**
 * The math line of a verdict, when there is something to say: which math the comparisons used,
 * how the reference machine's differs from IEEE, what it explains, and misses or steps the
 * inference could not explain.
 */
function mathLine(r: CaseResult): string {
  const m = r.math;
  if (
    !m ||
    (m.nonIeee === 0 && m.misses === 0 && m.unexplainedSteps.length === 0 &&
      !m.elementwise?.unexplained)
  ) return "";
  const parts = [
    m.source === "recorded"
      ? `recorded ${m.pairs} pairs, ${m.nonIeee} not IEEE, ${m.misses} misses`
      : `inferred ${m.nonIeee} non-IEEE results`,
    ...m.lines,
  ];
  if (m.elementwise && (m.elementwise.changed > 0 || m.elementwise.unexplained > 0)) {
    parts.push(
      `VAE sample: ${m.elementwise.changed} of ${m.elementwise.elements} exp results` +
        (m.elementwise.unexplained ? `, ${m.elementwise.unexplained} elements unexplained` : ""),
    );
  }
  if (m.unexplainedSteps.length) {
    parts.push(
      `unexplained at steps ${m.unexplainedSteps.join(", ")}` +
        (m.discarded ? ` (${m.discarded} inferred results made them worse: dropped)` : ""),
    );
  }
  const free = r.comparisons.find((c) => c.kind === "freeRunOnnx");
  if (free?.ieee) {
    const [now, was] = [free.worst.maxAbs, free.ieee.worst.maxAbs];
    parts.push(
      now > was
        ? `with the reference's math the free run is worse than with IEEE math ` +
          `(${fmt(now)}, IEEE ${fmt(was)})`
        : `the reference machine's math explains ${
          now === 0 ? "all of" : now < was ? "part of" : "none of"
        } the IEEE run's ${fmt(was)} (now ${fmt(now)})`,
    );
  }
  return `\n      math: ${parts.join(" · ")}`;
}

/**
 * The verdict of a case as verify prints it: status, name, each comparison's worst figure
 * against its bound (short names from `COMPARISON_KINDS`), the case time, then indented lines
 * for a float16 sampler ({@link precisionLine}), the reference machine's math, each of the
 * case's warnings and each failing comparison.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { caseLine } from "./console.ts";
 * const figures = { maxAbs: 0, rmse: 0, relL2: 0, cosine: 1, maxUlp: 0 };
 * const line = caseLine({
 *   name: "ddim-eta0", description: "", pipeline: "text2img", sampler: "DDIMScheduler",
 *   model: "m", provider: "cpu", status: "fail", timing: null, latentsSha256: null,
 *   comparisons: [
 *     {
 *       kind: "freeRunOnnx", reference: "r", subject: "", tolerance: { maxAbs: 1e-5 },
 *       pass: true, worst: { ...figures, step: 19 }, perStep: [], failures: [],
 *     },
 *     {
 *       kind: "replayScheduler", reference: "r", subject: "", tolerance: { maxUlp: 0 },
 *       pass: false, worst: { ...figures, maxUlp: 3, step: 2 }, perStep: [],
 *       failures: ["maxUlp 3 > 0 at step 2 (t=901)"],
 *     },
 *   ],
 * });
 * assert.equal(
 *   line,
 *   "FAIL  ddim-eta0          vs onnx 0 (<= 1e-5) · sched 3 ulp (<= 0 ulp) FAIL\n" +
 *     "      replayScheduler: maxUlp 3 > 0 at step 2 (t=901)",
 * );
 * const error = {
 *   name: "x", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *   provider: "cpu", status: "error" as const, error: "m/unet/model.onnx: missing",
 *   comparisons: [], timing: null, latentsSha256: null,
 *   warnings: ['case \'x\' sampler.config: "skip_prk_steps" is not an option of DDIMScheduler; kept in extra, not used'],
 * };
 * assert.equal(
 *   caseLine(error),
 *   "ERROR x                  m/unet/model.onnx: missing\n" +
 *     "      warning: case 'x' sampler.config: \"skip_prk_steps\" is not an option of DDIMScheduler; kept in extra, not used",
 * );
 * // a case without reference: the free run only, not a pass, and how to make references
 * const noref = caseLine({
 *   name: "my-case", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *   provider: "cpu", status: "noref", comparisons: [], latentsSha256: "0123456789abcdef",
 *   noReference: "refs/my-case.onnx.safetensors does not exist; make references with `deno task refs`",
 *   timing: { totalMs: 812, loadMs: 1, modelCalls: 20, unetMsTotal: 60, unetMsMean: 3, schedulerMsTotal: 1, decodeMs: 1 },
 * });
 * assert.equal(
 *   noref,
 *   "NOREF my-case            no reference (refs/my-case.onnx.safetensors does not exist): " +
 *     "free run only: 20 model calls, no NaN/Inf, UNet mean 3 ms, final latents sha256 0123456789ab… · 812 ms\n" +
 *     "      make references with `deno task refs`",
 * );
 * ```
 */
export function caseLine(r: CaseResult): string {
  const status = r.status.toUpperCase().padEnd(5);
  const warnings = (r.warnings ?? []).map((w) => `\n      warning: ${w}`).join("");
  if (r.status === "error") return `${status} ${r.name.padEnd(18)} ${r.error}${warnings}`;
  const digit = (r.roundTrip ? `\n      round trip: ${roundTripText(r.roundTrip)}` : "") +
    (r.digit ? `\n      digit: ${digitText(r.digit)}` : "");
  if (r.status === "noref") return norefLine(r) + precisionLine(r) + digit + warnings;
  const parts = r.comparisons.map(headline).join(" · ");
  const failures = r.comparisons.filter((c) => !c.pass).map((c) =>
    `\n      ${c.kind}: ${c.failures.join("; ")}`
  ).join("");
  const ms = r.timing ? ` · ${fmt(Math.round(r.timing.totalMs))} ms` : "";
  const note = r.referenceNote ? `\n      reference: ${r.referenceNote}` : "";
  return `${status} ${r.name.padEnd(18)} ${parts}${ms}${note}${precisionLine(r)}${
    mathLine(r)
  }${digit}${warnings}${failures}`;
}

/**
 * An inversion round trip's figures in one line (docs/inversion.md).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { roundTripText } from "./console.ts";
 * assert.equal(
 *   roundTripText({
 *     latentMse: 1.5e-4, latentMaxAbs: 0.05, pixelMse: 0.002, psnr: 33.01, ssim: 0.981,
 *     ceilingPsnr: 40.2, psnrVsCeiling: 34.5, nfe: 20, ms: 31,
 *   }),
 *   "latent MSE 1.5e-4 (max|d| 0.05) · PSNR 33.0 dB (VAE ceiling 40.2 dB, vs ceiling 34.5 dB) · SSIM 0.981 · NFE 20",
 * );
 * ```
 */
export function roundTripText(f: RoundTripFigures): string {
  const db = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} dB` : "exact");
  // a pixel-space model has no VAE: its ceiling is the original itself
  const ceiling = Number.isFinite(f.ceilingPsnr)
    ? ` (VAE ceiling ${db(f.ceilingPsnr)}, vs ceiling ${db(f.psnrVsCeiling)})`
    : " (no VAE)";
  return `latent MSE ${fmt(f.latentMse)} (max|d| ${fmt(f.latentMaxAbs)}) · PSNR ${db(f.psnr)}` +
    `${ceiling} · SSIM ${f.ssim.toFixed(3)} · NFE ${f.nfe}`;
}

/**
 * What the digit classifier made of a case's image (its `digit` field), in words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitText } from "./console.ts";
 * assert.equal(
 *   digitText({ classifier: "c.json", label: 7, predicted: 1, probability: 0.61, labelProbability: 0.3 }),
 *   "the classifier sees a 1 (p 0.610); asked for 7 (p 0.300)",
 * );
 * assert.equal(
 *   digitText({ classifier: "c.json", predicted: 8, probability: 0.9 }),
 *   "the classifier sees an 8 (p 0.900)",
 * );
 * ```
 */
export function digitText(d: CaseDigit): string {
  const asked = d.label === undefined
    ? ""
    : `; asked for ${d.label} (p ${d.labelProbability!.toFixed(3)})`;
  const article = d.predicted === 8 ? "an" : "a";
  return `the classifier sees ${article} ${d.predicted} (p ${d.probability.toFixed(3)})${asked}`;
}

/**
 * The indented line that says a case's sampler ran in float16 (nothing for float32, the
 * default), e.g. `      sampler: float16 (...)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { precisionLine } from "./console.ts";
 * assert.equal(precisionLine({ precision: "float32" }), "");
 * assert.match(precisionLine({ precision: "float16" }), /^\n {6}sampler: float16 \(/);
 * ```
 */
export function precisionLine(r: Pick<CaseResult, "precision">): string {
  return r.precision === "float16"
    ? "\n      sampler: float16 (latents, guidance and steps in torch's CPU half arithmetic)"
    : "";
}

/** The verdict of a case without reference: what ran, and how to make references. */
function norefLine(r: CaseResult): string {
  const t = r.timing;
  const [missing, advice] = (r.noReference ?? "").split("; ");
  const what = [
    `free run only: ${t?.modelCalls ?? 0} model calls, no NaN/Inf`,
    ...(t ? [`UNet mean ${fmt(t.unetMsMean)} ms`] : []),
    ...(r.latentsSha256 ? [`final latents sha256 ${r.latentsSha256.slice(0, 12)}…`] : []),
  ].join(", ");
  const ms = t ? ` · ${fmt(Math.round(t.totalMs))} ms` : "";
  return `NOREF ${r.name.padEnd(18)} no reference (${missing}): ${what}${ms}` +
    (advice ? `\n      ${advice}` : "");
}

/**
 * The closing line of a verify run, e.g. `18 passed, 0 failed · report: reports/index.html`
 * (without the report part when nothing was written), with `, N without reference` when some
 * cases had no reference.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { summaryLine } from "./console.ts";
 * assert.equal(
 *   summaryLine({ passed: 18, failed: 0 }, "reports/index.html"),
 *   "18 passed, 0 failed · report: reports/index.html",
 * );
 * assert.equal(summaryLine({ passed: 1, failed: 2 }), "1 passed, 2 failed");
 * assert.equal(
 *   summaryLine({ passed: 17, failed: 0, noReference: 1 }),
 *   "17 passed, 0 failed, 1 without reference",
 * );
 * ```
 */
export function summaryLine(
  counts: { passed: number; failed: number; noReference?: number },
  report?: string,
): string {
  const noref = counts.noReference ? `, ${counts.noReference} without reference` : "";
  return `${counts.passed} passed, ${counts.failed} failed${noref}${
    report ? ` · report: ${report}` : ""
  }`;
}
