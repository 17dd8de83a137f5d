/**
 * The report writer: renders a `VerifyResult` (results.json, junit.xml, index.html) and writes
 * it with each decoded image as its own PNG file, atomically as a whole; and the reader that
 * `report` uses to re-render index.html from a results.json.
 *
 * Atomicity: everything is rendered in memory first (a failure there writes nothing); then every
 * file is written into a fresh temporary folder beside `outDir` (`.<name>.tmp-<pid>-<random>`)
 * and flushed. The images of a run go into a folder of their own, `images/<run>/`, moved into
 * `outDir` whole: the previous page still shows its own images, untouched. Then results.json,
 * junit.xml and last index.html each replace their predecessor with one atomic rename, a hard
 * link of each predecessor kept aside; if any step fails, the files already replaced are put
 * back and the new image folder removed, so `outDir` holds the previous report, whole. Once
 * index.html is in place, the image folders (and loose PNGs of older reports) that the new
 * report does not reference are removed. Files in `outDir` that are not part of a report (e.g.
 * a README) are never touched.
 *
 * @module
 */
import { resultsFromJson, resultsToJson } from "../results/json.ts";
import { dirname, join, relative } from "node:path";
import { RESULTS_FORMAT } from "../results/schema.ts";
import type { CaseImage, CaseResult, VerifyResult } from "../results/schema.ts";
import { writeTextFileAtomic } from "../tensor/atomic_write.ts";
import { renderHtmlReport } from "./html.ts";
import { renderJunit } from "./junit.ts";
import { runName, writeReportFiles } from "./write_files.ts";

/**
 * Options of {@link writeReport}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { WriteReportOptions } from "./write.ts";
 * const noImages: WriteReportOptions = { images: false };
 * assert.equal(noImages.images, false);
 * ```
 */
export interface WriteReportOptions {
  /** Write the cases' decoded images as PNG files and show them (default true). */
  images?: boolean;
}

/**
 * A report could not be written or read; the message names the file and what is wrong.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReportError } from "./write.ts";
 * const e = new ReportError("reports/results.json", "format: expected \"diffparity-results/2\"");
 * assert.equal(e.message, 'reports/results.json: format: expected "diffparity-results/2"');
 * assert.equal(e.path, "reports/results.json");
 * ```
 */
export class ReportError extends Error {
  /** The file or folder concerned. */
  readonly path: string;
  /**
   * Makes the error; the message is `<path>: <problem>`.
   *
   * @param path The file or folder concerned.
   * @param problem What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(`${path}: ${problem}`, options);
    this.name = "ReportError";
    this.path = path;
  }
}

/**
 * The file, relative to the report folder, that the writer gives a case's image in run `run`:
 * the free run's image ("ours") is `images/<run>/<case>.png`, any other
 * `images/<run>/<case>.<label>.png` (names reduced to letters, digits, dashes and underscores).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { imageFile } from "./write.ts";
 * assert.equal(imageFile("r1", "ddim-eta0", "ours"), "images/r1/ddim-eta0.png");
 * assert.equal(imageFile("r1", "ddim-eta0", "vs torch"), "images/r1/ddim-eta0.vs-torch.png");
 * ```
 */
export function imageFile(run: string, caseName: string, label: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, "-");
  return label === "ours"
    ? `images/${safe(run)}/${safe(caseName)}.png`
    : `images/${safe(run)}/${safe(caseName)}.${safe(label)}.png`;
}

/** The result as results.json holds it, and the PNG bytes to write per file. */
function planImages(
  result: VerifyResult,
  keep: boolean,
  run: string,
): { written: VerifyResult; pngs: Map<string, Uint8Array> } {
  const pngs = new Map<string, Uint8Array>();
  const cases = result.cases.map((r): CaseResult => {
    const { images, ...rest } = r;
    if (!keep || !images) return rest;
    const out: CaseImage[] = [];
    for (const image of images) {
      if (image.png) {
        let file = imageFile(run, r.name, image.label);
        for (let n = 2; pngs.has(file); n++) file = file.replace(/(\.\d+)?\.png$/, `.${n}.png`);
        pngs.set(file, image.png);
        out.push({ label: image.label, file });
      } else if (image.file) out.push({ label: image.label, file: image.file });
    }
    return out.length ? { ...rest, images: out } : rest;
  });
  return { written: { ...result, cases }, pngs };
}

