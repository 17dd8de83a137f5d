/**
 * The sampler study's report: the console table (`deno task study samplers`), the HTML page (per
 * model the log-log error chart, the error / order table, the digit quality and the cost) and
 * {@link writeSamplerStudy}, which writes study.json and index.html into a folder as a whole.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { join } from "node:path";
import { fmt } from "../results/format.ts";
import type {
  SamplerStudyModel,
  SamplerStudyReference,
  SamplerStudyResult,
  SamplerStudyRow,
} from "../results/study_samplers.ts";
import { plotSvg } from "./chart.ts";
import { escapeHtml } from "./html.ts";
import { ReportError } from "./write.ts";
import { runName, writeReportFiles } from "./write_files.ts";

const exp2 = (x: number | null) =>
  x === null ? "-" : Number.isFinite(x) ? x.toExponential(1) : fmt(x);
const pct = (x: number | null) =>
  x === null ? "-" : Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : fmt(x);
const order = (x: number | null | undefined) => x === null || x === undefined ? "-" : x.toFixed(2);
const fitText = (row: SamplerStudyRow) =>
  row.fit
    ? `${order(row.fit.order)} (${row.fit.from}-${row.fit.to})`
    : row.stochastic
    ? "-"
    : "n/a";
const modelName = (m: SamplerStudyModel) => m.model.split("/").pop() ?? m.model;

/** The quality figure of a point: accuracy for a prompted model, else mean top probability. */
function qualityOf(m: SamplerStudyModel, q: { accuracy: number | null; meanTop: number } | null) {
  return q === null ? null : m.prompt === null ? q.meanTop : q.accuracy;
}

/** A reference's line: its solver, and its check against it. */
function referenceText(ref: SamplerStudyReference): string {
  const c = ref.check;
  const check = c === null
    ? ""
    : `; check ${c.label} ${c.steps} steps: max |d| ${exp2(c.maxAbs)} ` +
      `${c.pass ? "<=" : "> (NOT CONVERGED)"} ${c.tolerance}, RMS ${exp2(c.rmse)}`;
  const solver = ref.steps === 0 ? ref.label : `${ref.label} ${ref.steps} steps`;
  return `reference ${solver}${check}; fit floor ${exp2(ref.floor)}`;
}

/**
 * The console lines: per model the reference and its check, then a row per sampler with its
 * theoretical and fitted order, the error at each step count and the digit quality at each.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { samplerStudyLines } from "./study_samplers.ts";
 * const q = { accuracy: 0.9, histogram: [], meanTop: 0.8 };
 * const lines = samplerStudyLines({
 *   format: "diffparity-study-samplers/1", study: "s", file: "s.ts", versions: {}, inputs: {},
 *   config: {}, steps: [10, 20], fit: { minSteps: 10, floorFactor: 10, exactFloor: 1e-5 }, noiseSeed: 1, warnings: [], ms: 1000,
 *   models: [{
 *     model: "m/digits-sd", prompt: "{k}", guidance: 5, seeds: 2, shape: [4, 8, 8],
 *     reference: {
 *       label: "DPM", steps: 500, nfe: 500, ms: 1, quality: q, floor: 1e-5,
 *       check: { label: "PNDM", steps: 500, nfe: 500, ms: 1, maxAbs: 1e-5, rmse: 1e-6, tolerance: 1e-4, pass: true },
 *     },
 *     rows: [{
 *       id: "heun", label: "Heun", order: 2, stochastic: false, end: "last-step",
 *       points: [
 *         { steps: 10, nfe: 19, ms: 1, rmse: 4e-2, maxAbs: 0.1, quality: q },
 *         { steps: 20, nfe: 39, ms: 1, rmse: 1e-2, maxAbs: 0.05, quality: q },
 *       ],
 *       fit: { order: 2, from: 10, to: 20, points: 2 }, local: [{ from: 10, to: 20, order: 2 }],
 *     }],
 *   }],
 * });
 * assert.ok(lines.some((l) => /^heun\s+2\s+2\.00 \(10-20\)\s+last-step\s+4\.0e-2\s+1\.0e-2\s+\| 90%\s+90%/.test(l)));
 * assert.ok(lines.some((l) => /reference DPM 500 steps; check PNDM 500 steps: max \|d\| 1\.0e-5 <= 0\.0001/.test(l)));
 * ```
 */
