/**
 * The inversion study's report: the console lines (`deno task study inversion`), the HTML page
 * (the full table, per model the PSNR, latent-MSE and NFE charts and the picture strips) and
 * {@link writeInversionStudy}, which writes the strips' PNGs, study.json and index.html into a
 * folder as a whole.
 *
 * Exact reconstructions have an infinite PSNR: tables and lines show "exact" (for a mean: at or
 * above `psnrCap`, every image exact), charts draw them at `psnrCap`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { fmt } from "../results/format.ts";
import type { CaseImage, RoundTripFigures } from "../results/schema.ts";
import type {
  InversionStudyResult,
  StudyCell,
  StudyModel,
  StudyStrip,
} from "../results/study_inversion.ts";
import { escapeHtml } from "./html.ts";
import {
  type ChartFrame,
  type ChartPoint,
  latentChart,
  nfeChart,
  psnrChart,
} from "./study_inversion_charts.ts";
import { ReportError } from "./write.ts";
import { runName, writeReportFiles } from "./write_files.ts";

/** The widest console line the summary aims for. */
const WIDTH = 100;
/** The widest method label in the console table (longer ones are cut with "…"). */
const LABEL_WIDTH = 36;
/** Tile width on the page, CSS pixels. */
const TILE_PX = 96;

/** A PSNR in dB with one decimal; "exact" when infinite. */
function db(x: number): string {
  if (Number.isNaN(x)) return "-";
  return x === Infinity ? "exact" : x.toFixed(1);
}

/** {@link db} with its unit: "31.0 dB" or "exact". */
function dbUnit(x: number): string {
  const text = db(x);
  return text === "exact" || text === "-" ? text : `${text} dB`;
}

/** A figure for a table cell: `fmt`, "-" for NaN. */
const num = (x: number) => Number.isNaN(x) ? "-" : fmt(x);

/** "g 7.5", or "" without guidance. */
const gText = (g: number | null) => g === null ? "" : `g ${g}`;

/** The label of a method id (the id itself when the study does not list it). */
function labelOf(r: InversionStudyResult, id: string): string {
  return r.methods.find((m) => m.id === id)?.label ?? id;
}

/** Chart series names: the labels, with the id added where two methods share a label. */
function seriesNames(r: InversionStudyResult): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of r.methods) {
    const shared = r.methods.filter((o) => o.label === m.label).length > 1;
    names.set(m.id, shared ? `${m.label} [${m.id}]` : m.label);
  }
  return names;
}

/** The cells of a model in table order: method, guidance, steps as the study lists them. */
function modelCells(r: InversionStudyResult, model: string): StudyCell[] {
  const at = (list: readonly unknown[], x: unknown) => {
    const i = list.indexOf(x);
    return i < 0 ? list.length : i;
  };
  const methods = r.methods.map((m) => m.id);
  return r.cells.filter((c) => c.model === model).sort((a, b) =>
    at(methods, a.method) - at(methods, b.method) ||
    at(r.guidance, a.guidance) - at(r.guidance, b.guidance) ||
    a.steps - b.steps
  );
}

/** All images failed: the cell has no reconstruction to show. */
const noImages = (c: StudyCell) => c.images.length === 0;

/** The mean PSNR shown for a cell ("exact" when every image was). */
function cellDb(c: StudyCell): string {
  if (noImages(c)) return "failed";
  return c.minPsnr === Infinity ? "exact" : db(c.mean.psnr);
}

/** The (method, guidance) rows of a model's cells, in order. */
function methodRows(cells: readonly StudyCell[]): { method: string; guidance: number | null }[] {
  const rows: { method: string; guidance: number | null }[] = [];
  for (const c of cells) {
    if (!rows.some((x) => x.method === c.method && x.guidance === c.guidance)) {
      rows.push({ method: c.method, guidance: c.guidance });
    }
  }
  return rows;
}

/** Cuts text to `width` characters with "…". */
const cut = (s: string, width: number) => s.length > width ? `${s.slice(0, width - 1)}…` : s;

/** The heading of a model: its name and its VAE ceiling. */
function modelHeading(m: StudyModel): string {
  const ceiling = m.meanCeilingPsnr === Infinity
    ? "no VAE, ceiling exact"
    : `VAE ceiling ${dbUnit(m.meanCeilingPsnr)}`;
  return `${m.name} (${ceiling}; ${m.images.length} images, ${m.size}x${m.size})`;
}