/**
 * Writes a verify run's report into `outDir`: `results.json` (the result, images as
 * `{ label, file }`), `junit.xml`, `index.html` and each image's PNG bytes as
 * `images/<case>.png`, atomically as a whole (see the module doc). Returns the result as
 * results.json holds it. Throws a {@link ReportError} naming `outDir` when it cannot write, and
 * whatever rendering throws, in both cases leaving the previous report as it was.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeReport } from "./write.ts";
 * const dir = await Deno.makeTempDir();
 * const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
 * const written = await writeReport({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 1, failed: 0,
 *   cases: [{
 *     name: "ddim-eta0", description: "", pipeline: "text2img", sampler: "DDIMScheduler",
 *     model: "m", provider: "cpu", status: "pass", comparisons: [], timing: null,
 *     latentsSha256: null, images: [{ label: "ours", png }],
 *   }],
 * }, `${dir}/reports`);
 * const file = written.cases[0].images![0].file!; // images/<run>/ddim-eta0.png
 * assert.match(file, /^images\/[^/]+\/ddim-eta0\.png$/);
 * assert.deepEqual(await Deno.readFile(`${dir}/reports/${file}`), png);
 * assert.ok((await Deno.readTextFile(`${dir}/reports/index.html`)).includes(`src="${file}"`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeReport(
  result: VerifyResult,
  outDir: string,
  options: WriteReportOptions = {},
): Promise<VerifyResult> {
  // 1. Render everything; a failure here writes nothing.
  const run = runName();
  const { written, pngs } = planImages(result, options.images !== false, run);
  const text = new TextEncoder();
  const pages: [string, Uint8Array][] = [
    ["results.json", text.encode(resultsToJson(written))],
    ["junit.xml", text.encode(renderJunit(written))],
    ["index.html", text.encode(renderHtmlReport(written))],
  ];
  // 2. Write it all (write_files.ts), keeping the images of earlier runs the pages still show.
  const kept = written.cases.flatMap((r) =>
    (r.images ?? []).flatMap((i) => i.file ? [i.file] : [])
  );
  try {
    await writeReportFiles(outDir, run, pngs, pages, kept);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ReportError(outDir, `cannot write the report (${reason})`, { cause: err });
  }
  return written;
}

/**
 * Reads a results.json written by {@link writeReport}. Throws a {@link ReportError} naming the
 * file when it cannot be read or parsed, or when its format is not
 * {@link RESULTS_FORMAT} (the older "diffparity-results/1", which embedded images, included).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readResults } from "./write.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/results.json`, JSON.stringify({ format: "diffparity-results/1" }));
 * await assert.rejects(readResults(`${dir}/results.json`), /older format "diffparity-results\/1"/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readResults(path: string): Promise<VerifyResult> {
  let result: VerifyResult;
  try {
    result = resultsFromJson(await Deno.readTextFile(path)) as VerifyResult;
  } catch (err) {
    throw new ReportError(
      path,
      `cannot read results (${(err as Error).message}); run \`deno task verify\` first`,
      { cause: err },
    );
  }
  const format = (result as { format?: unknown } | null)?.format;
  if (format === "diffparity-results/1") {
    throw new ReportError(
      path,
      `written in the older format "diffparity-results/1" (images embedded as data URLs), ` +
        `which this version does not read; run \`deno task verify\` again to write a ` +
        `"${RESULTS_FORMAT}" report`,
    );
  }
  if (format !== RESULTS_FORMAT) {
    throw new ReportError(
      path,
      `format: expected "${RESULTS_FORMAT}", got ${JSON.stringify(format)}`,
    );
  }
  return result;
}

/**
 * Re-renders the HTML page of a results.json into `htmlPath` (written atomically), linking each
 * image file relative to the page's folder. Returns the result read.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rerenderHtml, writeReport } from "./write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeReport({
 *   format: "diffparity-results/2", versions: {}, requestedProvider: "cpu", passed: 1, failed: 0,
 *   cases: [{
 *     name: "a", description: "", pipeline: "text2img", sampler: "DDIMScheduler", model: "m",
 *     provider: "cpu", status: "pass", comparisons: [], timing: null, latentsSha256: null,
 *     images: [{ label: "ours", png: new Uint8Array([1]) }],
 *   }],
 * }, `${dir}/reports`);
 * const result = await rerenderHtml(`${dir}/reports/results.json`, `${dir}/page/index.html`);
 * assert.equal(result.passed, 1);
 * const file = result.cases[0].images![0].file!;
 * assert.ok((await Deno.readTextFile(`${dir}/page/index.html`)).includes(`src="../reports/${file}"`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function rerenderHtml(resultsPath: string, htmlPath: string): Promise<VerifyResult> {
  const result = await readResults(resultsPath);
  const from = dirname(htmlPath);
  const to = dirname(resultsPath);
  const linked: VerifyResult = {
    ...result,
    cases: result.cases.map((r) =>
      r.images
        ? {
          ...r,
          images: r.images.map((i) =>
            i.file ? { ...i, file: relative(from, join(to, i.file)).replaceAll("\\", "/") } : i
          ),
        }
        : r
    ),
  };
  await writeTextFileAtomic(htmlPath, renderHtmlReport(linked));
  return result;
}
