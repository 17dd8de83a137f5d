/**
 * `verify`: runs every case (or a filtered subset), prints one line per case with its worst
 * error against its tolerance, and writes reports/results.json, reports/index.html and
 * reports/junit.xml — all at the end, each atomically, so an interrupted run never leaves a
 * half-written report.
 *
 * @module
 */
import type { ExecutionProviderName } from "../models/execution_provider.ts";
import { renderHtmlReport } from "../report/html.ts";
import { renderJunit } from "../report/junit.ts";
import { writeTextFileAtomic } from "../tensor/atomic_write.ts";
import type { Case } from "./case.ts";
import { loadCases } from "./cases_loader.ts";
import { join } from "node:path";
import { type ProgressSink, silentProgress, terminalProgress } from "./progress.ts";
import type { CaseResult, ComparisonResult, VerifyResult } from "./results.ts";
import { ModelPool } from "./model_pool.ts";
import { runCase } from "./runner.ts";
import { fmt } from "./tolerance.ts";

/**
 * Options of `verify`.
 *
 * @example
 * ```ts
 * import type { VerifyOptions } from "./verify.ts";
 * const o: VerifyOptions = { filter: "ddim", executionProvider: "cpu", outDir: "reports" };
 * ```
 */
export interface VerifyOptions {
  /** Folder of *.case.ts (default "cases"). */
  casesDir?: string;
  /** Only cases whose name contains this (or matches this RegExp). */
  filter?: string | RegExp;
  /** Cases to run instead of loading them from `casesDir`. */
  cases?: readonly Case[];
  /** Execution provider (default "cpu"). */
  executionProvider?: ExecutionProviderName;
  /** Fall back to CPU when the provider cannot run. */
  fallback?: boolean;
  /** WebGPU only: onnxruntime's preferred tensor layout (default: onnxruntime's choice). */
  webgpuLayout?: "default" | "NCHW" | "NHWC";
  /** Where results.json, index.html and junit.xml go (default "reports"); null writes nothing. */
  outDir?: string | null;
  /** The fixture manifest (default "fixtures/manifest.json"); null skips hash checks. */
  manifest?: string | null;
  /** Receives one line per case (default console.log). */
  log?: (line: string) => void;
  /** Progress display (default: a redrawn line on a terminal, silent otherwise). */
  progress?: ProgressSink;
}

const SHORT: Record<string, string> = {
  freeRunOnnx: "vs onnx",
  freeRunTorch: "vs torch",
  replayScheduler: "sched",
  replayModel: "model",
  image: "image",
};

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
  return `${SHORT[c.kind] ?? c.kind} ${value}${bound ? ` (${bound})` : ""}${ieee}${
    c.pass ? "" : " FAIL"
  }`;
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
 * The one-line verdict of a case, e.g.
 * `PASS ddim-eta0        vs onnx 0 (<= 1e-5) · vs torch 4.2e-5 (<= 1e-3) · sched 0 ulp (<= 1 ulp) · …`.
 *
 * @example
 * ```ts
 * import { caseLine } from "./verify.ts";
 * // caseLine(result) for a CaseResult from runCase
 * ```
 */
export function caseLine(r: CaseResult): string {
  const status = r.status.toUpperCase().padEnd(5);
  if (r.status === "error") return `${status} ${r.name.padEnd(18)} ${r.error}`;
  const parts = r.comparisons.map(headline).join(" · ");
  const failures = r.comparisons.filter((c) => !c.pass).map((c) =>
    `\n      ${c.kind}: ${c.failures.join("; ")}`
  ).join("");
  const ms = r.timing ? ` · ${fmt(Math.round(r.timing.totalMs))} ms` : "";
  return `${status} ${r.name.padEnd(18)} ${parts}${ms}${mathLine(r)}${failures}`;
}

async function versions(): Promise<Record<string, string>> {
  const out: Record<string, string> = { deno: Deno.version.deno, v8: Deno.version.v8 };
  try {
    const ort = await import("onnxruntime-node");
    const v = (ort as { env?: { versions?: Record<string, string> } }).env?.versions;
    if (v?.common) out["onnxruntime-node"] = v.common;
  } catch { /* reported as absent */ }
  return out;
}

/**
 * Runs the cases and writes the reports. Returns every figure; exit status is up to the caller
 * (`failed > 0` means the gate is red).
 *
 * @example
 * ```ts
 * import { verify } from "./verify.ts";
 * const result = await verify({ filter: "guidance-1", outDir: null });
 * console.log(`${result.passed} passed, ${result.failed} failed`);
 * ```
 */
export async function verify(options: VerifyOptions = {}): Promise<VerifyResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const progress = options.progress ?? (options.log ? silentProgress : terminalProgress());
  const cases = options.cases
    ? options.cases.filter((c) =>
      !options.filter ||
      (typeof options.filter === "string"
        ? c.name.includes(options.filter)
        : options.filter.test(c.name))
    )
    : await loadCases(options.casesDir ?? "cases", options.filter);
  const provider = options.executionProvider ?? "cpu";
  const results: CaseResult[] = [];
  const models = new ModelPool();
  try {
    for (const [i, c] of cases.entries()) {
      progress.caseStart(c.name, i + 1, cases.length);
      const r = await runCase(c, {
        executionProvider: provider,
        fallback: options.fallback,
        webgpuLayout: options.webgpuLayout,
        manifest: options.manifest,
        progress,
        models,
      });
      progress.caseEnd();
      results.push(r);
      log(caseLine(r));
    }
  } finally {
    await models.releaseAll();
  }
  const passed = results.filter((r) => r.status === "pass").length;
  const result: VerifyResult = {
    format: "diffparity-results/1",
    versions: await versions(),
    requestedProvider: provider,
    cases: results,
    passed,
    failed: results.length - passed,
  };
  if (options.outDir !== null) {
    const dir = options.outDir ?? "reports";
    // Render everything first, then write: a failure while rendering writes nothing.
    const json = JSON.stringify(result, null, 1) + "\n";
    const html = renderHtmlReport(result);
    const junit = renderJunit(result);
    await writeTextFileAtomic(join(dir, "results.json"), json);
    await writeTextFileAtomic(join(dir, "junit.xml"), junit);
    await writeTextFileAtomic(join(dir, "index.html"), html);
  }
  return result;
}
