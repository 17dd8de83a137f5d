/**
 * The digits study's report: the console lines (`deno task study digits`), the HTML page with
 * the figures and the sample grids, and {@link writeDigitsStudy}, which writes study.json,
 * the grids and index.html into a folder as a whole.
 *
 * @module
 */
import { resultsToJson } from "../results/json.ts";
import type { CaseImage } from "../results/schema.ts";
import type {
  DigitsCeiling,
  DigitsFloor,
  DigitsStudyResult,
  LabelAccuracy,
  StudyTarget,
} from "../results/study.ts";
import { escapeHtml } from "./html.ts";
import { ReportError } from "./write.ts";
import { runName, writeReportFiles } from "./write_files.ts";

const pct = (x: number) => Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "-";
const prob = (x: number) => x.toFixed(3);

function perLabelText(rows: readonly LabelAccuracy[]): string {
  return rows.map((r) => `${r.label}: ${r.correct}/${r.total}`).join("  ");
}

function ceilingLine(c: DigitsCeiling): string {
  const correct = c.perLabel.reduce((s, r) => s + r.correct, 0);
  return `  ${c.model} (${c.size}x${c.size}): accuracy ${
    pct(c.accuracy)
  } (${correct}/${c.images}), ` +
    `mean top probability ${prob(c.meanTop)}`;
}

function floorLine(f: DigitsFloor): string {
  const shares = f.histogram.map((n) => pct(n / Math.max(1, f.images)));
  return `  ${f.model} (${f.images} x ${f.channels}x${f.size}x${f.size}, seed ${f.seed}): mean top ` +
    `probability ${prob(f.meanTop)}; classes ${shares.map((s, k) => `${k}: ${s}`).join("  ")}`;
}

/**
 * The verdict line of a target: `PASS  <label> 0.86 (>= 0.8)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { targetLine } from "./study_digits.ts";
 * assert.equal(targetLine({ label: "accuracy", value: 0.5, min: 0.8, pass: false }), "FAIL  accuracy 0.5 (>= 0.8)");
 * ```
 */
export function targetLine(t: StudyTarget): string {
  const bound = [t.min !== undefined ? `>= ${t.min}` : "", t.max !== undefined ? `<= ${t.max}` : ""]
    .filter((s) => s).join(", ");
  return `${t.pass ? "PASS" : "FAIL"}  ${t.label} ${Number(t.value.toFixed(4))} (${bound})`;
}

/**
 * The study as console lines: the ceiling, the prompted model per guidance scale (accuracy,
 * per digit), the unconditional model per sampler (class histogram in percent, smallest class,
 * mean top probability), the warnings and each target's verdict.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { digitsStudyLines } from "./study_digits.ts";
 * const lines = digitsStudyLines({
 *   format: "diffparity-study-digits/1", versions: {}, classifier: "c.json", inputs: {}, warnings: [], ms: 1,
 *   ceilings: [], floors: [], pass: false,
 *   targets: [{ label: "digits prompted, guidance 5: accuracy", value: 0.12, min: 0.8, pass: false }],
 * });
 * assert.ok(lines.includes("  FAIL  digits prompted, guidance 5: accuracy 0.12 (>= 0.8)"));
 * ```
 */
