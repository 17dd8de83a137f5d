/**
 * The HTML report: one page (inline CSS, inline SVG charts; decoded images as PNG files beside
 * it, `CaseImage.file`) with a verdict per case, every comparison against its tolerance,
 * per-step error charts, the decoded image and the timing.
 *
 * @module
 */
import { fmt } from "../results/format.ts";
import { COMPARISON_KINDS, type ComparisonKind } from "../results/kinds.ts";
import type { CaseResult, ComparisonResult, VerifyResult } from "../results/schema.ts";
import { stepErrorChart } from "./chart.ts";
import { digitText, roundTripText } from "./console.ts";

/**
 * Escapes text for HTML.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeHtml } from "./html.ts";
 * assert.equal(escapeHtml(`<a & "b">`), "&lt;a &amp; &quot;b&quot;&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/** The report's name of a comparison kind (the kind itself if the table lacks it). */
function label(kind: ComparisonKind): string {
  return COMPARISON_KINDS[kind]?.label ?? kind;
}

function toleranceText(c: ComparisonResult): string {
  return Object.entries(c.tolerance).map(([k, v]) => `${k} ${fmt(v as number)}`).join(", ");
}

function comparisonRow(c: ComparisonResult): string {
  const w = c.worst;
  const figures = [
    `max |d| ${fmt(w.maxAbs)}`,
    `ulp ${fmt(w.maxUlp)}`,
    `rel L2 ${fmt(w.relL2)}`,
    `cos ${fmt(w.cosine)}`,
    w.psnr !== undefined ? `PSNR ${fmt(w.psnr)} dB` : "",
    w.ssim !== undefined ? `SSIM ${fmt(w.ssim)}` : "",
  ].filter((s) => s).join(" · ");
  const where = (w.step === null ? "" : ` (worst at step ${w.step})`) +
    (c.ieee
      ? `; with IEEE math: max |d| ${fmt(c.ieee.worst.maxAbs)} · ulp ${fmt(c.ieee.worst.maxUlp)}`
      : "");
  return `<tr class="${c.pass ? "pass" : "fail"}"><td>${escapeHtml(label(c.kind))}</td>` +
    `<td>${escapeHtml(c.subject)}</td><td>${escapeHtml(figures + where)}</td>` +
    `<td>${escapeHtml(toleranceText(c))}</td><td>${
      c.pass ? "ok" : escapeHtml(c.failures.join("; "))
    }</td>` +
    `<td class="ref">${escapeHtml(c.reference)}</td></tr>`;
}

function caseSection(r: CaseResult): string {
  const head =
    `<h2 id="${escapeHtml(r.name)}"><span class="badge ${r.status}">${r.status}</span> ${
      escapeHtml(r.name)
    }</h2>` +
    `<p>${escapeHtml(r.description)} — ${escapeHtml(r.pipeline)}, ${escapeHtml(r.sampler)} ` +
    `(sampler in <b class="precision">${escapeHtml(r.precision ?? "float32")}</b>), ` +
    `model <code>${escapeHtml(r.model)}</code>, provider <b>${escapeHtml(r.provider)}</b></p>`;
  const warnings = r.warnings?.length
    ? `<ul class="warnings">${
      r.warnings.map((w) => `<li>warning: ${escapeHtml(w)}</li>`).join("")
    }</ul>`
    : "";
  if (r.status === "error") {
    return `<section>${head}${warnings}<pre class="error">${
      escapeHtml(r.error ?? "")
    }</pre></section>`;
  }
  const refNote = r.status === "noref"
    ? `<p class="noref"><b>no reference</b>: ${
      escapeHtml(r.noReference ?? "")
    } (not a pass: only the free run ran, with its NaN/Inf checks and timings)</p>`
    : r.reference === "golden" || r.referenceNote
    ? `<p class="golden">reference: <b>${escapeHtml(r.referenceNote ?? "golden")}</b></p>`
    : "";
  const rows = r.comparisons.map(comparisonRow).join("\n");
  const stepwise = r.comparisons.filter((c) => c.perStep.length > 0 && c.kind !== "image");
  const exact = stepwise.filter((c) => c.perStep.every((s) => s.maxAbs === 0));
  const series = stepwise.filter((c) => !exact.includes(c)).map((c) => ({
    label: label(c.kind),
    points: c.perStep.map((s) => ({ step: s.step, value: s.maxAbs })),
  }));
  const exactNote = exact.length
    ? `<p class="exact">0 difference at every step: ${
      exact.map((c) => escapeHtml(label(c.kind))).join("; ")
    }</p>`
    : "";
  const chart = (series.length ? stepErrorChart(series, "max |d| per step") : "") + exactNote;
  const t = r.timing;
  const timing = t
    ? `<p class="timing">load ${fmt(t.loadMs)} ms · ${t.modelCalls} UNet calls, mean ${
      fmt(t.unetMsMean)
    } ms, total ${fmt(t.unetMsTotal)} ms · scheduler ${fmt(t.schedulerMsTotal)} ms · decode ${
      fmt(t.decodeMs)
    } ms · case total ${fmt(t.totalMs)} ms</p>`
    : "";
  const m = r.math;
  const math = m
    ? `<p class="math">float32 sqrt/exp/log: <b>${escapeHtml(m.source)}</b>` +
      (m.source === "recorded"
        ? ` (${m.pairs} pairs in the reference, ${m.nonIeee} not correctly rounded, ${m.misses} misses)`
        : m.source === "inferred"
        ? ` (${m.nonIeee} results inferred not correctly rounded${
          m.unexplainedSteps.length ? `; unexplained at steps ${m.unexplainedSteps.join(", ")}` : ""
        })`
        : "") +
      (m.lines.length ? `: ${escapeHtml(m.lines.join("; "))}` : "") +
      (m.machine ? `<br><span class="ref">${escapeHtml(m.machine)}</span>` : "") + `</p>`
    : "";
  const img = (r.images ?? []).filter((i) => i.file).map((i) =>
    `<figure><img src="${escapeHtml(i.file!)}" alt="decoded image of ${escapeHtml(r.name)}">` +
    `<figcaption>${i.label === "ours" ? "decoded (free run)" : escapeHtml(i.label)}${
      i.label === "ours" && r.roundTrip
        ? `<br>round trip: ${escapeHtml(roundTripText(r.roundTrip))}`
        : ""
    }${
      i.label === "ours" && r.digit ? `<br>${escapeHtml(digitText(r.digit))}` : ""
    }</figcaption></figure>`
  ).join("");
  const table = r.comparisons.length
    ? `<table><thead><tr><th>comparison</th><th>subject</th><th>worst figures</th><th>tolerance</th><th>verdict</th><th>reference</th></tr></thead><tbody>${rows}</tbody></table>`
    : "";
  return `<section>${head}${warnings}${refNote}${table}` +
    `${math}<div class="row">${img}<div class="chart">${chart}</div></div>${timing}` +
    `<p class="hash">final latents sha256 <code>${
      escapeHtml(r.latentsSha256 ?? "-")
    }</code></p></section>`;
}