/** Splits `items` joined by `sep` into lines of at most WIDTH characters after `first`/`rest`. */
function wrap(first: string, rest: string, items: string[], sep: string): string[] {
  const lines: string[] = [];
  let line = first;
  let fresh = true;
  for (const item of items) {
    const next = fresh ? line + item : line + sep + item;
    if (!fresh && next.length > WIDTH) {
      lines.push(line);
      line = rest + item;
    } else line = next;
    fresh = false;
  }
  lines.push(line);
  return lines;
}

/** The best cell at each step count of a model: highest PSNR (exact first), fewer NFE on a tie. */
function bestLine(r: InversionStudyResult, cells: readonly StudyCell[]): string[] {
  const items: string[] = [];
  const steps = [...new Set(cells.map((c) => c.steps))].sort((a, b) => a - b);
  const score = (c: StudyCell) =>
    noImages(c) ? -Infinity : c.minPsnr === Infinity ? Infinity : c.mean.psnr;
  for (const s of steps) {
    const ranked = cells.filter((c) => c.steps === s && !noImages(c)).sort((a, b) =>
      score(b) - score(a) || a.mean.nfe - b.mean.nfe
    );
    const best = ranked[0];
    if (!best) continue;
    const value = best.minPsnr === Infinity ? "exact" : dbUnit(best.mean.psnr);
    const g = best.guidance === null ? "" : ` ${gText(best.guidance)}`;
    items.push(`${s}: ${cut(labelOf(r, best.method), LABEL_WIDTH)}${g} ${value}`);
  }
  return items.length ? wrap("  best  ", "        ", items, " · ") : [];
}

/** The console table of a model: a row per (method, guidance), a column per step count. */
function modelTable(r: InversionStudyResult, cells: readonly StudyCell[]): string[] {
  const rows = methodRows(cells);
  const steps = [...new Set(cells.map((c) => c.steps))].sort((a, b) => a - b);
  const hasG = rows.some((x) => x.guidance !== null);
  const labels = rows.map((x) => cut(labelOf(r, x.method), LABEL_WIDTH));
  const labelW = Math.max(...labels.map((l) => l.length));
  const gs = rows.map((x) => gText(x.guidance));
  const gW = hasG ? Math.max(...gs.map((g) => g.length)) : 0;
  const text = rows.map((x) =>
    steps.map((s, k) => {
      const c = cells.find((c) =>
        c.method === x.method && c.guidance === x.guidance && c.steps === s
      );
      if (!c) return `${s}: -`;
      const value = cellDb(c);
      const unit = k === 0 && value !== "exact" && value !== "failed" ? " dB" : "";
      return `${s}: ${value}${unit}/${num(c.mean.nfe)}`;
    })
  );
  const colW = steps.map((_, k) => Math.max(...text.map((t) => t[k].length)));
  const prefixW = 2 + labelW + 2 + (hasG ? gW + 2 : 0);
  // step columns in groups that fit the width
  const groups: number[][] = [];
  let group: number[] = [];
  let width = prefixW;
  for (const [k, w] of colW.entries()) {
    if (group.length && width + w > WIDTH) {
      groups.push(group);
      group = [];
      width = prefixW;
    }
    group.push(k);
    width += w + 3;
  }
  if (group.length) groups.push(group);
  const lines: string[] = [];
  for (const g of groups) {
    for (const [i, row] of text.entries()) {
      const prefix = `  ${labels[i].padEnd(labelW)}  ${hasG ? `${gs[i].padEnd(gW)}  ` : ""}`;
      lines.push((prefix + g.map((k) => row[k].padEnd(colW[k])).join("   ")).trimEnd());
    }
  }
  return lines;
}

