/**
 * JUnit XML for CI systems: one testsuite, one testcase per case, a failure element naming
 * the violated bounds; a case without reference is a skipped testcase saying so.
 *
 * @module
 */
import type { VerifyResult } from "../results/schema.ts";
import { escapeHtml } from "./html.ts";

/**
 * Renders a verify run as JUnit XML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderJunit } from "./junit.ts";
 * const xml = renderJunit({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", cases: [], passed: 0, failed: 0,
 * });
 * assert.match(xml, /<testsuite name="diffparity verify" tests="0" failures="0" errors="0">/);
 * const warned = renderJunit({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 1, failed: 0,
 *   cases: [{
 *     name: "x", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *     provider: "cpu", status: "pass", comparisons: [], timing: null, latentsSha256: null,
 *     warnings: ['tok: no tokenizer_config.json: assumed "<|endoftext|>"'],
 *   }],
 * });
 * assert.match(warned, /<system-out>warning: tok: no tokenizer_config\.json: assumed &quot;&lt;\|endoftext\|&gt;&quot;<\/system-out>/);
 * // a case without reference is a skipped testcase that says so
 * const noref = renderJunit({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 0, failed: 0, noReference: 1,
 *   cases: [{
 *     name: "my-case", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *     provider: "cpu", status: "noref", comparisons: [], timing: null, latentsSha256: null,
 *     noReference: "refs/my-case.onnx.safetensors does not exist",
 *   }],
 * });
 * assert.match(noref, /skipped="1"/);
 * assert.match(noref, /<skipped message="no reference: refs\/my-case.onnx.safetensors does not exist"\/>/);
 * ```
 */
export function renderJunit(result: VerifyResult): string {
  const cases = result.cases.map((r) => {
    const time = ((r.timing?.totalMs ?? 0) / 1000).toFixed(3);
    const open = `  <testcase classname="diffparity.${escapeHtml(r.sampler)}" name="${
      escapeHtml(r.name)
    }" time="${time}">`;
    const out = r.warnings?.length
      ? `\n    <system-out>${
        escapeHtml(r.warnings.map((w) => `warning: ${w}`).join("\n"))
      }</system-out>`
      : "";
    if (r.status === "pass") return out ? `${open}${out}\n  </testcase>` : `${open}</testcase>`;
    if (r.status === "noref") {
      const message = `no reference: ${r.noReference ?? ""}`;
      return `${open}\n    <skipped message="${escapeHtml(message)}"/>${out}\n  </testcase>`;
    }
    if (r.status === "error") {
      return `${open}\n    <error message="${escapeHtml((r.error ?? "").split("\n")[0])}">${
        escapeHtml(r.error ?? "")
      }</error>${out}\n  </testcase>`;
    }
    const failures = r.comparisons.filter((c) => !c.pass).map((c) =>
      `${c.kind}: ${c.failures.join("; ")}`
    );
    return `${open}\n    <failure message="${escapeHtml(failures[0] ?? "")}">${
      escapeHtml(failures.join("\n"))
    }</failure>${out}\n  </testcase>`;
  }).join("\n");
  const errors = result.cases.filter((r) => r.status === "error").length;
  const failures = result.cases.filter((r) => r.status === "fail").length;
  const skipped = result.cases.filter((r) => r.status === "noref").length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="diffparity verify" tests="${result.cases.length}" failures="${failures}" errors="${errors}"${
    skipped ? ` skipped="${skipped}"` : ""
  }>\n${cases}\n</testsuite>\n`;
}