export function samplerStudyLines(r: SamplerStudyResult): string[] {
  const lines: string[] = [];
  for (const m of r.models) {
    const cond = m.gaussian
      ? `Gaussian data, mean ${m.gaussian.mean}, std ${m.gaussian.std}`
      : m.prompt === null
      ? "unconditional"
      : `guidance ${m.guidance}, "${m.prompt}"`;
    lines.push(`${modelName(m)} (${cond}; ${m.seeds} seeds)`);
    lines.push(`  ${referenceText(m.reference)}`);
    const q = m.gaussian
      ? "quality (none for Gaussian data)"
      : m.prompt === null
      ? "mean top p"
      : "accuracy";
    lines.push(
      `  ${"sampler".padEnd(14)} ${"order".padEnd(5)} ${"fitted".padEnd(14)} ${"end".padEnd(9)} ` +
        `${r.steps.map((n) => `e@${n}`.padEnd(8)).join(" ")} | ${q} ` +
        r.steps.map((n) => `@${n}`.padEnd(5)).join(" "),
    );
    for (const row of m.rows) {
      lines.push(
        `${row.id.padEnd(16)} ${(row.order === null ? "-" : String(row.order)).padEnd(5)} ` +
          `${fitText(row).padEnd(14)} ${(row.stochastic ? "-" : row.end).padEnd(9)} ${
            row.points.map((p) => exp2(p.rmse).padEnd(8)).join(" ")
          } | ${row.points.map((p) => pct(qualityOf(m, p.quality)).padEnd(5)).join(" ")}`,
      );
    }
  }
  lines.push(`study samplers: ${r.models.length} models in ${(r.ms / 1000).toFixed(0)} s`);
  return lines.map((l) => l.trimEnd());
}

/**
 * The log-log chart of a model's deterministic samplers: RMS error against steps, a line each,
 * with the fit floors drawn dashed (SVG; "" when no point is finite).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { errorChart } from "./study_samplers.ts";
 * const q = { accuracy: null, histogram: [], meanTop: 1 };
 * const row = {
 *   id: "ddim", label: "DDIM", order: 1, stochastic: false, end: "final" as const, fit: null, local: [],
 *   points: [{ steps: 10, nfe: 10, ms: 1, rmse: 0.1, maxAbs: 1, quality: q }, { steps: 20, nfe: 20, ms: 1, rmse: 0.05, maxAbs: 1, quality: q }],
 * };
 * assert.match(errorChart([row], [1e-4]), /^<svg|^<figure/);
 * assert.equal(errorChart([], [1e-4]), "");
 * ```
 */
export function errorChart(rows: readonly SamplerStudyRow[], floors: readonly number[]): string {
  const points = rows.filter((r) => !r.stochastic).flatMap((r) =>
    r.points.filter((p) => p.rmse !== null && Number.isFinite(p.rmse) && p.rmse > 0).map((p) => ({
      sampler: r.id,
      steps: p.steps,
      rmse: p.rmse!,
      title: `${r.id} ${p.steps} steps: RMS ${exp2(p.rmse)} (NFE ${p.nfe})`,
    }))
  );
  if (points.length === 0) return "";
  return plotSvg({
    width: 760,
    height: 420,
    marginLeft: 60,
    x: { type: "log", label: "steps", grid: true },
    y: { type: "log", label: "RMS error of the final latents vs the reference", grid: true },
    color: { legend: true },
    marks: [
      Plot.ruleY(floors.filter((f) => f > 0), { stroke: "#888", strokeDasharray: "5 3" }),
      Plot.line(points, { x: "steps", y: "rmse", stroke: "sampler" }),
      Plot.dot(points, { x: "steps", y: "rmse", stroke: "sampler", r: 2.5, title: "title" }),
    ],
  });
}

function modelSection(r: SamplerStudyResult, m: SamplerStudyModel): string {
  const head = r.steps.map((n) => `<th>${n}</th>`).join("");
  const errRows = m.rows.filter((row) => !row.stochastic).map((row) =>
    `<tr><td>${escapeHtml(row.id)}</td><td>${escapeHtml(row.label)}</td><td>${
      row.order ?? "-"
    }</td><td>${escapeHtml(fitText(row))}</td><td>${row.end}</td>${
      row.points.map((p) => `<td title="max |d| ${exp2(p.maxAbs)}">${exp2(p.rmse)}</td>`).join("")
    }<td>${row.local.map((l) => order(l.order)).join(" ")}</td></tr>`
  ).join("\n");
  const quality = m.rows.map((row) =>
    `<tr><td>${escapeHtml(row.id)}</td>${
      row.points.map((p) =>
        `<td title="classes ${p.quality?.histogram.join(" ") ?? "-"}">${
          pct(qualityOf(m, p.quality))
        }</td>`
      ).join("")
    }</tr>`
  ).join("\n");
  const cost = m.rows.map((row) =>
    `<tr><td>${escapeHtml(row.id)}</td>${
      row.points.map((p) => `<td>${p.nfe} · ${(p.ms / m.seeds).toFixed(1)} ms</td>`).join("")
    }</tr>`
  ).join("\n");
  const notes = m.rows.filter((row) => row.note).map((row) =>
    `<li><code>${escapeHtml(row.id)}</code>: ${escapeHtml(row.note!)}</li>`
  ).join("");
  const q = m.prompt === null ? "mean top probability" : "accuracy (the prompted digit)";
  return `<h2>${escapeHtml(m.model)}</h2>
<p class="meta">${
    m.prompt === null ? "unconditional" : `guidance ${m.guidance}, prompt “${escapeHtml(m.prompt)}”`
  } · ${m.seeds} seeds · latents [${m.shape.join(", ")}]</p>
<p>${escapeHtml(referenceText(m.reference))}${
    qualityOf(m, m.reference.quality) === null
      ? ""
      : ` (${pct(qualityOf(m, m.reference.quality))} ${
        m.prompt === null ? "mean top p" : "accuracy"
      })`
  }</p>
<div class="chart">${errorChart(m.rows, [m.reference.floor])}</div>
<h3>Final-latent RMS error vs the reference, and orders</h3>
<table class="grid"><thead><tr><th>id</th><th>sampler</th><th>theory</th><th>fitted (range)</th><th>end</th>${head}<th>local orders</th></tr></thead><tbody>
${errRows}
</tbody></table>
${notes ? `<ul>${notes}</ul>` : ""}
<h3>Digit quality: ${q} (hover: the class histogram)</h3>
<table class="grid"><thead><tr><th>id</th>${head}</tr></thead><tbody>
${quality}
</tbody></table>
<h3>Cost: model evaluations per image · wall time per image</h3>
<table class="grid"><thead><tr><th>id</th>${head}</tr></thead><tbody>
${cost}
</tbody></table>`;
}