/**
 * The study as console lines: what ran, then per model its VAE ceiling, a table with a row per
 * method and guidance and a column per step count (`steps: mean PSNR dB/NFE`, "exact" where
 * every image came back exactly) and the best method at each step count; then the warnings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inversionStudyLines } from "./study_inversion.ts";
 * const f = { latentMse: 1e-3, latentMaxAbs: 0.1, pixelMse: 1e-3, psnr: 28.12, ssim: 0.9, ceilingPsnr: 43.1, psnrVsCeiling: 29, nfe: 20, ms: 5 };
 * const lines = inversionStudyLines({
 *   format: "diffparity-study-inversion/1", study: "inversion", file: "cases/inversion.study.ts",
 *   versions: {}, inputs: {}, steps: [10], guidance: [1], psnrCap: 100, warnings: [], ms: 1500,
 *   methods: [{ id: "ddim", label: "DDIM inversion", spec: { method: "ddim" } }],
 *   models: [{ name: "digits-sd", folder: "m/digits-sd", text: true, size: 32, images: [{ index: 0, label: 3 }], meanCeilingPsnr: 43.1 }],
 *   cells: [{ model: "digits-sd", method: "ddim", steps: 10, guidance: 1, mean: f, minPsnr: 28.12, images: [f] }],
 *   strips: [],
 * });
 * assert.ok(lines.includes("digits-sd (VAE ceiling 43.1 dB; 1 images, 32x32)"));
 * assert.ok(lines.includes("  DDIM inversion  g 1  10: 28.1 dB/20"));
 * assert.ok(lines.includes("  best  10: DDIM inversion g 1 28.1 dB"));
 * ```
 */