export function digitsStudyLines(r: DigitsStudyResult): string[] {
  const lines = [
    `classifier ${r.classifier}`,
    ...Object.entries(r.inputs).map(([file, sha]) => `  sha256 ${sha.slice(0, 16)}  ${file}`),
    "ceiling: the classifier on the real held-out digits, upsampled to each model's size:",
    ...r.ceilings.map(ceilingLine),
    "floor: the classifier on N(0, 1) noise images at each model's size (a model that learned nothing):",
    ...r.floors.map(floorLine),
  ];
  const p = r.prompted;
  if (p) {
    lines.push(
      `${p.model}: "${p.prompt}" for digits ${p.digits.join(",")} x seeds ${p.seeds.join(",")}, ` +
        `${p.sampler} ${p.steps} steps, eta ${p.eta}, ${p.size}x${p.size}`,
    );
    for (const run of p.runs) {
      lines.push(
        `  guidance ${run.guidanceScale}: accuracy ${pct(run.accuracy)} ` +
          `(${run.perLabel.reduce((s, x) => s + x.correct, 0)}/${run.images}), mean top ` +
          `probability ${prob(run.meanTop)}, ${(run.ms / 1000).toFixed(1)} s`,
        `    per digit (correct/images): ${perLabelText(run.perLabel)}`,
      );
    }
  }
  const u = r.unconditional;
  if (u) {
    lines.push(
      `${u.model}: ${u.runs[0]?.images ?? 0} samples from seed ${u.seed}, ${u.size}x${u.size}`,
    );
    for (const run of u.runs) {
      const shares = run.histogram.map((n) => n / Math.max(1, run.images));
      const low = shares.indexOf(Math.min(...shares));
      lines.push(
        `  ${run.sampler} ${run.steps} steps: smallest class ${low} ${
          pct(shares[low])
        }, mean top ` +
          `probability ${prob(run.meanTop)}, ${(run.ms / 1000).toFixed(1)} s`,
        `    classes: ${shares.map((s, k) => `${k}: ${pct(s)}`).join("  ")}`,
      );
    }
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  lines.push("targets:", ...r.targets.map((t) => `  ${targetLine(t)}`));
  lines.push(
    `${r.pass ? "PASS" : "FAIL"}: ${
      r.targets.filter((t) => t.pass).length
    } of ${r.targets.length} ` +
      `targets met (${(r.ms / 1000).toFixed(1)} s)`,
  );
  return lines;
}

function figure(image: CaseImage | undefined, caption: string, width: number): string {
  if (!image?.file) return "";
  return `<figure><img src="${escapeHtml(image.file)}" style="width:${width}px" alt="${
    escapeHtml(caption)
  }"><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

function labelTable(head: string, rows: readonly LabelAccuracy[]): string {
  return `<table><tr><th>${escapeHtml(head)}</th>${
    rows.map((r) => `<th>${r.label}</th>`).join("")
  }</tr><tr><td>correct</td>${
    rows.map((r) => `<td>${r.correct}/${r.total}</td>`).join("")
  }</tr></table>`;
}

/**
 * The HTML page of a study: the ceiling, each run's figures and its grid (linked by
 * `grid.file`, relative to the page; grids without a file are not shown), the targets.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderDigitsStudyHtml } from "./study_digits.ts";
 * const html = renderDigitsStudyHtml({
 *   format: "diffparity-study-digits/1", versions: {}, classifier: "c.json", inputs: {}, warnings: [], ms: 1,
 *   ceilings: [], floors: [], pass: true, targets: [{ label: "x <y>", value: 1, min: 0.8, pass: true }],
 * });
 * assert.match(html, /<title>diffparity digits study: PASS<\/title>/);
 * assert.match(html, /x &lt;y&gt;/);
 * ```
 */
export function renderDigitsStudyHtml(r: DigitsStudyResult): string {
  const ceilings = r.ceilings.map((c) =>
    `<p>${escapeHtml(ceilingLine(c).trim())}</p>${labelTable("held-out digit", c.perLabel)}`
  ).join("");
  const floors = r.floors.map((f) => `<p>${escapeHtml(floorLine(f).trim())}</p>`).join("");
  let prompted = "";
  const p = r.prompted;
  if (p) {
    prompted =
      `<h2>${escapeHtml(p.model)}</h2><p>"${escapeHtml(p.prompt)}" for digits ${
        p.digits.join(", ")
      }; seeds ${
        p.seeds.join(", ")
      } (grid rows: digits, columns: seeds); ${p.sampler} ${p.steps} ` +
      `steps, eta ${p.eta}; ${p.size}x${p.size} images.</p>` +
      p.runs.map((run) =>
        `<h3>guidance ${run.guidanceScale}: accuracy ${pct(run.accuracy)}, mean top probability ${
          prob(run.meanTop)
        }</h3>${labelTable("prompted digit", run.perLabel)}` +
        figure(run.grid, `guidance ${run.guidanceScale}`, p.seeds.length * 48)
      ).join("");
  }
  let unconditional = "";
  const u = r.unconditional;
  if (u) {
    unconditional =
      `<h2>${escapeHtml(u.model)}</h2><p>${
        u.runs[0]?.images ?? 0
      } samples from seed ${u.seed}, ${u.size}x${u.size}, in sample order.</p>` +
      u.runs.map((run) => {
        const share = run.histogram.map((n) => n / Math.max(1, run.images));
        return `<h3>${escapeHtml(run.sampler)} ${run.steps} steps: mean top probability ${
          prob(run.meanTop)
        }</h3><table><tr><th>class</th>${
          share.map((_, k) => `<th>${k}</th>`).join("")
        }</tr><tr><td>share</td>${share.map((s) => `<td>${pct(s)}</td>`).join("")}</tr></table>` +
          figure(run.grid, `${run.sampler} ${run.steps} steps`, Math.ceil(run.images / 10) * 40);
      }).join("");
  }
  const targets = r.targets.map((t) =>
    `<tr class="${t.pass ? "pass" : "fail"}"><td>${t.pass ? "PASS" : "FAIL"}</td><td>${
      escapeHtml(targetLine(t).slice(6))
    }</td></tr>`
  ).join("");
  const warnings = r.warnings.length
    ? `<ul class="warnings">${r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul>`
    : "";
  const verdict = r.pass ? "PASS" : "FAIL";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>diffparity digits study: ${verdict}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
tr.fail td{background:#fff0f0}tr.pass td:first-child{color:#176b28}figure{margin:.5em 0}
figure img{image-rendering:pixelated;border:1px solid #ccc}ul.warnings{background:#fff8e1;font-size:13px}
</style></head><body>
<h1>Digits study: ${verdict}</h1>
<p>What "learned" means for the models trained on scikit-learn's digits: the digit classifier
<code>${escapeHtml(r.classifier)}</code> scores the generated images. ${
    (r.ms / 1000).toFixed(1)
  } s.</p>
<h2>Targets</h2><table>${targets}</table>${warnings}
<h2>Ceiling: real held-out digits</h2>${ceilings}
<h2>Floor: noise</h2><p>The classifier is linear: far from the digits it is confident too, so a
mean top probability is worth what it exceeds this floor by.</p>${floors}
${prompted}
${unconditional}
</body></html>
`;
}

/**
 * Writes the study into `outDir` as a whole: `images/<run>/*.png` (the grids), `study.json`
 * (the result, grids as `{ label, file }`) and `index.html` last; the previous study stays
 * readable until then and is put back on failure. Returns the result as study.json holds it.
 *
 * @throws {ReportError} naming `outDir` when it cannot write.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeDigitsStudy } from "./study_digits.ts";
 * const dir = await Deno.makeTempDir();
 * const written = await writeDigitsStudy({
 *   format: "diffparity-study-digits/1", versions: {}, classifier: "c.json", inputs: {}, warnings: [], ms: 1,
 *   ceilings: [], floors: [], pass: true, targets: [],
 *   unconditional: { model: "m", size: 16, seed: 0, runs: [{
 *     sampler: "DDIMScheduler", steps: 50, images: 1, histogram: [1], meanTop: 1, predicted: [0], ms: 1,
 *     grid: { label: "DDIM", png: new Uint8Array([1, 2]) },
 *   }] },
 * }, `${dir}/study`);
 * const file = written.unconditional!.runs[0].grid!.file!;
 * assert.deepEqual(await Deno.readFile(`${dir}/study/${file}`), new Uint8Array([1, 2]));
 * assert.ok((await Deno.readTextFile(`${dir}/study/index.html`)).includes(`src="${file}"`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeDigitsStudy(
  result: DigitsStudyResult,
  outDir: string,
): Promise<DigitsStudyResult> {
  const run = runName();
  const pngs = new Map<string, Uint8Array>();
  const place = (image: CaseImage | undefined, name: string): CaseImage | undefined => {
    if (!image?.png) return image;
    const file = `images/${run}/${name.replace(/[^A-Za-z0-9_-]+/g, "-")}.png`;
    pngs.set(file, image.png);
    return { label: image.label, file };
  };
  const written: DigitsStudyResult = {
    ...result,
    ...(result.prompted && {
      prompted: {
        ...result.prompted,
        runs: result.prompted.runs.map((r) => ({
          ...r,
          grid: place(r.grid, `prompted-guidance-${r.guidanceScale}`),
        })),
      },
    }),
    ...(result.unconditional && {
      unconditional: {
        ...result.unconditional,
        runs: result.unconditional.runs.map((r) => ({
          ...r,
          grid: place(r.grid, `unconditional-${r.sampler}-${r.steps}`),
        })),
      },
    }),
  };
  const text = new TextEncoder();
  try {
    await writeReportFiles(outDir, run, pngs, [
      ["study.json", text.encode(resultsToJson(written))],
      ["index.html", text.encode(renderDigitsStudyHtml(written))],
    ]);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ReportError(outDir, `cannot write the study (${reason})`, { cause: err });
  }
  return written;
}