/**
 * Renders a verify run as an HTML page. Images are linked by their `file` (relative to the
 * page); images that have no file yet (PNG bytes in memory only) are not shown, so render
 * through `writeReport`, which writes them first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderHtmlReport } from "./html.ts";
 * const html = renderHtmlReport({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", cases: [], passed: 0, failed: 0,
 * });
 * assert.match(html, /<title>diffparity report: 0 passed, 0 failed<\/title>/);
 * const warned = renderHtmlReport({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 1, failed: 0,
 *   cases: [{
 *     name: "x", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *     provider: "cpu", status: "pass", comparisons: [], timing: null, latentsSha256: null,
 *     warnings: ['tok: assumed pad_token "<|endoftext|>"'],
 *   }],
 * });
 * assert.match(warned, /<li>warning: tok: assumed pad_token &quot;&lt;\|endoftext\|&gt;&quot;<\/li>/);
 * assert.match(warned, /DDIMScheduler \(sampler in <b class="precision">float32<\/b>\)/);
 * const none = renderHtmlReport({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 0, failed: 0, noReference: 1,
 *   cases: [{
 *     name: "my-case", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *     provider: "cpu", status: "noref", comparisons: [], timing: null, latentsSha256: null,
 *     noReference: "refs/my-case.onnx.safetensors does not exist",
 *   }],
 * });
 * assert.match(none, /<h1>diffparity: 0 passed, 0 failed, 1 without reference<\/h1>/);
 * assert.match(none, /<b>no reference<\/b>: refs\/my-case.onnx.safetensors does not exist/);
 * ```
 */
export function renderHtmlReport(result: VerifyResult): string {
  const summaryRows = result.cases.map((r) => {
    const worst = r.comparisons.filter((c) => !c.pass).flatMap((c) => c.failures)[0] ??
      (r.error ? r.error.split("\n")[0] : r.status === "noref" ? "no reference" : "");
    return `<tr class="${
      r.status === "pass" ? "pass" : r.status === "noref" ? "noref" : "fail"
    }"><td><a href="#${escapeHtml(r.name)}">${escapeHtml(r.name)}</a></td><td>${r.status}</td>` +
      `<td>${escapeHtml(r.sampler)}${r.precision === "float16" ? " · float16" : ""}</td><td>${
        escapeHtml(r.provider)
      }</td><td>${escapeHtml(worst)}</td></tr>`;
  }).join("\n");
  const counts = `${result.passed} passed, ${result.failed} failed${
    result.noReference ? `, ${result.noReference} without reference` : ""
  }`;
  const versions = Object.entries(result.versions).map(([k, v]) =>
    `${escapeHtml(k)} ${escapeHtml(v)}`
  ).join(" · ");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>diffparity report: ${counts}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
tr.fail td{background:#fff0f0}table.summary tr.pass td:nth-child(2){color:#176b28}.badge{font-size:12px;padding:2px 6px;border-radius:4px;color:#fff;vertical-align:middle}
.badge.pass{background:#2a8a3e}.badge.fail{background:#c0392b}.badge.error{background:#8e44ad}.badge.noref{background:#7f8c8d}.ref{font-size:11px;color:#666}
.row{display:flex;gap:1.5em;align-items:flex-start}figure{margin:0}figure img{width:192px;image-rendering:pixelated;border:1px solid #ccc}
pre.error{background:#f8f0ff;padding:.6em;white-space:pre-wrap}.noref,.golden{background:#f4f4f4;padding:.4em .6em}.timing,.hash{color:#555;font-size:12px}.math{font-size:13px}.exact{color:#176b28;font-size:13px}
ul.warnings{background:#fff8e1;padding:.4em .4em .4em 2em;font-size:13px}
</style></head><body>
<h1>diffparity: ${counts}</h1>
<p>Requested execution provider: <b>${escapeHtml(result.requestedProvider)}</b>. ${versions}</p>
<table class="summary"><thead><tr><th>case</th><th>status</th><th>sampler</th><th>provider</th><th>first failure</th></tr></thead><tbody>
${summaryRows}
</tbody></table>
${result.cases.map(caseSection).join("\n")}
</body></html>
`;
}