export function inversionStudyLines(r: InversionStudyResult): string[] {
  const guidance = r.guidance.length ? ` x guidance ${r.guidance.join(",")} (text models)` : "";
  const lines = [
    `study ${r.study}${r.file ? ` (${r.file})` : ""}: ${r.models.length} models, ` +
    `${r.methods.length} methods, ${(r.ms / 1000).toFixed(1)} s`,
    `  grid: steps ${r.steps.join(",")}${guidance}`,
    `  per model and step count: mean PSNR over its images, dB/NFE of both passes`,
    `  (an exact image counts as ${r.psnrCap} dB in means; "exact": every image came back exactly)`,
  ];
  for (const m of r.models) {
    lines.push(modelHeading(m));
    const cells = modelCells(r, m.name);
    if (!cells.length) {
      lines.push("  no grid point ran");
      continue;
    }
    lines.push(...modelTable(r, cells), ...bestLine(r, cells));
    const failed = cells.filter((c) => c.failed?.length);
    for (const c of failed) {
      lines.push(
        `  ${labelOf(r, c.method)}${c.guidance === null ? "" : ` ${gText(c.guidance)}`} ` +
          `${c.steps} steps: ${c.failed!.length} of ${m.images.length} images failed ` +
          `(${c.failed![0].error})`,
      );
    }
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// charts (core/report/study_inversion_charts.ts draws them)

/** The chart points of a model (cells with at least one image), PSNR capped at `psnrCap`. */
function chartPoints(r: InversionStudyResult, cells: readonly StudyCell[]): ChartPoint[] {
  const names = seriesNames(r);
  return cells.filter((c) => !noImages(c)).map((c) => {
    const series = names.get(c.method) ?? c.method;
    const psnr = c.minPsnr === Infinity || !(c.mean.psnr < r.psnrCap) ? r.psnrCap : c.mean.psnr;
    return {
      series,
      guidance: gText(c.guidance),
      steps: c.steps,
      psnr,
      latentMse: c.mean.latentMse,
      nfe: c.mean.nfe,
      title:
        `${series}${c.guidance === null ? "" : ` · ${gText(c.guidance)}`} · ${c.steps} steps: ` +
        `PSNR ${cellDb(c)}, latent MSE ${num(c.mean.latentMse)}, NFE ${num(c.mean.nfe)}`,
    };
  }).filter((p) => Number.isFinite(p.psnr) && Number.isFinite(p.nfe));
}

/** What a model's charts share (panels, legend, cap, ceiling). */
function chartFrame(r: InversionStudyResult, m: StudyModel): ChartFrame {
  return {
    panels: r.guidance.map(gText),
    series: [...seriesNames(r).values()],
    cap: r.psnrCap,
    ceiling: Number.isFinite(m.meanCeilingPsnr) ? m.meanCeilingPsnr : null,
  };
}

// ---------------------------------------------------------------------------------------------
// page

/** An image source: its file relative to the page, else its PNG bytes inline. */
function imageSrc(image: CaseImage): string | null {
  if (image.file) return escapeHtml(image.file);
  if (image.png) return `data:image/png;base64,${Buffer.from(image.png).toString("base64")}`;
  return null;
}

/** The PSNR under a tile: its method's cell at the strip's grid point, or the ceiling's. */
function tileFigure(r: InversionStudyResult, s: StudyStrip, tile: CaseImage): string {
  const cells = r.cells.filter((c) =>
    c.model === s.model && c.steps === s.steps && c.guidance === s.guidance
  );
  const figuresOf = (c: StudyCell): RoundTripFigures | undefined => {
    const failed = (c.failed ?? []).filter((f) => f.image < s.image).length;
    if (c.failed?.some((f) => f.image === s.image)) return undefined;
    return c.images[s.image - failed];
  };
  if (tile.label === "original") return "";
  if (tile.label === "VAE ceiling") {
    const f = cells.map(figuresOf).find((f) => f);
    return f ? dbUnit(f.ceilingPsnr) : "";
  }
  const cell = cells.find((c) => c.method === tile.label);
  const f = cell && figuresOf(cell);
  return f ? dbUnit(f.psnr) : "";
}

function stripHtml(r: InversionStudyResult, s: StudyStrip): string {
  const tiles = s.tiles.map((t) => {
    const src = imageSrc(t);
    const method = r.methods.find((m) => m.id === t.label);
    const title = method ? ` title="${escapeHtml(method.label)}"` : "";
    const figure = tileFigure(r, s, t);
    return `<figure${title}>${
      src
        ? `<img src="${src}" alt="${escapeHtml(t.label)}">`
        : `<div class="missing">no image</div>`
    }<figcaption>${escapeHtml(t.label)}${
      figure ? `<br>${escapeHtml(figure)}` : ""
    }</figcaption></figure>`;
  }).join("");
  const g = s.guidance === null ? "" : `, guidance ${s.guidance}`;
  return `<div class="strip"><p>digit ${s.label} (image ${s.image}), ${s.steps} steps${g}</p>` +
    `<div class="tiles">${tiles}</div></div>`;
}

const TABLE_HEAD = [
  "model",
  "method",
  "guidance",
  "steps",
  "NFE",
  "latent MSE",
  "latent max|d|",
  "PSNR mean",
  "PSNR min",
  "PSNR vs ceiling",
  "SSIM",
  "ms",
];

function tableRow(r: InversionStudyResult, c: StudyCell): string {
  const perImage = c.images.map((f) => db(f.psnr)).join(", ");
  const failed = c.failed?.length
    ? ` (${c.failed.length} failed: ${
      c.failed.map((f) => `image ${f.image}: ${f.error}`).join("; ")
    })`
    : "";
  const gone = noImages(c);
  const cells = [
    escapeHtml(c.model),
    escapeHtml(labelOf(r, c.method)),
    c.guidance === null ? "-" : String(c.guidance),
    String(c.steps),
    gone ? "-" : num(c.mean.nfe),
    gone ? "-" : num(c.mean.latentMse),
    gone ? "-" : num(c.mean.latentMaxAbs),
    `<span title="${escapeHtml(`per image: ${perImage || "none"}${failed}`)}">${cellDb(c)}</span>`,
    gone ? "-" : db(c.minPsnr),
    gone
      ? "-"
      : c.images.every((f) => f.psnrVsCeiling === Infinity)
      ? "exact"
      : db(c.mean.psnrVsCeiling),
    gone ? "-" : num(c.mean.ssim),
    gone ? "-" : num(Math.round(c.mean.ms)),
  ];
  return `<tr${c.failed?.length ? ' class="fail"' : ""}>${
    cells.map((x) => `<td>${x}</td>`).join("")
  }</tr>`;
}

function chartBlock(id: string, title: string, svg: string): string {
  return svg
    ? `<div class="chart" id="${escapeHtml(id)}"><h3>${escapeHtml(title)}</h3>${svg}</div>`
    : "";
}

function modelSection(r: InversionStudyResult, m: StudyModel): string {
  const cells = modelCells(r, m.name);
  const points = chartPoints(r, cells);
  const frame = chartFrame(r, m);
  const slug = m.name.replace(/[^A-Za-z0-9_-]+/g, "-");
  const charts = points.length
    ? chartBlock(`psnr-${slug}`, "Mean PSNR against steps", psnrChart(frame, points)) +
      chartBlock(`latent-${slug}`, "Mean latent MSE against steps", latentChart(frame, points)) +
      chartBlock(`nfe-${slug}`, "Mean PSNR against model evaluations", nfeChart(frame, points))
    : "<p>No grid point of this model has a reconstruction.</p>";
  const strips = r.strips.filter((s) => s.model === m.name).map((s) => stripHtml(r, s)).join("");
  const digits = m.images.map((x) => `${x.label} (#${x.index})`).join(", ");
  return `<section id="model-${escapeHtml(slug)}"><h2>${escapeHtml(modelHeading(m))}</h2>
<p><code>${escapeHtml(m.folder)}</code>; ${
    m.text ? "text model: a panel per guidance scale" : "no text, no guidance"
  }. Held-out digits (label, index): ${escapeHtml(digits)}.</p>
${charts}
${strips ? `<h3>Pictures</h3>${strips}` : ""}</section>`;
}

/**
 * The HTML page of the study, self-contained (inline CSS and SVG, no script): what ran and on
 * what (versions, inputs' sha256 folded away, warnings), the full table of every grid point,
 * then per model the mean PSNR and latent MSE against steps (a line per method, a panel per
 * guidance, the mean VAE ceiling as a dashed rule), PSNR against NFE, and the picture strips
 * (tiles linked by `file`, else inlined from `png`, drawn pixelated at 96 px).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderInversionStudyHtml } from "./study_inversion.ts";
 * const f = { latentMse: 0, latentMaxAbs: 0, pixelMse: 0, psnr: Infinity, ssim: 1, ceilingPsnr: Infinity, psnrVsCeiling: Infinity, nfe: 20, ms: 5 };
 * const html = renderInversionStudyHtml({
 *   format: "diffparity-study-inversion/1", study: "inversion", file: "s.ts",
 *   versions: {}, inputs: {}, steps: [10], guidance: [], psnrCap: 100, warnings: ["a <b>"], ms: 1,
 *   methods: [{ id: "edict", label: "EDICT <f64>", spec: { method: "edict" } }],
 *   models: [{ name: "digits-ddpm", folder: "m", text: false, size: 16, images: [{ index: 0, label: 3 }], meanCeilingPsnr: Infinity }],
 *   cells: [{ model: "digits-ddpm", method: "edict", steps: 10, guidance: null, mean: { ...f, psnr: 100 }, minPsnr: Infinity, images: [f] }],
 *   strips: [],
 * });
 * assert.match(html, /<td>EDICT &lt;f64&gt;<\/td>/);
 * assert.match(html, /<li>a &lt;b&gt;<\/li>/);
 * assert.equal(html.match(/<svg viewBox/g)?.length, 3);
 * assert.ok(!html.includes("NaN"));
 * ```
 */
export function renderInversionStudyHtml(r: InversionStudyResult): string {
  const versions = Object.entries(r.versions).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`)
    .join(" · ");
  const inputs = Object.entries(r.inputs);
  const inputsHtml = inputs.length
    ? `<details><summary>inputs: ${inputs.length} file${
      inputs.length === 1 ? "" : "s"
    } (sha256)</summary><table>${
      inputs.map(([file, sha]) =>
        `<tr><td><code>${escapeHtml(sha)}</code></td><td>${escapeHtml(file)}</td></tr>`
      )
        .join("")
    }</table></details>`
    : "";
  const warnings = r.warnings.length
    ? `<ul class="warnings">${r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`
    : "";
  const rows = r.models.flatMap((m) => modelCells(r, m.name));
  const orphans = r.cells.filter((c) => !r.models.some((m) => m.name === c.model));
  const table = [...rows, ...orphans].map((c) => tableRow(r, c)).join("\n");
  const methods = r.methods.map((m) =>
    `<li><code>${escapeHtml(m.id)}</code>: ${escapeHtml(m.label)}</li>`
  ).join("");
  const grid = `${r.models.length} models × ${r.methods.length} methods × steps ${
    r.steps.join(", ")
  }${r.guidance.length ? ` × guidance ${r.guidance.join(", ")} (text models)` : ""}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>diffparity inversion study: ${
    escapeHtml(r.study)
  }</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
table.grid td:nth-child(n+4){text-align:right;font-variant-numeric:tabular-nums}tr.fail td{background:#fff0f0}
.meta{color:#555;font-size:13px}ul.warnings{background:#fff8e1;font-size:13px;padding:.4em .4em .4em 2em}
.chart{margin:1em 0}.chart h3{margin:.2em 0;font-size:14px}.strip p{margin:.6em 0 .2em}
.tiles{display:flex;flex-wrap:wrap;gap:8px}.tiles figure{margin:0;text-align:center;font-size:12px}
.tiles img{width:${TILE_PX}px;image-rendering:pixelated;border:1px solid #ccc;display:block}
.missing{width:${TILE_PX}px;height:${TILE_PX}px;background:#eee;color:#888;line-height:${TILE_PX}px}
</style></head><body>
<h1>Inversion study: ${escapeHtml(r.study)}</h1>
<p class="meta"><code>${escapeHtml(r.file)}</code> · ${escapeHtml(grid)} · ${
    (r.ms / 1000).toFixed(1)
  } s${versions ? ` · ${versions}` : ""}</p>
${inputsHtml}${warnings}
<p>Each held-out digit goes through the round trip: inverted to noise with the method, then
regenerated with the same steps and guidance. PSNR is against the original (data range 2) and
averaged over a model's images; "vs ceiling" is against the VAE's own reconstruction D(E(x)).
An exact reconstruction has an infinite PSNR: tables say "exact", means and charts count it as
${r.psnrCap} dB. Hover a mean PSNR for each image's.</p>
<ul>${methods}</ul>
<h2>All grid points</h2>
<table class="grid"><thead><tr>${
    TABLE_HEAD.map((h) => `<th>${h}</th>`).join("")
  }</tr></thead><tbody>
${table}
</tbody></table>
${r.models.map((m) => modelSection(r, m)).join("\n")}
</body></html>
`;
}

// ---------------------------------------------------------------------------------------------
// files

/**
 * study.json text: indent 1 and a trailing newline as results.json, and, as core/results/json.ts
 * does, a non-finite number written as the string "Infinity", "-Infinity" or "NaN" (here in any
 * field: the ceilings, `minPsnr` and a failed cell's figures can be infinite too).
 */
function studyJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
    1,
  ) + "\n";
}

/**
 * Writes the study into `outDir` as a whole: the strips' tiles as `images/<run>/<model>-<image>-
 * <steps>[-g<guidance>]-<tile>.png`, `study.json` (the result with each tile as `{ label, file }`,
 * non-finite numbers as strings) and `index.html` last; the previous study stays readable until
 * then and is put back on failure. Returns the paths of the page and of study.json.
 *
 * @throws {ReportError} naming `outDir` when it cannot write.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeInversionStudy } from "./study_inversion.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await writeInversionStudy({
 *   format: "diffparity-study-inversion/1", study: "inversion", file: "s.ts",
 *   versions: {}, inputs: {}, steps: [10], guidance: [], psnrCap: 100, warnings: [], ms: 1,
 *   methods: [], models: [], cells: [],
 *   strips: [{ model: "m", image: 0, label: 3, steps: 10, guidance: null, tiles: [{ label: "original", png: new Uint8Array([1, 2]) }] }],
 * }, `${dir}/study`);
 * assert.deepEqual(paths, { html: `${dir}/study/index.html`, json: `${dir}/study/study.json` });
 * const json = JSON.parse(await Deno.readTextFile(paths.json));
 * const file = json.strips[0].tiles[0].file;
 * assert.match(file, /^images\/.+\/m-0-10-original\.png$/);
 * assert.deepEqual(await Deno.readFile(`${dir}/study/${file}`), new Uint8Array([1, 2]));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeInversionStudy(
  r: InversionStudyResult,
  outDir: string,
): Promise<{ html: string; json: string }> {
  const run = runName();
  const pngs = new Map<string, Uint8Array>();
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "-");
  const place = (s: StudyStrip, tile: CaseImage): CaseImage => {
    if (!tile.png) return { label: tile.label, ...(tile.file ? { file: tile.file } : {}) };
    const g = s.guidance === null ? "" : `-g${s.guidance}`;
    const stem = `images/${run}/${safe(`${s.model}-${s.image}-${s.steps}${g}-${tile.label}`)}`;
    let file = `${stem}.png`;
    for (let n = 2; pngs.has(file); n++) file = `${stem}-${n}.png`;
    pngs.set(file, tile.png);
    return { label: tile.label, file };
  };
  const written: InversionStudyResult = {
    ...r,
    strips: r.strips.map((s) => ({ ...s, tiles: s.tiles.map((t) => place(s, t)) })),
  };
  const shown = written.strips.flatMap((s) => s.tiles.flatMap((t) => t.file ? [t.file] : []));
  const text = new TextEncoder();
  try {
    await writeReportFiles(outDir, run, pngs, [
      ["study.json", text.encode(studyJson(written))],
      ["index.html", text.encode(renderInversionStudyHtml(written))],
    ], shown);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ReportError(outDir, `cannot write the study (${reason})`, { cause: err });
  }
  return { html: join(outDir, "index.html"), json: join(outDir, "study.json") };
}