/**
 * The study page.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderSamplerStudyHtml } from "./study_samplers.ts";
 * const html = renderSamplerStudyHtml({
 *   format: "diffparity-study-samplers/1", study: "s<1>", file: "s.ts", versions: { deno: "2" },
 *   inputs: {}, config: {}, steps: [10], fit: { minSteps: 10, floorFactor: 10, exactFloor: 1e-5 }, noiseSeed: 1,
 *   warnings: ["w <x>"], ms: 1, models: [],
 * });
 * assert.match(html, /s&lt;1&gt;/);
 * assert.match(html, /<li>w &lt;x&gt;<\/li>/);
 * ```
 */
export function renderSamplerStudyHtml(r: SamplerStudyResult): string {
  const versions = Object.entries(r.versions).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
    .join(" · ");
  const warnings = r.warnings.length
    ? `<ul class="warnings">${r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`
    : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>diffparity sampler study: ${
    escapeHtml(r.study)
  }</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
table.grid td:nth-child(n+2){font-variant-numeric:tabular-nums}
.meta{color:#555;font-size:13px}ul.warnings{background:#fff8e1;font-size:13px;padding:.4em .4em .4em 2em}
</style></head><body>
<h1>Sampler study: ${escapeHtml(r.study)}</h1>
<p class="meta"><code>${escapeHtml(r.file)}</code> · steps ${r.steps.join(", ")} · config ${
    escapeHtml(JSON.stringify(r.config))
  } · ${(r.ms / 1000).toFixed(1)} s${versions ? ` · ${versions}` : ""}</p>
${r.description ? `<p>${escapeHtml(r.description)}</p>` : ""}
<p>Every sampler starts from the same noise per seed; a deterministic sampler's latents at the
schedule's smallest sigma, sigma(0), are compared with the reference solution of the same
probability-flow ODE there: its final latents (end "final"), or, for a sampler whose last step
jumps from sigma(0) to 0, the model input of that last step (end "last-step"). The fitted order is minus the least-squares slope of log(RMS error)
on log(steps) over the points from ${r.fit.minSteps} steps on whose error is above
${r.fit.floorFactor}× the check's RMS disagreement with the reference, or ${r.fit.exactFloor}
against a closed-form solution (the fit floor); the local
orders are the slopes between neighbouring step counts. Stochastic samplers have no trajectory
error: only their digit quality is measured.</p>
${warnings}
${r.models.map((m) => modelSection(r, m)).join("\n")}
</body></html>
`;
}

/**
 * Writes `study.json` (non-finite numbers as strings) and `index.html` (last) into `outDir` as a
 * whole; the previous study stays readable until then and is put back on failure.
 *
 * @throws {ReportError} naming `outDir` when it cannot write.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeSamplerStudy } from "./study_samplers.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await writeSamplerStudy({
 *   format: "diffparity-study-samplers/1", study: "s", file: "s.ts", versions: {}, inputs: {},
 *   config: {}, steps: [10], fit: { minSteps: 10, floorFactor: 10, exactFloor: 1e-5 }, noiseSeed: 1, warnings: [], ms: NaN, models: [],
 * }, `${dir}/out`);
 * assert.equal(JSON.parse(await Deno.readTextFile(paths.json)).ms, "NaN");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSamplerStudy(
  r: SamplerStudyResult,
  outDir: string,
): Promise<{ html: string; json: string }> {
  const json = JSON.stringify(
    r,
    (_key, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    1,
  ) + "\n";
  const text = new TextEncoder();
  try {
    await writeReportFiles(outDir, runName(), new Map(), [
      ["study.json", text.encode(json)],
      ["index.html", text.encode(renderSamplerStudyHtml(r))],
    ], []);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ReportError(outDir, `cannot write the study (${reason})`, { cause: err });
  }
  return { html: join(outDir, "index.html"), json: join(outDir, "study.json") };
}
