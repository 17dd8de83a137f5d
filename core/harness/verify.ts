/**
 * `verify`: runs every case (or a filtered subset) and returns every figure as a
 * `VerifyResult`. It prints and writes nothing: the caller gets each case's result as it ends
 * (`onCase`) and writes the report (`writeReport` of the report writer, as the CLI does).
 *
 * @module
 */
import { runtimeVersions } from "./runtime_versions.ts";
import type { ExecutionProviderName } from "../models/provider_names.ts";
import { RESULTS_FORMAT } from "../results/schema.ts";
import type { CaseResult, VerifyResult } from "../results/schema.ts";
import type { Case } from "./case.ts";
import { loadCases } from "./cases_loader.ts";
import { type ProgressSink, terminalProgress } from "./progress.ts";

/**
 * Options of `verify`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { VerifyOptions } from "./verify.ts";
 * const seen: string[] = [];
 * const o: VerifyOptions = {
 *   filter: "ddim",
 *   executionProvider: "cpu",
 *   onCase: (r, index, total) => seen.push(`${index + 1}/${total} ${r.name}`),
 * };
 * assert.equal(o.executionProvider, "cpu");
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
  /** The fixture manifest (default "fixtures/manifest.json"); null skips hash checks. */
  manifest?: string | null;
  /** Called when each case ends, with its result, its 0-based index and the number of cases. */
  onCase?: (result: CaseResult, index: number, total: number) => void;
  /** Progress display (default: a redrawn line on a terminal, silent otherwise). */
  progress?: ProgressSink;
}

/**
 * Runs the cases and returns every figure; writes no file and prints nothing. Exit status is
 * up to the caller (`failed > 0` means the gate is red; a case without reference, status
 * `noref`, counts in `noReference`, neither passed nor failed). The runner and onnxruntime load when
 * there is a case to run, so importing this module needs no FFI permission.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { verify } from "./verify.ts";
 * // With cases (e.g. `verify({ filter: "guidance-1", onCase })`) it runs the models; with none
 * // it returns an empty run:
 * const names: string[] = [];
 * const result = await verify({ cases: [], onCase: (r) => names.push(r.name) });
 * assert.deepEqual(names, []);
 * assert.deepEqual(
 *   [result.format, result.requestedProvider, result.cases, result.passed, result.failed],
 *   ["diffparity-results/2", "cpu", [], 0, 0],
 * );
 * ```
 */
export async function verify(options: VerifyOptions = {}): Promise<VerifyResult> {
  const progress = options.progress ?? terminalProgress();
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
  if (cases.length === 0) return summary(provider, results);
  const [{ ModelPool }, { runCase }] = await Promise.all([
    import("./model_pool.ts"),
    import("./runner.ts"),
  ]);
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
      options.onCase?.(r, i, cases.length);
    }
  } finally {
    await models.releaseAll();
  }
  return summary(provider, results);
}

async function summary(provider: string, results: CaseResult[]): Promise<VerifyResult> {
  const count = (...s: CaseResult["status"][]) =>
    results.filter((r) => s.includes(r.status)).length;
  const noReference = count("noref");
  return {
    format: RESULTS_FORMAT,
    versions: await runtimeVersions(),
    requestedProvider: provider,
    cases: results,
    passed: count("pass"),
    failed: count("fail", "error"),
    ...(noReference ? { noReference } : {}),
  };
}
